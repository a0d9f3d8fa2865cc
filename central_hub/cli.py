"""``central-hub``: set up and run the hub, enrol and revoke nodes, publish, and the demo.

Every command works on one instance folder (``--instance`` or ``CENTRAL_HUB_INSTANCE``;
default ``./hub-instance``). The database is SQLite in that folder unless
``CENTRAL_HUB_DATABASE_URL`` names another (e.g. ``postgresql+psycopg://hub@db/hub``).
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import click

from central_hub.cli_app import app_of, database_of
from central_hub.models import WEB_SESSION
from central_hub.services import identity as identity_service
from central_hub.services import nodes, publishing, users
from common.errors import DossierError
from common_io import accounts_cli


def _fail(exc: DossierError) -> None:
    raise click.ClickException(f"{exc.en}\n{exc.vi}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--instance",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="CENTRAL_HUB_INSTANCE",
    default="hub-instance",
    show_default=True,
    help="Instance folder (database, hub key, settings).",
)
@click.pass_context
def main(ctx: click.Context, instance: Path) -> None:
    """Run the hub that commune nodes sync their signed records to.

    \b
    Example:
        central-hub demo                      # a hub and two communes, ready to try
        central-hub --instance ./hub init --name "Tỉnh Quảng Ngãi" --level province
        central-hub --instance ./hub run --port 5000
    """
    ctx.ensure_object(dict)
    ctx.obj["instance"] = instance


@main.command()
@click.option(
    "--name",
    required=True,
    help="Hub name, e.g. 'Trung tâm Phục vụ hành chính công tỉnh Quảng Ngãi'.",
)
@click.option(
    "--level",
    type=click.Choice(identity_service.LEVELS),
    default="province",
    show_default=True,
    help="Administrative level of this hub.",
)
@click.option("--admin-user", default="admin", show_default=True)
@click.option(
    "--admin-password",
    envvar="CENTRAL_HUB_ADMIN_PASSWORD",
    help="Password of the first administrator (prompted if not given).",
)
@click.pass_context
def init(
    ctx: click.Context, name: str, level: str, admin_user: str, admin_password: str | None
) -> None:
    """Create the hub: database, hub key pair, first administrator, sample catalogue.

    \b
    Example:
        central-hub --instance ./hub init --name "Tỉnh Quảng Ngãi" --level province
    """
    app = app_of(ctx)
    instance = Path(app.instance_path)
    if (instance / identity_service.KEY_FILE).exists():
        raise click.ClickException(f"{instance} is already initialised (hub key exists).")
    if admin_password is None:
        admin_password = click.prompt(
            "Password for the administrator", hide_input=True, confirmation_prompt=True
        )
    db = database_of(app)
    db.upgrade()
    try:
        with db.write() as session:
            hub = identity_service.create_identity(
                session, instance, name=unicodedata.normalize("NFC", name), level=level
            )
            users.create_user(
                session,
                username=admin_user,
                full_name="Quản trị hệ thống",
                roles=["administrator"],
                password=admin_password,
                clock=app.extensions["clock"],
            )
            publishing.publish_sample(session, hub=hub, clock=app.extensions["clock"])
    except DossierError as exc:
        _fail(exc)
    click.echo(f"Hub {hub.hub_id} ({level}) created in {instance}; administrator: {admin_user}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option(
    "--connection-limit",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Open connections served at once; nodes keep theirs open between requests, so "
    "this bounds how many communes one hub process serves during a reconnect storm.",
)
@click.option(
    "--trusted-proxy",
    default=None,
    help="Address of the reverse proxy or load balancer in front of this process: its "
    "X-Forwarded-For and X-Forwarded-Proto are then believed (log-in limits count the real "
    "client address), and nobody else's.",
)
@click.option(
    "--header-timeout",
    default=20.0,
    show_default=True,
    type=click.FloatRange(1, 600),
    help="Seconds a client has to send a request's whole header; a slower one is cut off "
    "(a connection trickling its header a line at a time holds a slot for ever otherwise).",
)
@click.option(
    "--per-address-limit",
    default=20,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Open connections from one client address (the trusted proxy is not limited).",
)
@click.pass_context
def run(
    ctx: click.Context,
    host: str,
    port: int,
    threads: int,
    connection_limit: int,
    trusted_proxy: str | None,
    header_timeout: float,
    per_address_limit: int,
) -> None:
    """Serve the hub with the waitress production server (upgrades the database first).

    \b
    Example:
        central-hub --instance ./hub run --port 5000 --connection-limit 800
        central-hub --instance ./hub run --port 5000 --trusted-proxy 10.0.0.2
    """
    from common_io import serving

    app = app_of(ctx)
    database_of(app).upgrade()
    from central_hub import portal_sender

    portal_sender.start(app)  # the outbox to the national portal (holds if none configured)
    server = serving.create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        ident="central-hub",
        connection_limit=connection_limit,
        max_request_body_size=int(app.config["MAX_CONTENT_LENGTH"]),
        header_timeout=header_timeout,
        per_address_limit=per_address_limit,
        trusted_proxy=trusted_proxy,
    )
    click.echo(f"Hub serving on http://{host}:{port}/", err=True)
    server.run()


@main.command("enrol-code")
@click.option("--commune", required=True, help="Commune name, e.g. 'Xã Đăk Pxi'.")
@click.option("--agency-code", required=True, help="The commune's agency code, 000.00.xx.Hnn.")
@click.option("--hours", default=72, show_default=True, type=int, help="Hours until it expires.")
@click.pass_context
def enrol_code(ctx: click.Context, commune: str, agency_code: str, hours: int) -> None:
    """Issue a one-time, expiring enrolment code for a commune node (shown once).

    \b
    Example:
        central-hub enrol-code --commune "Xã Đăk Pxi" --agency-code 000.00.12.H26
    """
    app = app_of(ctx)
    try:
        with database_of(app).write() as session:
            code = nodes.issue_code(
                session,
                commune_name=unicodedata.normalize("NFC", commune),
                agency_code=agency_code,
                clock=app.extensions["clock"],
                hours=hours,
            )
    except DossierError as exc:
        _fail(exc)
    click.echo(code)


@main.command("revoke-key")
@click.option("--node", "node_id", required=True, help="Node id (32 hex digits).")
@click.option(
    "--key",
    "key_id",
    help="Revoke only this key (32 hex digits); default: every key the node ever had.",
)
@click.option(
    "--last-valid-seq",
    required=True,
    type=int,
    help="The node's last record that stays valid; nothing signed after it is accepted.",
)
@click.option("--reason", required=True, help="Why, for the record.")
@click.pass_context
def revoke_key(
    ctx: click.Context, node_id: str, key_id: str | None, last_valid_seq: int, reason: str
) -> None:
    """Revoke a node's keys (a stolen laptop holds them all): records signed after
    --last-valid-seq are refused, and the keys sign no request and no cosignature any more.
    Every key of the node is revoked unless --key names one.

    \b
    Example:
        central-hub revoke-key --node 3f…a1 --last-valid-seq 1204 --reason "laptop stolen"
        central-hub revoke-key --node 3f…a1 --key 9c…07 --last-valid-seq 880 --reason "leaked"
    """
    app = app_of(ctx)
    try:
        with database_of(app).write() as session:
            hub = identity_service.load_identity(session, Path(app.instance_path))
            published = publishing.revoke_node(
                session,
                hub=hub,
                node_id=node_id,
                key_id=key_id,
                last_valid_seq=last_valid_seq,
                reason=reason,
                clock=app.extensions["clock"],
            )
    except DossierError as exc:
        _fail(exc)
    for rec in published:
        click.echo(
            f"Key {rec.data['key']} of node {node_id} revoked after seq "
            f"{rec.data['last_valid_seq']}."
        )


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def backup(ctx: click.Context, file: Path) -> None:
    """Write a backup of the hub to FILE while it serves: its files (hub key, log_head,
    hub_records.log, config) and its database — on SQLite a consistent copy through SQLite's
    backup API, on PostgreSQL `pg_dump --format=custom` (the PostgreSQL client tools must be
    installed). The file holds personal data and the hub's private key: keep it on the
    province's encrypted backup storage only (docs/operations.md).

    \b
    Example:
        central-hub --instance ./hub backup /srv/backup/hub-2026-12-05.tar.gz
    """
    from datetime import UTC, datetime

    from central_hub.services import backup as backup_service
    from central_hub.services import translog

    app = app_of(ctx)
    database = database_of(app)
    with database.read() as session:
        hub = identity_service.load_identity(session, Path(app.instance_path))
        facts = {
            "hub_id": hub.hub_id,
            "hub_name": hub.name,
            "log_size": translog.current_size(session),
        }
    try:
        manifest = backup_service.make(
            Path(app.instance_path),
            file,
            url=database.engine.url.render_as_string(hide_password=False),
            facts=facts,
            now=datetime.now(UTC),
        )
    except DossierError as exc:
        _fail(exc)
    click.echo(
        f"Backup of hub {manifest['hub_id']} ({manifest['database']}, log size "
        f"{manifest['log_size']}) written to {file}: {', '.join(manifest['files'])}."
    )


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="The instance folder holds a hub: move its files aside (replaced-<time>/) and restore.",
)
@click.pass_context
def restore(ctx: click.Context, file: Path, force: bool) -> None:
    """Put a backup made by `central-hub backup` back (stop the hub first). On PostgreSQL
    (CENTRAL_HUB_DATABASE_URL) the database is restored with `pg_restore --clean`. When the
    hub starts again it compares its log with log_head and with what the communes
    witnessed, and rebuilds what the backup lacks from them (a log recovery).

    \b
    Example:
        central-hub --instance ./hub restore /srv/backup/hub-2026-12-05.tar.gz
    """
    import os
    from datetime import UTC, datetime

    from central_hub.services import backup as backup_service

    instance = ctx.find_root().obj["instance"].resolve()
    try:
        manifest = backup_service.restore(
            file,
            instance,
            url=os.environ.get("CENTRAL_HUB_DATABASE_URL"),
            force=force,
            now=datetime.now(UTC),
        )
    except DossierError as exc:
        _fail(exc)
    if manifest.get("moved_aside"):
        click.echo(f"The files that were there are in {manifest['moved_aside']}.")
    click.echo(
        f"Hub {manifest['hub_id']} restored in {instance} from the backup of "
        f"{manifest['time']} (log size {manifest['log_size']}). Start it: the communes give "
        "back what the backup lacks (central-hub log-recovery shows how far it is)."
    )


@main.group("node")
def node_group() -> None:
    """Look after the communes' laptops (nodes)."""


