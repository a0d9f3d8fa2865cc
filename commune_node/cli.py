"""``commune-node``: set up, run and look after one commune desk.

Every command works on one instance folder (``--instance``, or the environment variable
``COMMUNE_NODE_INSTANCE``; default ``./instance``) that holds the SQLite database, the node's
private key and its settings.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask

from common.errors import DossierError
from common_io import accounts_cli
from commune_node import create_app, db, vault
from commune_node.models import WEB_SESSION
from commune_node.services import catalogue, officers
from commune_node.services import identity as identity_service

AGENCY_CODE = re.compile(r"\d{3}\.\d{2}\.\d{2}\.H\d{2}\Z")


def _app(ctx: click.Context, *, unlock: bool = True) -> Flask:
    """The app for this instance, made on first use (so ``--help`` touches nothing). An
    encrypted desk is unlocked with the secret given in ``COMMUNE_NODE_UNLOCK``, on stdin
    (``--unlock-stdin``) or at a prompt; ``unlock=False`` (``run``) leaves it locked when
    none is given."""
    root = ctx.find_root()
    if "app" not in root.obj:
        root.obj["app"] = create_app(instance_path=str(root.obj["instance"].resolve()))
    app: Flask = root.obj["app"]
    desk = vault.desk_key(app)
    if desk.locked and desk.vault is not None:
        secret = _unlock_secret(ctx, ask=unlock)
        if secret is not None:
            try:
                vault.unlock_app(app, desk.vault.open_with(secret))
            except DossierError as exc:
                _fail(exc)
        elif unlock:
            raise click.ClickException(LOCKED_HELP)
    return app


LOCKED_HELP = (
    "This desk's database is encrypted. Give the admin recovery secret, or USER:PASSWORD of "
    f"an officer, in the environment variable {vault.UNLOCK_ENV}, on stdin with "
    "--unlock-stdin, or at the prompt (docs/operations.md, 'Encryption at rest')."
)


def _unlock_secret(ctx: click.Context, *, ask: bool) -> str | None:
    """The unlocking secret: the environment, stdin (``--unlock-stdin``), else a prompt on a
    terminal when ``ask``."""
    import os

    root = ctx.find_root()
    given = os.environ.get(vault.UNLOCK_ENV)
    if given:
        return given
    if root.obj.get("unlock_stdin"):
        line = sys.stdin.readline().rstrip("\r\n")
        return line or None
    if ask and sys.stdin.isatty():
        user = click.prompt(
            "The desk is locked. Officer user name (empty: use the recovery secret)",
            default="",
            show_default=False,
        )
        if user:
            return f"{user}:{click.prompt('Password', hide_input=True)}"
        return str(click.prompt("Recovery secret", hide_input=True))
    return None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--instance",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="COMMUNE_NODE_INSTANCE",
    default="instance",
    show_default=True,
    help="Instance folder (database, key, settings).",
)
@click.option(
    "--unlock-stdin",
    is_flag=True,
    help="Read the secret that unlocks an encrypted desk (recovery secret or USER:PASSWORD) "
    "from the first line of stdin.",
)
@click.pass_context
def main(ctx: click.Context, instance: Path, unlock_stdin: bool) -> None:
    """Run a commune one-stop desk that works offline and syncs signed records to a hub.

    \b
    Example:
        commune-node --instance ./xa-dak-pxi init --commune "Xã Đăk Pxi" --agency-code 000.00.12.H26
        commune-node --instance ./xa-dak-pxi run --port 5001
    """
    ctx.ensure_object(dict)
    ctx.obj["instance"] = instance
    ctx.obj["unlock_stdin"] = unlock_stdin


def _fail(exc: DossierError) -> None:
    raise click.ClickException(f"{exc.en}\n{exc.vi}")


@main.command()
@click.option("--commune", required=True, help="Commune name, e.g. 'Xã Đăk Pxi'.")
@click.option("--agency-code", required=True, help="Receiving agency code, pattern 000.00.xx.Hnn.")
@click.option("--admin-user", default="admin", show_default=True, help="First node admin.")
@click.option(
    "--admin-password",
    envvar="COMMUNE_NODE_ADMIN_PASSWORD",
    help="Password of the first admin (prompted for if not given).",
)
@click.pass_context
def init(
    ctx: click.Context, commune: str, agency_code: str, admin_user: str, admin_password: str | None
) -> None:
    """Create the instance: database, node key pair, identity, catalogue, first admin.
    The database and the key files are encrypted with a random data key, unlocked by the
    admin's password (and each officer's) or by the recovery secret printed here once:
    write it down and keep it in the commune's safe.

    \b
    Example:
        commune-node --instance ./xa-dak-pxi init --commune "Xã Đăk Pxi" \\
            --agency-code 000.00.12.H26 --admin-user admin
    """
    import unicodedata

    if not AGENCY_CODE.match(agency_code):
        raise click.BadParameter("must look like 000.00.12.H26", param_hint="--agency-code")
    commune = unicodedata.normalize("NFC", commune.strip())
    app = _app(ctx)
    instance = Path(app.instance_path)
    if identity_service.key_files(instance):
        raise click.ClickException(f"{instance} is already initialised (node key exists).")
    if admin_password is None:
        admin_password = click.prompt(
            "Password for the admin", hide_input=True, confirmation_prompt=True
        )
    from common_io.accounts import MIN_PASSWORD

    if len(admin_password) < MIN_PASSWORD:
        raise click.BadParameter(
            f"needs at least {MIN_PASSWORD} characters", param_hint="--admin-password"
        )
    recovery = vault.new_recovery_secret()
    if not app.config.get("DATABASE_ENCRYPTION", True):
        recovery = ""  # a test bench that reads the database with plain sqlite3
        click.echo("DATABASE_ENCRYPTION = False: the database is NOT encrypted.", err=True)
    elif not vault.desk_key(app).encrypted:
        # a new desk is encrypted: the data key, wrapped for the admin and the recovery secret
        given = app.config.get("DATABASE_KEY")
        key = bytes.fromhex(given) if given else vault.new_key()
        vault.Vault(instance / vault.FILE).create(
            key, recovery=recovery, officers={admin_user: admin_password}
        )
        db.database(app).engine.dispose()
        ctx.find_root().obj["app"] = app = create_app(instance_path=str(instance))
        vault.unlock_app(app, key)
    else:
        recovery = ""
    db.upgrade(app)
    from common.catalogue import load_sample_catalogue

    try:
        with db.write_session(app) as session:
            ident = identity_service.create_identity(
                session, instance, commune_name=commune, agency_code=agency_code
            )
            n = catalogue.install(session, load_sample_catalogue())
            officers.create_officer(
                session,
                username=admin_user,
                full_name="Quản trị nút",
                roles=["admin"],
                password=admin_password,
                clock=app.extensions["clock"],
            )
    except DossierError as exc:
        _fail(exc)
    click.echo(f"Node {ident.node_id} for {commune} ({agency_code}) created in {instance}")
    click.echo(f"{n} procedures installed; admin user: {admin_user}")
    if recovery:
        click.echo(
            "Database and keys encrypted. Recovery secret (shown once; write it down and keep "
            f"it in the commune's safe):\n    {recovery}"
        )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5001, show_default=True, type=int)
@click.option("--threads", default=4, show_default=True, type=int)
@click.option(
    "--sync-interval",
    default=60,
    show_default=True,
    type=int,
    help="Seconds between background syncs with the hub; 0 turns it off.",
)
@click.option(
    "--header-timeout",
    default=20.0,
    show_default=True,
    type=click.FloatRange(1, 600),
    help="Seconds a client has to send a request's whole header; a slower one is cut off.",
)
@click.option(
    "--per-address-limit",
    default=20,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Open connections from one client address.",
)
@click.pass_context
def run(
    ctx: click.Context,
    host: str,
    port: int,
    threads: int,
    sync_interval: int,
    header_timeout: float,
    per_address_limit: int,
) -> None:
    """Serve the desk with the waitress production server (upgrades the database first).

    \b
    Example:
        commune-node --instance ./xa-dak-pxi run --port 5001
    """
    from common_io import serving

    app = _app(ctx, unlock=False)
    desk = vault.desk_key(app)
    if desk.locked:  # the first officer's log-in opens it; then the schema is brought up
        desk.on_unlock.append(lambda: _start_checks(app))
        click.echo("The desk is locked until the first officer logs in.", err=True)
    elif not _start_checks(app):
        sync_interval = 0
    if not desk.encrypted:
        click.echo(
            "Warning: this desk's database is not encrypted; run: commune-node encrypt", err=True
        )
    server = serving.create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        ident="commune-node",
        max_request_body_size=int(app.config["MAX_CONTENT_LENGTH"]),
        header_timeout=header_timeout,
        per_address_limit=per_address_limit,
    )
    if sync_interval > 0:
        from commune_node import scheduler

        scheduler.start(app, sync_interval)
    click.echo(f"Commune node serving on http://{host}:{port}/", err=True)
    server.run()


def _start_checks(app: Flask) -> bool:
    """The start-up check and schema upgrade; False when the file is damaged (then the desk
    serves the way out and takes nothing in)."""
    from commune_node.services import storage

    found = storage.check_at_start(app)
    if found is None:
        db.upgrade(app)
        return True
    click.echo(storage.damaged_database_message(RuntimeError(found)), err=True)
    return False


@main.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Bring the database schema up to date (safe to run any time; keeps all data).

    \b
    Example:
        commune-node --instance ./xa-dak-pxi upgrade
    """
    db.upgrade(_app(ctx))
    click.echo("Database is up to date.")


