"""The desk's report pages (``common_web/reports.py``) for leaders and node admins: by
procedure or by receiving officer, over this commune's own dossiers; the printed monthly
report adds the dossiers overdue now."""

from __future__ import annotations

from typing import Any

from common import indicators, reporting
from common.periods import Period
from common.reporting import Report
from common_web import reports
from commune_node.db import read_session
from commune_node.services import privacy, queries
from commune_node.services import reports as service
from commune_node.web.context import calendar, clock, node_identity
from commune_node.web.proclog import log_processing

ROLES = ("leader", "admin")
GROUPINGS = ("procedure", "officer")


def _build(period: Period, by: str, now: Any) -> Report:
    with read_session() as session:
        return service.build(session, period, by=by, now=now, calendar=calendar())


def _names() -> dict[str, str]:
    with read_session() as session:
        return queries.procedure_names(session)


def _print_extra(report: Report) -> dict[str, Any]:
    names = _names()
    overdue = indicators.drill(report.verdicts, "overdue_now")
    ident = node_identity()
    return {
        "overdue": reporting.drill_rows(overdue, procedure_name=lambda c: names.get(c, c)),
        "agency": f"UBND {ident.commune_name}".upper(),
        "place": ident.commune_name,
    }


bp = reports.make_blueprint(
    reports.ReportSource(
        roles=ROLES,
        groupings=GROUPINGS,
        now=lambda: clock()(),
        build=_build,
        procedure_names=_names,
        office=lambda: node_identity().commune_name,
        log_export=lambda purpose: log_processing(privacy.EXPORT, None, purpose),
        print_extra=_print_extra,
    )
)
