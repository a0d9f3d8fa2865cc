"""The report pages of both apps, from one blueprint factory: the Decision 766 indicators
for a week, month, quarter, year or custom range, grouped as the app allows; charts as inline
SVG; drill-down from each figure to the dossiers behind it; CSV and Excel export; a printable
report. URLs carry only the period, the grouping and codes — no personal data.

The figures come from ``common/indicators.py`` on both apps; what differs is a
:class:`ReportSource`: who may see the reports, the groupings, how the report is read (the
desk's own dossiers, the hub's log of every commune), the procedure names, the office named
on the export, and what each page shows beyond the shared part (the hub's ranking of
communes, the desk's overdue list)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from markupsafe import Markup

from common import charts, indicators, reporting
from common.periods import KIND_NAMES, KINDS, Period, today_vn
from common.reporting import Report
from common_web.auth import login_required

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LEGEND = ("Trước hạn", "Đúng hạn", "Trễ hạn")


def _nothing(report: Report) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class ReportSource:
    """One app's reports."""

    roles: tuple[str, ...]
    groupings: tuple[str, ...]  # the first is the default
    now: Callable[[], Any]
    build: Callable[[Period, str, Any], Report]  # (period, grouping, now) → the report
    procedure_names: Callable[[], dict[str, str]]
    office: Callable[[], str]  # named in the Excel title
    log_export: Callable[[str], None]  # writes the processing log's line for an export
    # what each page shows beyond the shared context
    index_extra: Callable[[Report], dict[str, Any]] = _nothing
    drill_extra: Callable[[Report], dict[str, Any]] = _nothing
    print_extra: Callable[[Report], dict[str, Any]] = _nothing


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


def context(report: Report) -> dict[str, Any]:
    """What every report page shows: the report, its table's columns and formats, charts."""
    return {
        "report": report,
        "args": reporting.period_args(report.period),
        "by": report.by,
        "columns": reporting.COLUMNS,
        "shown": reporting.shown,
        "percent": indicators.percent,
        "decimal": indicators.decimal,
        "group_names": reporting.GROUP_NAMES,
        "charts": _charts(report),
    }


def make_blueprint(source: ReportSource) -> Blueprint:
    bp = Blueprint("reports", __name__, url_prefix="/reports")
    allowed = login_required(*source.roles)

    def report() -> Report:
        now = source.now()
        period = reporting.period_from_args(request.args, today_vn(now))
        by = request.args.get("by", source.groupings[0])
        if by not in source.groupings:
            abort(400, description=f"by must be {' or '.join(source.groupings)}")
        return source.build(period, by, now)

    def rows(items: Any) -> Any:
        names = source.procedure_names()
        return reporting.drill_rows(items, procedure_name=lambda c: names.get(c, c))

    @bp.get("/")
    @allowed
    def index() -> Any:
        found = report()
        return render_template(
            "reports.html",
            kinds=[(k, KIND_NAMES[k]) for k in KINDS],
            groupings=source.groupings,
            previous=reporting.period_args(found.period.shift(-1)),
            following=reporting.period_args(found.period.shift(1)),
            **context(found),
            **source.index_extra(found),
        )

    @bp.get("/drill")
    @allowed
    def drill() -> Any:
        found = report()
        measure = request.args.get("measure", "")
        if measure not in indicators.MEASURES:
            abort(404)
        group = request.args.get("group")
        items = indicators.drill(found.verdicts, measure, by=found.by if group else None,
                                 group=group)  # fmt: skip
        return render_template(
            "report_drill.html",
            rows=rows(items),
            measure=measure,
            column=next((c for c in reporting.COLUMNS if c.measure == measure), None),
            group=group,
            group_label=found.label(group) if group else "",
            **context(found),
            **source.drill_extra(found),
        )

    @bp.get("/export.<fmt>")
    @allowed
    def export(fmt: str) -> Any:
        found = report()
        name = f"bao-cao-766-{found.by}-{found.period.slug}"
        if fmt == "csv":
            body, mimetype = reporting.to_csv(found), "text/csv; charset=utf-8"
        elif fmt == "xlsx":
            title = f"Báo cáo chỉ số Quyết định 766 · {source.office()}"
            body, mimetype = reporting.to_xlsx(found, title=title), XLSX
        else:
            abort(404)
        source.log_export(f"report {name}.{fmt}")
        resp = Response(body, mimetype=mimetype)
        resp.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @bp.get("/print")
    @allowed
    def printable() -> Any:
        found = report()
        return render_template(
            "report_print.html",
            late=rows(indicators.drill(found.verdicts, "late")),
            **context(found),
            **source.print_extra(found),
        )

    return bp