@main.command()
@click.option("--admin-user", default="admin", show_default=True, help="An admin of this node.")
@click.option(
    "--admin-password",
    envvar="COMMUNE_NODE_ADMIN_PASSWORD",
    help="That admin's password (prompted for if not given).",
)
@click.pass_context
def encrypt(ctx: click.Context, admin_user: str, admin_password: str | None) -> None:
    """Encrypt the plain database and key files of a node set up before encryption, in
    place (stop the desk first). Every row is kept (the encrypted copy is checked table by
    table before it replaces the plain file). The admin's password unlocks it from now on;
    each other officer's password does from their next log-in; a recovery secret is printed
    once.

    \b
    Example:
        commune-node --instance ./xa-dak-pxi encrypt --admin-user admin
    """
    from sqlalchemy.engine import make_url

    app = _app(ctx, unlock=False)
    instance = Path(app.instance_path)
    if vault.desk_key(app).encrypted:
        raise click.ClickException(f"{instance} is already encrypted.")
    path = make_url(str(db.database(app).engine.url)).database
    if not path or not Path(path).exists():
        raise click.ClickException(f"{instance} holds no database; run: commune-node init")
    if admin_password is None:
        admin_password = click.prompt(f"Password of {admin_user}", hide_input=True)
    db.upgrade(app)
    with db.read_session(app) as session:
        admin = officers.authenticate(session, admin_user, admin_password)
    if admin is None or "admin" not in admin.role_set:
        raise click.ClickException(f"{admin_user} is not an admin of this node with that password.")
    db.database(app).engine.dispose()
    recovery = vault.new_recovery_secret()
    try:
        rows = vault.encrypt_instance(
            instance,
            Path(path),
            vault.new_key(),
            recovery=recovery,
            officers={admin_user: admin_password},
        )
    except DossierError as exc:
        _fail(exc)
    click.echo(
        f"Database encrypted ({sum(rows.values())} rows in {len(rows)} tables kept) and the "
        "key files with it. Recovery secret (shown once; write it down and keep it in the "
        f"commune's safe):\n    {recovery}"
    )