@node_group.command("replace")
@click.option("--node", "node_id", required=True, help="The node id of the commune (32 hex).")
@click.option("--reason", required=True, help="Why, for the record: 'laptop stolen 2026-12-04'.")
@click.option(
    "--hours", default=72, show_default=True, type=int, help="Hours until the code expires."
)
@click.pass_context
def node_replace(ctx: click.Context, node_id: str, reason: str, hours: int) -> None:
    """Replace a commune's lost, stolen or broken laptop: every key the old laptop ever had
    is revoked after the last record the hub holds, and a one-time enrolment code is printed
    for the new laptop. The new laptop enrols with it (commune-node enrol), takes back the
    commune's whole history at its first sync and goes on from there; the old laptop, if it
    comes back, is refused and told it was replaced.

    \b
    Example:
        central-hub node replace --node 3f…a1 --reason "laptop stolen on 2026-12-04"
    """
    from central_hub.services import replacement

    app = app_of(ctx)
    try:
        with database_of(app).write() as session:
            hub = identity_service.load_identity(session, Path(app.instance_path))
            done = replacement.replace(
                session,
                hub=hub,
                node_id=node_id,
                reason=reason,
                clock=app.extensions["clock"],
                hours=hours,
            )
    except DossierError as exc:
        _fail(exc)
    click.echo(
        f"The laptop of {done.commune_name} ({done.agency_code}) is retired: "
        f"{len(done.revoked)} key(s) revoked after record {done.last_valid_seq}."
    )
    click.echo(f"Enrolment code for the new laptop (valid {hours} hours): {done.code}")


