"""``central-hub encryption-key rotate | list | retire``: the hub's encryption keys (X25519),
to which nodes seal personal data, over their life (services/encryption_keys.py)."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path

import click

from central_hub.cli_app import app_of, database_of
from central_hub.services import encryption_keys
from central_hub.services import identity as identity_service
from common.errors import DossierError


def _fail(exc: DossierError) -> None:
    raise click.ClickException(f"{exc.en}\n{exc.vi}")


def _noted(ctx: click.Context) -> tuple[Path, str]:
    """The instance folder and the current key id, every key of the folder in the table."""
    app = app_of(ctx)
    instance = Path(app.instance_path)
    with database_of(app).write() as session:
        identity_service.load_identity(session, instance)  # an initialised hub
        _, current = identity_service.load_encryption_keys(instance)
        encryption_keys.note_ring(
            session,
            identity_service.encryption_key_files(instance),
            current,
            now=datetime.now(UTC),
        )
    return instance, current


@click.group("encryption-key")
def encryption_key_group() -> None:
    """The hub's encryption key pairs (X25519), to which nodes seal personal data."""


@encryption_key_group.command("rotate")
@click.pass_context
def encryption_key_rotate(ctx: click.Context) -> None:
    """Make a new encryption key pair and publish it: every node seals to it from its next
    sync (the status answer carries it, signed by the hub's key). Old private keys stay in
    the instance folder, so boxes sealed before the rotation still open, until
    ``encryption-key retire`` destroys them. Restart the hub (``central-hub run``) for it
    to take effect.

    \b
    Example:
        central-hub --instance ./hub encryption-key rotate
    """
    instance, old = _noted(ctx)
    kid = identity_service.new_encryption_key(instance)
    with database_of(app_of(ctx)).write() as session:
        encryption_keys.rotated(session, old, kid, now=datetime.now(UTC))
    click.echo(
        f"New encryption key {kid}; the previous ones are kept until retired "
        "(central-hub encryption-key list). Restart the hub."
    )


def _when(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if at else "-"


@encryption_key_group.command("list")
@click.pass_context
def encryption_key_list(ctx: click.Context) -> None:
    """Every encryption key the hub has had, newest first: when it was current, whether
    its private half is destroyed, the nodes that may still seal personal data to it (from
    each node's last request: a node says which key it seals to), the records those nodes
    said were waiting to be sent (each may carry a box sealed to it), and the records whose
    values came sealed to it. An old key no node may seal to can be retired.

    \b
    Example:
        central-hub --instance ./hub encryption-key list
    """
    _, current = _noted(ctx)
    with database_of(app_of(ctx)).read() as session:
        uses = encryption_keys.usage(session, current)
    for use in uses:
        if use.retired_at:
            state = f"retired {_when(use.retired_at)} ({use.retire_reason})"
        elif use.current:
            state = "current"
        elif use.nodes:
            state = "old, in use"
        else:
            state = "old, can be retired"
        until = "now" if use.current_until is None else _when(use.current_until)
        click.echo(
            f"{use.kid}  current {_when(use.made_at)} .. {until}  {state}; "
            f"nodes that may seal to it: {len(use.nodes)}, records waiting there: "
            f"{use.waiting}; records received sealed to it: {use.kept}"
        )
        for name in use.nodes if not use.current else []:
            click.echo(f"    {name}")


@encryption_key_group.command("retire")
@click.argument("kid")
@click.option("--force", is_flag=True, help="Retire it even though nodes may seal to it.")
@click.option("--reason", default="", help="Why (required with --force); kept and logged.")
@click.pass_context
def encryption_key_retire(ctx: click.Context, kid: str, force: bool, reason: str) -> None:
    """Destroy the private half of an old encryption key: refused while a node may still
    seal personal data to it (the message names the nodes; each learns the current key at
    its next sync), unless --force with --reason. A box that arrives sealed to a retired
    key is refused with ``encryption_key_retired`` and the node seals it again to the
    current key. Restart the hub afterwards so no process keeps the key in memory.

    \b
    Example:
        central-hub --instance ./hub encryption-key retire 3f2a…e1
        central-hub --instance ./hub encryption-key retire 3f2a…e1 --force \\
            --reason "the laptop of Xã A was stolen"
    """
    instance, current = _noted(ctx)
    kid = kid.strip().lower()
    try:
        with database_of(app_of(ctx)).write() as session:
            use = encryption_keys.retire(
                session,
                kid,
                current=current,
                actor=f"cli:{getpass.getuser()}",
                reason=reason,
                force=force,
                now=datetime.now(UTC),
            )
    except DossierError as exc:
        _fail(exc)
        return
    destroyed = identity_service.destroy_encryption_key(instance, kid)
    forced = (
        f"; {len(use.nodes)} node(s) could still seal to it (forced)" if force and use.nodes else ""
    )
    click.echo(
        f"Encryption key {kid} retired"
        + (", its private key file overwritten and deleted" if destroyed else "")
        + f"{forced}. Restart the hub."
    )


def register(group: click.Group) -> None:
    group.add_command(encryption_key_group)