@main.group()
def officer() -> None:
    """Manage officers and their API tokens."""


@officer.command("add")
@click.argument("username")
@click.option("--name", "full_name", required=True, help="Full name, e.g. 'Lê Thị Hoa'.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(["receiver", "leader", "admin"]),
    help="Role; repeat for several.",
)
@click.option("--password", envvar="COMMUNE_NODE_OFFICER_PASSWORD", help="Prompted if not given.")
@click.pass_context
def officer_add(
    ctx: click.Context, username: str, full_name: str, roles: tuple[str, ...], password: str | None
) -> None:
    """Add an officer.

    \b
    Example:
        commune-node officer add hoa.le --name "Lê Thị Hoa" --role receiver
    """
    import unicodedata

    app = _app(ctx)
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with db.write_session(app) as session:
            officers.create_officer(
                session,
                username=username,
                full_name=unicodedata.normalize("NFC", full_name),
                roles=list(roles),
                password=password,
                clock=app.extensions["clock"],
            )
    except DossierError as exc:
        _fail(exc)
    click.echo(f"Officer {username} added with roles {', '.join(roles)}.")


@officer.command("token")
@click.argument("username")
@click.option("--label", default="api", show_default=True, help="What the token is for.")
@click.pass_context
def officer_token(ctx: click.Context, username: str, label: str) -> None:
    """Issue an API bearer token for an officer (shown once; only its hash is kept).

    \b
    Example:
        commune-node officer token hoa.le --label "lobby screen"
    """
    from sqlalchemy import select

    from commune_node.models import Officer

    app = _app(ctx)
    with db.write_session(app) as session:
        row = session.scalar(select(Officer).where(Officer.username == username))
        if row is None:
            raise click.ClickException(f"no officer named {username}")
        token = officers.issue_token(session, row, label=label, clock=app.extensions["clock"])
    click.echo(token)


