"""Report periods: week, month, quarter, year, or a custom range of days, in Vietnam time.

A period is a range of whole Vietnam days ``[start, end]`` (both included); as instants it is
``[begins, ends)`` from 00:00 Vietnam time on ``start`` to 00:00 on the day after ``end``.
Weeks are ISO weeks (Monday to Sunday). Pure: no clock is read, every date is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from common.calendar import VN_TZ
from common.errors import FieldProblem, ValidationError

PeriodKind = Literal["week", "month", "quarter", "year", "custom"]
KINDS: tuple[PeriodKind, ...] = ("week", "month", "quarter", "year", "custom")
KIND_NAMES: dict[str, tuple[str, str]] = {
    "week": ("Tuần", "Week"),
    "month": ("Tháng", "Month"),
    "quarter": ("Quý", "Quarter"),
    "year": ("Năm", "Year"),
    "custom": ("Tuỳ chọn", "Custom"),
}
MAX_CUSTOM_DAYS = 3 * 366


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: date
    end: date  # the last day, included

    @property
    def begins(self) -> datetime:
        return datetime.combine(self.start, time(0), tzinfo=VN_TZ)

    @property
    def ends(self) -> datetime:
        """The first instant after the period (00:00 on the day after ``end``)."""
        return datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=VN_TZ)

    def contains(self, when: datetime | None) -> bool:
        return when is not None and self.begins <= when < self.ends

    @property
    def label_vi(self) -> str:
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"Tuần {week}/{year} ({self.start:%d/%m}–{self.end:%d/%m/%Y})"
        if self.kind == "month":
            return f"Tháng {self.start.month:02d}/{self.start.year}"
        if self.kind == "quarter":
            return f"Quý {(self.start.month - 1) // 3 + 1}/{self.start.year}"
        if self.kind == "year":
            return f"Năm {self.start.year}"
        return f"{self.start:%d/%m/%Y}–{self.end:%d/%m/%Y}"

    @property
    def label_en(self) -> str:
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"Week {week}/{year} ({self.start:%d/%m}–{self.end:%d/%m/%Y})"
        if self.kind == "month":
            return f"{self.start:%B %Y}"
        if self.kind == "quarter":
            return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"
        if self.kind == "year":
            return f"Year {self.start.year}"
        return self.label_vi

    @property
    def slug(self) -> str:
        """A file-name-safe name, e.g. ``2026-11`` or ``2026-11-01_2026-11-15``."""
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "year":
            return f"{self.start:%Y}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start.isoformat()}_{self.end.isoformat()}"

    def shift(self, steps: int) -> Period:
        """The period ``steps`` periods later (earlier when negative), of the same kind."""
        if self.kind == "custom":
            span = (self.end - self.start).days + 1
            return custom(
                self.start + timedelta(days=span * steps), self.end + timedelta(days=span * steps)
            )
        if self.kind == "week":
            return period_of("week", self.start + timedelta(weeks=steps))
        months = {"month": 1, "quarter": 3, "year": 12}[self.kind] * steps
        index = self.start.year * 12 + self.start.month - 1 + months
        return period_of(self.kind, date(index // 12, index % 12 + 1, 1))


def period_of(kind: PeriodKind, day: date) -> Period:
    """The week, month, quarter or year that contains ``day``."""
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        return Period("week", start, start + timedelta(days=6))
    if kind == "month":
        start = day.replace(day=1)
    elif kind == "quarter":
        start = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    elif kind == "year":
        start = date(day.year, 1, 1)
    else:
        raise ValueError(f"period_of needs week, month, quarter or year, not {kind!r}")
    months = {"month": 1, "quarter": 3, "year": 12}[kind]
    index = start.year * 12 + start.month - 1 + months
    following = date(index // 12, index % 12 + 1, 1)
    return Period(kind, start, following - timedelta(days=1))


def custom(start: date, end: date) -> Period:
    """A custom range of days; refused when reversed or longer than three years."""
    if end < start:
        raise ValidationError(
            [
                FieldProblem(
                    "end",
                    "before_start",
                    "Ngày kết thúc trước ngày bắt đầu.",
                    "The end is before the start.",
                )
            ]
        )
    if (end - start).days >= MAX_CUSTOM_DAYS:
        raise ValidationError(
            [
                FieldProblem(
                    "end",
                    "too_long",
                    "Khoảng thời gian quá dài (tối đa 3 năm).",
                    "At most three years.",
                )
            ]
        )
    return Period("custom", start, end)


def today_vn(now: datetime) -> date:
    return now.astimezone(VN_TZ).date()
