"""The hub's report pages (``common_web/reports.py``) for administrators and auditors: over
every commune, by commune (with a ranking), by procedure or by officer, from the same
functions the nodes use (``common/indicators.py``)."""

from __future__ import annotations

from typing import Any

from central_hub.services import health, privacy
from central_hub.services import reports as service
from central_hub.web.context import clock, database, hub_identity
from central_hub.web.privacy import log_processing
from common.periods import Period
from common.reporting import Report
from common_web import reports

ROLES = ("administrator", "auditor")
GROUPINGS = ("commune", "procedure", "officer")


def _build(period: Period, by: str, now: Any) -> Report:
    hub_id = hub_identity().hub_id
    with database().read() as session:
        cal = health.current_calendar(session, hub_id)
        return service.build(session, period, by=by, now=now, calendar=cal, hub_id=hub_id)


def _names() -> dict[str, str]:
    with database().read() as session:
        catalogue = health.current_catalogue(session, hub_identity().hub_id)
    return {code: p.name for code, p in catalogue.procedures.items()}


def _communes() -> dict[str, str]:
    with database().read() as session:
        return service.communes(session)


def _ranked(report: Report) -> dict[str, Any]:
    return {"ranked": report.ranked() if report.by == "commune" else []}


def _drill_extra(report: Report) -> dict[str, Any]:
    return {"communes": _communes()}


def _print_extra(report: Report) -> dict[str, Any]:
    name = hub_identity().name
    return {**_ranked(report), "communes": _communes(), "place": name, "agency": name.upper()}


bp = reports.make_blueprint(
    reports.ReportSource(
        roles=ROLES,
        groupings=GROUPINGS,
        now=lambda: clock()(),
        build=_build,
        procedure_names=_names,
        office=lambda: hub_identity().name,
        log_export=lambda purpose: log_processing(privacy.EXPORT, None, purpose),
        index_extra=_ranked,
        drill_extra=_drill_extra,
        print_extra=_print_extra,
    )
)
