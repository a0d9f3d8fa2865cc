"""``central-hub audit-export``: write the audit bundle an inspector verifies offline.

Register it on the ``central-hub`` click group with :func:`register`. The command reads the
instance's database in one snapshot transaction and writes the bundle to a temporary file
beside ``--out``, renamed into place only when complete.
"""

from __future__ import annotations

import getpass
import os
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import click
from flask import Flask

from central_hub.cli_app import app_of
from central_hub.services import disclosures, privacy
from central_hub.services import identity as identity_service
from central_hub.services.export import export_bundle, plan_export
from common.calendar import VN_TZ
from common.errors import DossierError
from common_io.database import Database


def parse_when(text: str) -> datetime:
    """A date (midnight in Vietnam, UTC+7) or an ISO 8601 date-time (Vietnam time if it has
    no offset)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=VN_TZ)
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not a date (2026-11-01) or date-time") from exc
    return when if when.tzinfo else when.replace(tzinfo=VN_TZ)


class _When(click.ParamType):
    name = "DATE"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        return parse_when(str(value))


@click.command("audit-export")
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Bundle file to write (JSON Lines), e.g. audit-2026-11.jsonl.",
)
@click.option(
    "--commune",
    "communes",
    multiple=True,
    help="Agency code (000.00.12.H26) or node id; repeat for several. Default: every commune.",
)
@click.option(
    "--since", type=_When(), help="Records stored from this moment (date: midnight, UTC+7)."
)
@click.option("--until", type=_When(), help="Records stored before this moment (exclusive).")
@click.option(
    "--checkpoint-size",
    "sizes",
    multiple=True,
    type=click.IntRange(min=1),
    help="Also include the checkpoint of this size (the one the auditor holds); repeatable.",
)
@click.option(
    "--disclose",
    "disclose",
    metavar="CODE",
    help="Also add this dossier's personal data (logged with --reason; the bundle then "
    "holds personal data).",
)
@click.option("--reason", default="", help="Why the dossier's personal data is disclosed.")
@click.option(
    "--by", "actor", default=None, help="Who asks for the disclosure (default: the OS user)."
)
@click.pass_context
def audit_export(
    ctx: click.Context,
    out_path: Path,
    communes: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
    sizes: tuple[int, ...],
    disclose: str | None,
    reason: str,
    actor: str | None,
) -> None:
    """Write the audit bundle for a period and some communes, for offline verification
    with ``dossier-audit verify``.

    The bundle holds every record those communes' nodes stored in the period with the
    records around it, their key history, the hub's records about them, the checkpoints
    and every proof linking them. Records carry commitments to personal data, not the data
    (records written before format version 2 still hold it in clear). With ``--disclose``
    and a ``--reason``, one dossier's personal data is added, and the disclosure is logged
    (who, when, why, which dossier); the auditor's verifier checks it against the records.

    \b
    Example:
        central-hub --instance ./hub audit-export --out audit-2026-11.jsonl \\
            --commune 000.00.12.H26 --since 2026-11-01 --until 2026-12-01
        dossier-audit verify audit-2026-11.jsonl --hub-key <hub key hex>
        central-hub --instance ./hub audit-export --out case-17.jsonl \\
            --commune 000.00.12.H26 --disclose 000.00.12.H26-261123-0001 \\
            --reason "Inspection decision 17/QĐ-TTr of 2026-12-01"
    """
    if since and until and since >= until:
        raise click.BadParameter("--since must be before --until")
    if disclose and not reason.strip():
        raise click.BadParameter("a disclosure needs --reason", param_hint="--reason")
    app: Flask = app_of(ctx)
    db: Database = app.extensions["db"]
    tmp = out_path.with_name(out_path.name + ".part")
    try:
        with db.read() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            hub = identity_service.load_identity(session, Path(app.instance_path))
            plan = plan_export(
                session,
                hub=hub,
                communes=list(communes) or None,
                since=since,
                until=until,
                checkpoint_sizes=sizes,
            )
            shown: list[list[Any]] = []
            if disclose:
                with db.write() as logged:  # the disclosure is logged before it is written
                    shown = disclosures.export(
                        logged,
                        disclose,
                        hub=hub,
                        actor=actor or getpass.getuser(),
                        reason=reason.strip(),
                        now=app.extensions["clock"](),
                    )
            with (
                tmp.open("wb") as out,
                click.progressbar(
                    length=plan.record_count, label="Exporting records", file=sys.stderr
                ) as bar,
            ):
                counts = export_bundle(
                    session,
                    out,
                    hub=hub,
                    communes=list(communes) or None,
                    since=since,
                    until=until,
                    progress=bar.update,
                    plan=plan,
                    clock=app.extensions["clock"],
                    disclosures=shown,
                )
        os.replace(tmp, out_path)
        with db.write() as session:  # the bundle carries personal data: logged once
            privacy.record(
                session,
                officer=f"cli:{getpass.getuser()}"[:64],
                action=privacy.EXPORT,
                dossier_code=None,
                purpose=f"audit bundle {out_path.name}: {counts['record']} records",
                at=app.extensions["clock"](),
            )
    except DossierError as exc:
        tmp.unlink(missing_ok=True)
        raise click.ClickException(f"{exc.en}\n{exc.vi}") from exc
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise click.ClickException(f"cannot write {out_path}: {exc.strerror}") from exc
    click.echo(
        f"Wrote {out_path}: {counts['record']} records, {counts['checkpoint']} checkpoints, "
        f"{counts['key']} keys, {counts['node']} chains"
        + (f", {counts['disclosure']} disclosed values of {disclose}" if disclose else "")
        + ".\n"
        f"Hub key (give it to the auditor by another channel): {hub.public_hex}\n"
        f"Latest checkpoint in the bundle: size {plan.latest}."
    )


def register(group: click.Group) -> None:
    """Add ``audit-export`` to the ``central-hub`` group."""
    group.add_command(audit_export)