@main.command("log-recovery")
@click.option(
    "--close",
    "close_it",
    is_flag=True,
    help="End the recovery now, with what the communes gave back so far.",
)
@click.option("--reason", default="", help="Why it is closed early, for the record (with --close).")
@click.option(
    "--by",
    "by",
    default="",
    help="The hub administrator (username) who closes it, signed into the break (with --close).",
)
@click.pass_context
def log_recovery(ctx: click.Context, close_it: bool, reason: str, by: str) -> None:
    """Show (or close) the rebuilding of the log after the database was restored from a backup.

    While it is open the hub takes back from the communes what the backup lost and accepts
    no new records. It closes by itself once every active commune has reported and the log
    has reached every checkpoint they verified. Closing it early lets new records in at
    once and sticks: the checkpoints given up are declared in a log break the hub signs
    (what was kept and given up, when, why, by whom); a commune that had verified one is
    told, sends again what the hub lost, and goes on (docs/operations.md).

    \b
    Example:
        central-hub log-recovery
        central-hub log-recovery --close --by admin \\
            --reason "commune Đăk Pxi's computer was destroyed"
    """
    from sqlalchemy import select

    from central_hub import loghead
    from central_hub.models import HubUser
    from central_hub.services import recovery, translog

    app = app_of(ctx)
    newest = None
    with database_of(app).write() as session:
        rec = recovery.current(session, lock=True)
        if rec is None:
            click.echo("No log recovery is open.")
            return
        info = recovery.status(session, rec)
        missing = recovery.waiting_for(session, rec)
        click.echo(
            f"Log recovery open since {rec.opened_at}: the log holds {info['size']} of "
            f"{info['target']} records the communes verified; {info['staged']} given back "
            f"and waiting for their turn; {len(missing)} active communes not heard from yet."
        )
        for node_id in missing:
            click.echo(f"  waiting for {node_id}")
        for line in recovery.unknown_communes(session, rec):
            click.echo(line)
        if close_it:
            if not reason:
                raise click.UsageError("give --reason when closing a recovery early")
            admin = session.scalar(select(HubUser).where(HubUser.username == by))
            if admin is None or "administrator" not in admin.role_set or not admin.active:
                raise click.UsageError("give --by USERNAME, an active hub administrator")
            hub = identity_service.load_identity(session, Path(app.instance_path))
            brk = recovery.close_early(
                session, rec, hub=hub, reason=reason, by=by, clock=app.extensions["clock"]
            )
            newest = translog.latest_checkpoint(session)
            click.echo(
                f"Closed: the hub accepts new records again. Declared log break: the log goes "
                f"on from {brk.kept_size} records; checkpoints up to {brk.given_up_size} "
                "signed before now are given up (signed; communes that verified one are told)."
            )
    if close_it and newest is not None:
        # The lost log is given up: the head file must not reopen a recovery at the next start.
        loghead.write(loghead.path_of(app), newest.signed)