def _database(ctx: click.Context) -> db.Database:
    return db.database(_app(ctx))


accounts_cli.add_commands(
    officer,
    accounts_cli.AccountsOf(
        database=_database,
        find=officers.by_username,
        sessions=WEB_SESSION,
        noun="officer",
        program="commune-node",
        example="hoa.le",
    ),
    password_envvar="COMMUNE_NODE_OFFICER_PASSWORD",
)


@main.command("verify-log")
@click.pass_context
def verify_log(ctx: click.Context) -> None:
    """Check every record of this node's own chain: form, signature, sequence and hash
    links. Lists every damaged record (not only the first) and exits 1 if there is one;
    `commune-node repair` then puts back what the hub holds and declares the rest lost.

    \b
    Example:
        commune-node verify-log
    """
    from commune_node.services import damage, storage

    app = _app(ctx)
    try:
        with db.read_session(app) as session:
            found = damage.scan(session, Path(app.instance_path))
            lost = damage.lost_records(session)
    except Exception as exc:
        raise click.ClickException(storage.damaged_database_message(exc)) from None
    for row in lost:
        click.echo(f"seq {row.seq}: {row.outcome} earlier ({row.problem})")
    for item in found.damaged or []:
        click.echo(f"seq {item.seq}: damaged: {item.problem}", err=True)
    for item in found.links or []:
        click.echo(f"seq {item.seq}: chain broken: {item.problem}", err=True)
    bad = len(found.damaged or []) + len(found.links or [])
    if bad:
        click.echo(
            f"{found.checked} records checked; {bad} damaged. Run: commune-node repair", err=True
        )
        sys.exit(1)
    click.echo(f"{found.checked} records verified; chain intact.")


@main.command()
@click.pass_context
def repair(ctx: click.Context) -> None:
    """Repair damaged records of this node's chain: a record the hub already holds is
    fetched back from the hub and checked against this node's key and chain before it is
    put back; a record the hub never received is kept as a dead letter, and a signed
    `chain.break` record takes its place so the records after it still go. Needs the hub.

    \b
    Example:
        commune-node repair
    """
    from commune_node.scheduler import _transport
    from commune_node.services import repair as repair_service
    from commune_node.services.hublink import Client
    from commune_node.web.context import node_identity

    app = _app(ctx)
    try:
        with app.app_context():
            report = repair_service.repair(
                db.database(app),
                Client(
                    db.database(app),
                    node_identity(),
                    _transport(app),
                    app.extensions["clock"],
                    instance=Path(app.instance_path),
                ),
                instance=Path(app.instance_path),
                actor="admin",
            )
    except DossierError as exc:
        _fail(exc)
    for seq in report.restored:
        click.echo(f"seq {seq}: restored from the hub's copy")
    for first, last in report.lost:
        span = f"seq {first}" if first == last else f"seq {first}..{last}"
        click.echo(f"{span}: never reached the hub; lost, declared by a signed chain.break")
    for why in report.failed:
        click.echo(f"not repaired: {why}", err=True)
    for item in report.links:
        click.echo(f"seq {item.seq}: chain broken: {item.problem}", err=True)
    if report.failed or report.links:
        sys.exit(1)
    if not report.restored and not report.lost:
        click.echo(f"{report.checked} records checked; nothing to repair.")
    else:
        click.echo("Repaired. Run: commune-node verify-log")


