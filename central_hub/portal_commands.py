"""``central-hub portal …``: the hub's own agency code for the portal, and back-fill."""

from __future__ import annotations

import re
from datetime import date, datetime, time

import click

from central_hub.cli_app import app_of, database_of
from central_hub.services import portal_outbox
from central_hub.services.identity import load_identity, set_setting
from common.calendar import VN_TZ

_AGENCY = re.compile(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}\Z")


@click.group()
def portal() -> None:
    """The national public service portal (DVCQG): agency code and back-fill.

    \b
    Example:
        central-hub --instance ./hub portal agency 000.00.00.H26
        central-hub --instance ./hub portal resync --since 2026-11-01
    """


@portal.command("agency")
@click.argument("code")
@click.pass_context
def agency(ctx: click.Context, code: str) -> None:
    """Set the hub's own agency code, sent as DonViXuLy for forwarded dossiers.

    \b
    Example:
        central-hub --instance ./hub portal agency 000.00.00.H26
    """
    if not _AGENCY.match(code):
        raise click.BadParameter("an agency code looks like 000.00.00.H26", param_hint="CODE")
    with database_of(app_of(ctx)).write() as session:
        set_setting(session, portal_outbox.AGENCY_SETTING, code)
    click.echo(f"Agency code for the portal: {code}")


@portal.command("resync")
@click.option(
    "--since",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Dossiers changed at the hub since this day (midnight, Vietnam time).",
)
@click.pass_context
def resync(ctx: click.Context, since: datetime) -> None:
    """Queue again the current status of every dossier changed since a day.

    For a hub connected to the portal late, or after the portal lost data. The messages go
    through the same outbox, in order; one the portal already has is recognised by its
    delivery key and changes nothing there.

    \b
    Example:
        central-hub --instance ./hub portal resync --since 2026-11-01
    """
    from pathlib import Path

    app = app_of(ctx)
    day: date = since.date()
    start = datetime.combine(day, time(0, 0), tzinfo=VN_TZ)
    with database_of(app).write() as session:
        hub = load_identity(session, Path(app.instance_path))
        queued, problems = portal_outbox.resync(
            session, since=start, hub_id=hub.hub_id, now=app.extensions["clock"]()
        )
    click.echo(f"Queued {queued} message(s) for the portal.")
    if problems:
        click.echo(f"{problems} dossier(s) not sendable: see the alerts page.", err=True)


def register(group: click.Group) -> None:
    """Add ``portal`` to the ``central-hub`` group."""
    group.add_command(portal)