@main.group()
def user() -> None:
    """Manage hub users (administrator, hub_officer, auditor)."""


@user.command("add")
@click.argument("username")
@click.option("--name", "full_name", required=True)
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(users.HUB_ROLES))
@click.option("--password", envvar="CENTRAL_HUB_USER_PASSWORD", help="Prompted if not given.")
@click.pass_context
def user_add(
    ctx: click.Context, username: str, full_name: str, roles: tuple[str, ...], password: str | None
) -> None:
    """Add a hub user.

    \b
    Example:
        central-hub user add lan.pham --name "Phạm Thị Lan" --role hub_officer
    """
    app = app_of(ctx)
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with database_of(app).write() as session:
            users.create_user(
                session,
                username=username,
                full_name=unicodedata.normalize("NFC", full_name),
                roles=list(roles),
                password=password,
                clock=app.extensions["clock"],
            )
    except DossierError as exc:
        _fail(exc)
    click.echo(f"User {username} added.")


accounts_cli.add_commands(
    user,
    accounts_cli.AccountsOf(
        database=lambda ctx: database_of(app_of(ctx)),
        find=users.by_username,
        sessions=WEB_SESSION,
        noun="hub user",
        program="central-hub",
        example="lan.pham",
    ),
    password_envvar="CENTRAL_HUB_USER_PASSWORD",
)


@main.command()
@click.option(
    "--base-port",
    default=5000,
    show_default=True,
    type=int,
    help="Hub on this port, communes on the next ones.",
)
@click.option(
    "--folder",
    type=click.Path(file_okay=False, path_type=Path),
    default="demo-instances",
    show_default=True,
    help="Where the demo's instance folders go.",
)
@click.option("--sync-interval", default=15, show_default=True, type=int, help="Seconds.")
@click.pass_context
def demo(ctx: click.Context, base_port: int, folder: Path, sync_interval: int) -> None:
    """Start a hub and two commune nodes on localhost, enrolled, with sample data and
    background sync, and print the addresses and demo logins. Ctrl-C stops all three.

    \b
    Example:
        central-hub demo --base-port 5000
    """
    from central_hub.demo import run_demo

    run_demo(folder.resolve(), base_port=base_port, sync_interval=sync_interval)


def _register_extensions() -> None:
    from central_hub.audit_commands import register as register_audit_commands

    register_audit_commands(main)
    from central_hub.portal_commands import register as register_portal_commands

    register_portal_commands(main)
    from central_hub.privacy_commands import register as register_privacy_commands

    register_privacy_commands(main)
    from central_hub.encryption_key_commands import register as register_encryption_key_commands

    register_encryption_key_commands(main)


_register_extensions()

if __name__ == "__main__":  # pragma: no cover
    main()