@main.command("hub-key")
@click.pass_context
def hub_key(ctx: click.Context) -> None:
    """Show the hub's public key this node pinned at enrolment, with its fingerprint, for
    an inspector to pin (dossier-audit verify --hub-key) and compare with the hub's letter.

    \b
    Example:
        commune-node hub-key
    """
    from commune_node.services import auditor

    app = _app(ctx)
    with db.read_session(app) as session:
        pinned = auditor.hub_key(session)
    if pinned is None:
        raise click.ClickException("This node is not enrolled with a hub.\nNút chưa đăng ký.")
    click.echo(f"Hub key      {pinned.public_hex}")
    click.echo(f"Fingerprint  {pinned.fingerprint}")
    click.echo(f"Hub id       {pinned.hub_id}")
    click.echo(f"Log          {pinned.origin}")


@main.group()
def checkpoint() -> None:
    """The hub checkpoint this node verified, for an inspector."""


@checkpoint.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.pass_context
def checkpoint_export(ctx: click.Context, file: Path) -> None:
    """Write FILE: the newest hub checkpoint this node verified, with this node's
    cosignature naming its own newest record in the log — the file an inspector gives to
    dossier-audit verify --checkpoint (docs/audit.md, "The checkpoint file").

    \b
    Example:
        commune-node checkpoint export checkpoint-000.00.12.H26.json
    """
    import json

    from commune_node.services import auditor

    app = _app(ctx)
    with db.read_session(app) as session:
        ident = identity_service.load_identity(session, Path(app.instance_path))
        try:
            data = auditor.checkpoint_file(session, identity=ident)
        except DossierError as exc:
            _fail(exc)
    file.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    hub = data["hub"]
    click.echo(f"Wrote {file}: checkpoint of size {data['checkpoint']['size']}.")
    click.echo(f"Hub key {hub['key']} (fingerprint {hub['fingerprint']}).")


@main.command()
@click.option("--hub", "hub_url", required=True, help="The hub's address, e.g. https://hub.example")
@click.option("--code", required=True, help="One-time enrolment code from the hub administrator.")
@click.option(
    "--allow-http",
    is_flag=True,
    help="Accept a plain http:// hub address that is not on this computer (test set-ups only).",
)
@click.pass_context
def enrol(ctx: click.Context, hub_url: str, code: str, allow_http: bool) -> None:
    """Enrol this node with a hub using a one-time code. The hub address must be https://
    (plain http:// only on this computer's loopback address, or with --allow-http).

    \b
    Example:
        commune-node enrol --hub https://hub.quangngai.gov.vn --code K7QF-9M2X-TR4D
    """
    from commune_node.services.enrolment import check_hub_url
    from commune_node.services.enrolment import enrol as do_enrol
    from commune_node.transport import HttpTransport
    from commune_node.web.context import node_identity

    try:
        warning = check_hub_url(hub_url, allow_http=allow_http)
    except DossierError as exc:
        _fail(exc)
    if warning:
        click.echo(warning, err=True)
    app = _app(ctx)
    try:
        with app.app_context():
            answer = do_enrol(
                db.database(app),
                identity=node_identity(),
                transport=HttpTransport(hub_url),
                hub_url=hub_url,
                code=code,
            )
    except DossierError as exc:
        _fail(exc)
    click.echo(
        f"Enrolled with {answer['hub_name']} ({answer['level']}) as {answer['commune_name']}."
    )


