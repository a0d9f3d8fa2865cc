"""Report pages of the hub (administrators and auditors): the Decision 766 indicators over
every commune, by commune (with a ranking), by procedure or by officer; inline SVG charts;
drill-down to the dossiers behind a figure; CSV and Excel export; a printable report. The
figures come from the same functions the nodes use (``common/indicators.py``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from markupsafe import Markup

from central_hub.services import health, privacy
from central_hub.services import reports as service
from central_hub.web.auth import login_required
from central_hub.web.context import clock, database, hub_identity
from central_hub.web.privacy import log_processing
from common import charts, indicators, reporting
from common.periods import KIND_NAMES, KINDS, today_vn
from common.reporting import Report

bp = Blueprint("reports", __name__, url_prefix="/reports")
ROLES = ("administrator", "auditor")
GROUPINGS = ("commune", "procedure", "officer")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LEGEND = ("Trước hạn", "Đúng hạn", "Trễ hạn")


def _report() -> Report:
    now = clock()()
    period = reporting.period_from_args(request.args, today_vn(now))
    by = request.args.get("by", "commune")
    if by not in GROUPINGS:
        abort(400, description="by must be commune, procedure or officer")
    hub_id = hub_identity().hub_id
    with database().read() as session:
        cal = health.current_calendar(session, hub_id)
        return service.build(session, period, by=by, now=now, calendar=cal, hub_id=hub_id)


def _drill_url(values: dict[str, Any]) -> str:
    return url_for("reports.drill", **values)


def _context(report: Report) -> dict[str, Any]:
    args: dict[str, Any] = dict(reporting.period_args(report.period))
    rows = [
        charts.Stack(
            report.label(key),
            f.early,
            f.on_time,
            f.late,
            _drill_url({"measure": "judged", "by": report.by, "group": key, **args}),
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
        "report": report,
        "args": args,
        "by": report.by,
        "columns": reporting.COLUMNS,
        "shown": reporting.shown,
        "percent": indicators.percent,
        "decimal": indicators.decimal,
        "group_names": reporting.GROUP_NAMES,
        # common.charts escapes every text it draws.
        "charts": {
            "timeliness": Markup(
                charts.timeliness_bars(rows, title="Tiến độ giải quyết (chỉ số 2.1)", legend=LEGEND)
            ),
            "summary": Markup(charts.share_bars(summary, title="Các chỉ số theo Quyết định 766")),
        },
    }


def _names() -> dict[str, str]:
    with database().read() as session:
        catalogue = health.current_catalogue(session, hub_identity().hub_id)
    return {code: p.name for code, p in catalogue.procedures.items()}


@bp.get("/")
@login_required(*ROLES)
def index() -> Any:
    report = _report()
    return render_template(
        "reports.html",
        kinds=[(k, KIND_NAMES[k]) for k in KINDS],
        groupings=GROUPINGS,
        previous=reporting.period_args(report.period.shift(-1)),
        following=reporting.period_args(report.period.shift(1)),
        ranked=report.ranked() if report.by == "commune" else [],
        **_context(report),
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
    names = _names()
    communes = service_communes()
    return render_template(
        "report_drill.html",
        rows=reporting.drill_rows(items, procedure_name=lambda c: names.get(c, c)),
        measure=measure,
        column=next((c for c in reporting.COLUMNS if c.measure == measure), None),
        group=group,
        group_label=report.label(group) if group else "",
        communes=communes,
        **_context(report),
    )


def service_communes() -> dict[str, str]:
    with database().read() as session:
        return service.communes(session)


@bp.get("/export.<fmt>")
@login_required(*ROLES)
def export(fmt: str) -> Any:
    report = _report()
    name = f"bao-cao-766-{report.by}-{report.period.slug}"
    if fmt == "csv":
        body, mimetype = reporting.to_csv(report), "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        title = f"Báo cáo chỉ số Quyết định 766 · {hub_identity().name}"
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
    names = _names()
    late = indicators.drill(report.verdicts, "late")
    return render_template(
        "report_print.html",
        late=reporting.drill_rows(late, procedure_name=lambda c: names.get(c, c)),
        ranked=report.ranked() if report.by == "commune" else [],
        communes=service_communes(),
        hub=hub_identity(),
        **_context(report),
    )
