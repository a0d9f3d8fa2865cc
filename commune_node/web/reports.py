"""Report pages of the desk (leaders and node admins): the Decision 766 indicators for a week,
month, quarter, year or custom range, by procedure or by receiving officer; charts as inline
SVG; drill-down from each figure to the dossiers behind it; CSV and Excel export; a printable
monthly report. URLs carry only the period, the grouping and codes — no personal data.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from markupsafe import Markup

from common import charts, indicators, reporting
from common.periods import KIND_NAMES, KINDS, today_vn
from common.reporting import Report
from commune_node.db import read_session
from commune_node.services import privacy, queries
from commune_node.services import reports as service
from commune_node.web.auth import login_required
from commune_node.web.context import calendar, clock, node_identity
from commune_node.web.proclog import log_processing

bp = Blueprint("reports", __name__, url_prefix="/reports")
ROLES = ("leader", "admin")
GROUPINGS = ("procedure", "officer")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LEGEND = ("Trước hạn", "Đúng hạn", "Trễ hạn")


def _report() -> Report:
    now = clock()()
    period = reporting.period_from_args(request.args, today_vn(now))
    by = request.args.get("by", "procedure")
    if by not in GROUPINGS:
        abort(400, description="by must be procedure or officer")
    with read_session() as session:
        return service.build(session, period, by=by, now=now, calendar=calendar())


def _links(report: Report) -> dict[str, Any]:
    args = reporting.period_args(report.period)
    return {"args": args, "by": report.by}


def _charts(report: Report) -> dict[str, Markup]:
    args: dict[str, Any] = dict(reporting.period_args(report.period))
    rows = [
        charts.Stack(
            report.label(key),
            f.early,
            f.on_time,
            f.late,
            url_for("reports.drill", measure="judged", by=report.by, group=key, **args),
        )
        for key, f in report.groups.items()
        if f.judged
    ]
    t = report.total
    summary = [
        ("2.1 Trước hạn, đúng hạn", t.timely_share),
        ("3.3 Trực tuyến", t.online_share),
        ("4.1 Kết quả điện tử", t.electronic_share),
        ("4.2 Số hoá", t.digitised_share),
        ("Hài lòng", t.satisfaction_share),
    ]
    return {
        # Both are built by common.charts, which escapes every text it draws.
        "timeliness": Markup(
            charts.timeliness_bars(rows, title="Tiến độ giải quyết (chỉ số 2.1)", legend=LEGEND)
        ),
        "summary": Markup(charts.share_bars(summary, title="Các chỉ số theo Quyết định 766")),
    }


@bp.get("/")
@login_required(*ROLES)
def index() -> Any:
    report = _report()
    return render_template(
        "reports.html",
        report=report,
        columns=reporting.COLUMNS,
        shown=reporting.shown,
        percent=indicators.percent,
        decimal=indicators.decimal,
        charts=_charts(report),
        kinds=[(k, KIND_NAMES[k]) for k in KINDS],
        group_names=reporting.GROUP_NAMES,
        groupings=GROUPINGS,
        previous=reporting.period_args(report.period.shift(-1)),
        following=reporting.period_args(report.period.shift(1)),
        **_links(report),
    )


@bp.get("/drill")
@login_required(*ROLES)
def drill() -> Any:
    report = _report()
    measure = request.args.get("measure", "")
    if measure not in indicators.MEASURES:
        abort(404)
    group = request.args.get("group")
    items = indicators.drill(report.verdicts, measure, by=report.by if group else None,
                             group=group)  # fmt: skip
    with read_session() as session:
        names = queries.procedure_names(session)
    column = next((c for c in reporting.COLUMNS if c.measure == measure), None)
    return render_template(
        "report_drill.html",
        report=report,
        rows=reporting.drill_rows(items, procedure_name=lambda c: names.get(c, c)),
        measure=measure,
        column=column,
        group=group,
        group_label=report.label(group) if group else "",
        **_links(report),
    )


@bp.get("/export.<fmt>")
@login_required(*ROLES)
def export(fmt: str) -> Any:
    report = _report()
    name = f"bao-cao-766-{report.by}-{report.period.slug}"
    if fmt == "csv":
        body, mimetype = reporting.to_csv(report), "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        title = f"Báo cáo chỉ số Quyết định 766 · {node_identity().commune_name}"
        body, mimetype = reporting.to_xlsx(report, title=title), XLSX
    else:
        abort(404)
    log_processing(privacy.EXPORT, None, f"report {name}.{fmt}")
    resp = Response(body, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/print")
@login_required(*ROLES)
def printable() -> Any:
    report = _report()
    late = indicators.drill(report.verdicts, "late")
    overdue = indicators.drill(report.verdicts, "overdue_now")
    with read_session() as session:
        names = queries.procedure_names(session)
    ident = node_identity()
    return render_template(
        "report_print.html",
        report=report,
        columns=reporting.COLUMNS,
        shown=reporting.shown,
        percent=indicators.percent,
        decimal=indicators.decimal,
        charts=_charts(report),
        late=reporting.drill_rows(late, procedure_name=lambda c: names.get(c, c)),
        overdue=reporting.drill_rows(overdue, procedure_name=lambda c: names.get(c, c)),
        agency=f"UBND {ident.commune_name}".upper(),
        commune=ident.commune_name,
        group_names=reporting.GROUP_NAMES,
        **_links(report),
    )