@main.command()
@click.pass_context
def sync(ctx: click.Context) -> None:
    """Sync with the hub now: push unsent records, pull what the hub sent.

    \b
    Example:
        commune-node sync
    """
    from commune_node.scheduler import run_sync

    app = _app(ctx)
    try:
        result = run_sync(app)
    except DossierError as exc:
        _fail(exc)
    assert result is not None
    click.echo(
        f"Pushed {result.pushed} (again: {result.duplicates}), refused by hub: "
        f"{result.dead}, pulled {result.pulled}; synced up to record {result.acked_seq}."
    )


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def backup(ctx: click.Context, file: Path) -> None:
    """Write a backup of this node to FILE while the desk keeps working: a consistent copy
    of the database (through SQLite's backup API, with the writes still in its WAL), the
    node's key files and config, and a manifest. On an encrypted desk the copy stays
    encrypted under the same data key, the key files stay encrypted, and the same officer
    passwords and recovery secret open it; a plain desk's backup holds personal data and
    the node's private key in the clear. Either way keep it on the commune's USB drive,
    never on a shared or cloud folder (docs/operations.md).

    \b
    Example:
        commune-node --instance ./xa-dak-pxi backup /media/usb/xa-dak-pxi-2026-12-05.tar.gz
    """
    from datetime import UTC, datetime

    from commune_node.services import backup as backup_service

    app = _app(ctx)
    url = db.database(app).engine.url
    if url.get_backend_name() != "sqlite" or not url.database:
        raise click.ClickException("backup works on the node's SQLite database only")
    try:
        manifest = backup_service.make(
            Path(app.instance_path),
            file,
            database=Path(url.database),
            now=datetime.now(UTC),
            key=vault.desk_key(app).key_or_none(),
        )
    except DossierError as exc:
        _fail(exc)
    click.echo(
        f"Backup of node {manifest['node_id']} ({manifest['agency_code']}) written to {file}: "
        f"records up to {manifest['head_seq']}, synced up to {manifest['acked_seq']}, "
        f"files {', '.join(manifest['files'])}."
    )


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="The instance folder holds a node: move its files aside (replaced-<time>/) and restore.",
)
@click.pass_context
def restore(ctx: click.Context, file: Path, force: bool) -> None:
    """Put a backup made by `commune-node backup` into the instance folder (stop the node
    first). An encrypted backup is unlocked with the recovery secret or an officer's
    password (as for any command) before anything is moved. The node is marked restored:
    until its next sync with the hub has taken back
    the records made after the backup, new dossiers are numbered from 5001 up, so no code
    is given twice.

    \b
    Example:
        commune-node --instance ./xa-dak-pxi restore /media/usb/xa-dak-pxi-2026-12-05.tar.gz
    """
    from datetime import UTC, datetime

    from commune_node.services import backup as backup_service

    instance = ctx.find_root().obj["instance"].resolve()

    def key_for(keys: vault.Vault) -> bytes:
        secret = _unlock_secret(ctx, ask=True)
        if secret is None:
            raise click.ClickException("The backup is encrypted. " + LOCKED_HELP)
        return keys.open_with(secret)

    try:
        manifest = backup_service.restore(
            file, instance, force=force, now=datetime.now(UTC), key_for=key_for
        )
    except DossierError as exc:
        _fail(exc)
    if manifest.get("moved_aside"):
        click.echo(f"The files that were there are in {manifest['moved_aside']}.")
    click.echo(
        f"Node {manifest['node_id']} ({manifest['agency_code']}) restored in {instance} from "
        f"the backup of {manifest['time']} (records up to {manifest['head_seq']}). Start it "
        "and sync: it takes back from the hub what it made after the backup."
    )


@main.command("rotate-key")
@click.pass_context
def rotate_key(ctx: click.Context) -> None:
    """Replace the node's signing key. The old key signs a record naming the new one, so the
    chain stays provable; the new key signs every record from now on (a running
    `commune-node run` picks it up at once). The hub learns the new key at the next sync;
    once it has acknowledged the rotation, the old key file is deleted and the hub refuses
    the old key for everything.

    \b
    Example:
        commune-node rotate-key
    """
    from commune_node.services import keyring

    app = _app(ctx)
    old, new, rec = keyring.rotate_now(
        db.database(app), Path(app.instance_path), clock=app.extensions["clock"], actor="system"
    )
    click.echo(f"Key {old.key_id} replaced by {new.key_id} (record {rec.seq}).")


