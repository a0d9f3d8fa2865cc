"""``central-hub processing-log``, ``erase-personal`` and ``retention-run``: the hub's
processing log and the erasure of personal data (services/privacy.py) from the command line.
An administrator puts ``retention-run`` in cron once a day; ``central-hub run`` also runs it
once a day in its own scheduler (:func:`retention_round`)."""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from pathlib import Path

import click
from flask import Flask

from central_hub.cli_app import app_of
from central_hub.models import ErasureRun
from central_hub.services import health, privacy
from central_hub.services import identity as identity_service
from common.errors import DossierError
from common_io.database import Database

log = logging.getLogger("central_hub.privacy")


def retention_round(app: Flask) -> ErasureRun:
    """Erase every closed dossier past its retention period, with the hub's current
    catalogue's periods; returns the run's report."""
    db: Database = app.extensions["db"]
    with db.read() as session:
        hub = identity_service.load_identity(session, Path(app.instance_path))
        catalogue = health.current_catalogue(session, hub.hub_id)
    return privacy.run_retention(db, catalogue, now=app.extensions["clock"]())


def retention_tick(app: Flask) -> None:
    try:
        run = retention_round(app)
        sys.stderr.write(privacy.report_line(run) + "\n")  # the run log of `central-hub run`
    except Exception:  # logged; tomorrow's run starts afresh
        log.exception("retention run failed")


@click.command("processing-log")
@click.option("--officer", default=None, help="Only this user name.")
@click.option("--dossier", default=None, help="Only this dossier code.")
@click.option("--from", "start", default=None, type=click.DateTime(["%Y-%m-%d"]), help="From day.")
@click.option("--to", "end", default=None, type=click.DateTime(["%Y-%m-%d"]), help="To day.")
@click.option("--page", default=1, show_default=True, type=click.IntRange(1), help="Page of 50.")
@click.pass_context
def processing_log(
    ctx: click.Context,
    officer: str | None,
    dossier: str | None,
    start: datetime | None,
    end: datetime | None,
    page: int,
) -> None:
    """List the hub's processing log: who viewed, exported, disclosed, looked up or erased
    a dossier's personal data, when and why (newest first, 50 a page).

    \b
    Example:
        central-hub --instance ./hub processing-log --officer lan.admin --from 2026-12-01
    """
    app = app_of(ctx)
    flt = privacy.LogFilter(
        officer=officer,
        dossier=dossier,
        start=start.date() if start else None,
        end=end.date() if end else None,
    )
    with app.extensions["db"].read() as session:
        rows, total = privacy.entries(session, flt, page=page)
    for e in rows:
        click.echo(
            f"{e.at.isoformat(timespec='seconds')}  {e.officer:<16} {e.action:<8} "
            f"{e.dossier_code or '-':<30} {e.purpose}"
        )
    click.echo(f"{total} entries; page {page}.")


@click.command("erase-personal")
@click.argument("code")
@click.option("--reason", required=True, help="The lawful request's ground (logged).")
@click.option("--officer", default="admin", show_default=True, help="Who asked (logged).")
@click.pass_context
def erase_personal(ctx: click.Context, code: str, reason: str, officer: str) -> None:
    """Erase one dossier's personal data at the hub on a lawful request: the applicant's
    name and ID look-up hash, notifications, the public look-up digits and the portal
    messages' owner fields. The log and its records are kept; the reason is logged.

    \b
    Example:
        central-hub --instance ./hub erase-personal 000.00.12.H26-261205-0001 \\
            --reason "Yêu cầu xoá của chủ thể dữ liệu, đơn số 12/2026" --officer lan.admin
    """
    app = app_of(ctx)
    try:
        run = privacy.erase_on_request(
            app.extensions["db"],
            code,
            reason=reason,
            officer=officer,
            now=app.extensions["clock"](),
        )
    except DossierError as exc:
        raise click.ClickException(f"{exc.en}\n{exc.vi}") from exc
    click.echo(f"Personal data of {code} erased ({run.notifications} notifications emptied).")


@click.command("retention-run")
@click.pass_context
def retention_run(ctx: click.Context) -> None:
    """Erase the personal data of every closed dossier whose procedure's retention period
    (in the catalogue the hub published) has ended, one dossier per transaction, and print
    the report. Put it in cron once a day.

    \b
    Example:
        central-hub --instance ./hub retention-run
        # cron: 30 1 * * *  central-hub --instance /srv/hub retention-run
    """
    run = retention_round(app_of(ctx))
    click.echo(
        f"{run.dossiers} dossiers erased, {run.notifications} notifications emptied, "
        f"{run.milliseconds} ms."
    )


def register(group: click.Group) -> None:
    for command in (processing_log, erase_personal, retention_run):
        group.add_command(command)
