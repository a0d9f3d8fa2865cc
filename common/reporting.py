"""Shared report pieces for node and hub: the report object, the table's columns with their
Vietnamese headers, CSV and Excel export, period parsing from a query string.

Pure: builds values and bytes in memory (``openpyxl`` writes the .xlsx into a buffer).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from common.calendar import VN_TZ
from common.errors import FieldProblem, ValidationError
from common.indicators import Figures, Verdict, aggregate, decimal, percent, ranking, totals
from common.periods import KINDS, Period, custom, period_of


@dataclass(frozen=True)
class Column:
    key: str  # a Figures attribute or property
    vi: str
    en: str
    measure: str | None = None  # drill-down measure behind the figure
    share: bool = False  # a Fraction shown as a percentage
    days: bool = False  # a Fraction of working days


COLUMNS: tuple[Column, ...] = (
    Column("judged", "Hồ sơ tính chỉ số 2.1", "Judged (2.1)", "judged"),
    Column("early", "Trước hạn", "Early", "early"),
    Column("on_time", "Đúng hạn", "On time", "on_time"),
    Column("late", "Trễ hạn", "Late", "late"),
    Column("pending", "Chưa đến hạn", "Not yet due", "pending"),
    Column("timely_share", "2.1 Tỷ lệ trước hạn, đúng hạn", "2.1 Early or on time", share=True),
    Column("processed", "Đã giải quyết xong", "Resolved", "processed"),
    Column(
        "average_days", "2.2 Thời gian giải quyết TB (ngày)", "2.2 Average working days", days=True
    ),
    Column("received", "Tiếp nhận", "Received", "received"),
    Column("channel_1", "Trực tiếp", "In person", "channel_1"),
    Column("channel_2", "Trực tuyến", "Online", "channel_2"),
    Column("channel_3", "Bưu chính công ích", "Post", "channel_3"),
    Column("online_share", "3.3 Tỷ lệ trực tuyến", "3.3 Online share", share=True),
    Column("electronic", "Có kết quả điện tử", "Electronic result", "electronic"),
    Column("electronic_share", "4.1 Tỷ lệ kết quả điện tử", "4.1 Electronic result", share=True),
    Column("digitised", "Số hoá", "Digitised", "digitised"),
    Column("digitised_share", "4.2 Tỷ lệ số hoá", "4.2 Digitised", share=True),
    Column("rated", "Lượt đánh giá", "Ratings", "rated"),
    Column("satisfaction_share", "Tỷ lệ hài lòng", "Satisfied", share=True),
    Column("apologies", "Văn bản xin lỗi", "Apologies", "apologies"),
    Column("late_apologies", "Xin lỗi muộn", "Late apologies", "late_apologies"),
    Column("overdue_now", "Đang quá hạn (hiện tại)", "Overdue now", "overdue_now"),
)
GROUP_NAMES = {
    "procedure": ("Thủ tục", "Procedure"),
    "officer": ("Cán bộ tiếp nhận", "Receiving officer"),
    "commune": ("Xã, phường", "Commune"),
}


def value(figures: Figures, column: Column) -> Any:
    if column.key.startswith("channel_"):
        return figures.channels.get(int(column.key[-1]), 0)
    return getattr(figures, column.key)


def shown(figures: Figures, column: Column) -> str:
    """The cell as a person reads it (Vietnamese decimal comma)."""
    v = value(figures, column)
    if column.share:
        return percent(v)
    if column.days:
        return decimal(v)
    return str(v)


@dataclass
class Report:
    period: Period
    now: datetime
    by: str
    verdicts: list[Verdict]
    names: Mapping[str, str] = field(default_factory=dict)  # group key -> label
    total: Figures = field(init=False)
    groups: dict[str, Figures] = field(init=False)

    def __post_init__(self) -> None:
        self.total = totals(self.verdicts)
        self.groups = aggregate(self.verdicts, self.by)

    def label(self, key: str) -> str:
        return self.names.get(key, key) or "—"

    def ranked(self) -> list[tuple[int, str, Figures]]:
        return ranking(self.groups)


def period_from_args(args: Mapping[str, str], today: date) -> Period:
    """``kind`` (week, month, quarter, year, custom) and ``date``, or ``start`` and ``end``."""
    kind = args.get("kind") or "month"
    if kind not in KINDS:
        raise ValidationError([FieldProblem("kind", "invalid", "Kỳ báo cáo không hợp lệ.",
                                            "Unknown period kind.")])  # fmt: skip

    def day(name: str, default: date | None) -> date:
        raw = args.get(name, "")
        if not raw and default is not None:
            return default
        try:
            return date.fromisoformat(raw)
        except ValueError as exc:
            raise ValidationError([FieldProblem(name, "invalid", "Ngày không hợp lệ (YYYY-MM-DD).",
                                                "Not a date (YYYY-MM-DD).")]) from exc  # fmt: skip

    if kind == "custom":
        return custom(day("start", None), day("end", None))
    return period_of(kind, day("date", today))


def period_args(period: Period) -> dict[str, str]:
    """The query string that gives ``period`` back."""
    if period.kind == "custom":
        return {"kind": "custom", "start": period.start.isoformat(), "end": period.end.isoformat()}
    return {"kind": period.kind, "date": period.start.isoformat()}


# ----------------------------------------------------------------------------- export


def table(report: Report) -> tuple[list[str], list[list[Any]]]:
    """Header row (Vietnamese) and one row per group, then the total; raw values."""
    group_vi = GROUP_NAMES.get(report.by, ("Nhóm", "Group"))[0]
    headers = ["Kỳ báo cáo", "Mã nhóm", group_vi] + [c.vi for c in COLUMNS]
    rows: list[list[Any]] = []
    items = [(k, report.label(k), f) for k, f in report.groups.items()]
    items.append(("", "Tổng cộng", report.total))
    for key, label, figures in items:
        rows.append([report.period.label_vi, key, label] + [value(figures, c) for c in COLUMNS])
    return headers, rows


def _csv_cell(v: Any, column: Column | None) -> str:
    if isinstance(v, Fraction):
        number = float(v) * 100 if column and column.share else float(v)
        return f"{number:.1f}"
    return "" if v is None else str(v)


def to_csv(report: Report) -> bytes:
    """UTF-8 with a byte-order mark (so Excel reads the Vietnamese), shares in percent."""
    headers, rows = table(report)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([h + (" (%)" if c and c.share else "") for h, c in _with_columns(headers)])
    cols: list[Column | None] = [None, None, None, *COLUMNS]
    for row in rows:
        writer.writerow([_csv_cell(v, c) for v, c in zip(row, cols, strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _with_columns(headers: Sequence[str]) -> list[tuple[str, Column | None]]:
    cols: list[Column | None] = [None, None, None, *COLUMNS]
    return list(zip(headers, cols, strict=True))


def to_xlsx(report: Report, *, title: str) -> bytes:
    """An Excel workbook: the table with Vietnamese headers, shares as percentages."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]

    headers, rows = table(report)
    wb = Workbook()
    ws = wb.active
    ws.title = "Báo cáo"
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=13)
    made = report.now.astimezone(VN_TZ)  # the province reads Vietnam time, not UTC
    ws.append([f"Kỳ: {report.period.label_vi}", f"Lập lúc: {made:%H:%M %d/%m/%Y}"])
    ws.append(headers)
    for cell in ws[3]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    cols: list[Column | None] = [None, None, None, *COLUMNS]
    for row in rows:
        ws.append([float(v) if isinstance(v, Fraction) else v for v in row])
        for cell, column in zip(ws[ws.max_row], cols, strict=True):
            if column is not None and column.share:
                cell.number_format = "0.0%"
            elif column is not None and column.days:
                cell.number_format = "0.0"
    ws.freeze_panes = "D4"
    ws.column_dimensions["C"].width = 48
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def drill_rows(
    items: Sequence[Verdict], *, procedure_name: Callable[[str], str]
) -> list[dict[str, Any]]:
    """The dossiers behind a figure as table rows (no personal data: codes and dates only)."""
    return [
        {
            "code": v.code,
            "procedure": procedure_name(v.procedure),
            "commune": v.commune,
            "officer": v.officer,
            "channel": v.channel,
            "status": v.status,
            "received_at": v.received_at,
            "deadline": v.deadline,
            "ended_at": v.ended_at,
            "timeliness": v.timeliness,
            "late_reason": v.late_reason,
            "processing_days": v.processing_days,
        }
        for v in items
    ]