@main.command("sample-data")
@click.option("--dossiers", "count", default=40, show_default=True, type=int)
@click.option("--password", default="demo-password", show_default=True, help="For demo officers.")
@click.pass_context
def sample_data(ctx: click.Context, count: int, password: str) -> None:
    """Add demo officers (receiver, leader) and realistic dossiers in every status.

    \b
    Example:
        commune-node sample-data --dossiers 40
    """
    from commune_node.sample import seed

    app = _app(ctx)
    summary = seed(app, count=count, password=password)
    click.echo(summary)


@main.command("processing-log")
@click.option("--officer", default=None, help="Only this officer's user name.")
@click.option("--dossier", default=None, help="Only this dossier code.")
@click.option("--from", "start", default=None, type=click.DateTime(["%Y-%m-%d"]), help="From day.")
@click.option("--to", "end", default=None, type=click.DateTime(["%Y-%m-%d"]), help="To day.")
@click.option("--page", default=1, show_default=True, type=click.IntRange(1), help="Page of 50.")
@click.pass_context
def processing_log(
    ctx: click.Context,
    officer: str | None,
    dossier: str | None,
    start: Any,
    end: Any,
    page: int,
) -> None:
    """List the processing log: who viewed, printed, exported, disclosed, looked up or
    erased a dossier's personal data, when and why (newest first, 50 a page).

    \b
    Example:
        commune-node processing-log --dossier 000.00.12.H26-261205-0001 --from 2026-12-01
    """
    from commune_node.services import privacy

    flt = privacy.LogFilter(
        officer=officer,
        dossier=dossier,
        start=start.date() if start else None,
        end=end.date() if end else None,
    )
    with db.read_session(_app(ctx)) as session:
        rows, total = privacy.entries(session, flt, page=page)
    for e in rows:
        click.echo(
            f"{e.at.isoformat(timespec='seconds')}  {e.officer:<16} {e.action:<8} "
            f"{e.dossier_code or '-':<30} {e.purpose}"
        )
    click.echo(f"{total} entries; page {page}.")


@main.command("erase-personal")
@click.argument("code")
@click.option("--reason", required=True, help="The lawful request's ground (logged).")
@click.option("--officer", default="admin", show_default=True, help="Who asked (logged).")
@click.pass_context
def erase_personal(ctx: click.Context, code: str, reason: str, officer: str) -> None:
    """Erase one dossier's personal data on a lawful request: the name, ID number, phone,
    e-mail and address, the name's search entries and the citizen notifications. The
    signed records and the log are kept. The reason goes into the processing log.

    \b
    Example:
        commune-node erase-personal 000.00.12.H26-261205-0001 \\
            --reason "Yêu cầu xoá của chủ thể dữ liệu, đơn số 12/2026" --officer hoa.le
    """
    from commune_node.services import privacy

    app = _app(ctx)
    try:
        run = privacy.erase_on_request(
            db.database(app), code, reason=reason, officer=officer, now=app.extensions["clock"]()
        )
    except DossierError as exc:
        _fail(exc)
    click.echo(f"Personal data of {code} erased ({run.notifications} notifications emptied).")


@main.command("retention-run")
@click.pass_context
def retention_run(ctx: click.Context) -> None:
    """Erase the personal data of every closed dossier whose procedure's retention period
    has ended (counted from the day it closed), one dossier per transaction, and print the
    report. `commune-node run` does this once a day by itself.

    \b
    Example:
        commune-node retention-run
    """
    from commune_node.services import privacy

    app = _app(ctx)
    run = privacy.run_retention(db.database(app), now=app.extensions["clock"]())
    click.echo(
        f"{run.dossiers} dossiers erased, {run.notifications} notifications emptied, "
        f"{run.milliseconds} ms."
    )


if __name__ == "__main__":  # pragma: no cover
    main()
