"""The working-day calendar: appointment deadlines, the 15:00 rule, supplement pauses.

Legal processing limits are counted in *working days* (BRIEF §4; Decree 118/2025/NĐ-CP,
Decision 766/QĐ-TTg indicator 2.1). A day is a working day when

1. it is an official working day published in the overrides (a Saturday made a working day
   in a swap, or a public holiday the government cancelled) — always a working day; else
2. it is an official extra day off published in the overrides — never a working day; else
3. it is a Saturday that the ``holidays`` package knows as a swapped working day — working; else
4. it is a public holiday in ``holidays.country_holidays("VN")`` — not working; else
5. it is Monday to Friday.

What ``holidays`` (0.109) gives for Vietnam, checked by hand for the years this system
starts in (each date is a day off for state agencies):

* 2026: 1 Jan; Tết Bính Ngọ 16–20 Feb (29 Chạp/giao thừa to mùng 4, Mon–Fri; with the
  weekends this is the officially announced 9-day break 14–22 Feb, so no override is
  needed); Hùng Kings 26 Apr (Sunday) observed Mon 27 Apr; 30 Apr; 1 May; 31 Aug (swapped
  with Saturday 22 Aug, which the package lists as a working day); 1–2 Sep; 24 Nov (Vietnam
  Culture Day, Resolution 80-NQ/TW — see ``common.calendar_data`` on how sure that is).
* 2027: 1 Jan; Tết Đinh Mùi 4–10 Feb (29 Chạp to mùng 5: the five statutory days, with
  Sat 6 and Sun 7 compensated by Thu 4 and Wed 10 — the package's *rule*, not an announced
  plan); Hùng Kings Fri 16 Apr; 30 Apr; 1 May (Saturday) observed Mon 3 May; 2–3 Sep; 24 Nov.

Anything else the government announces (bridge days, swapped Saturdays) is data, not code:
the hub publishes it as :class:`CalendarOverrides` (``common.calendar_data`` holds samples).

Time is Vietnam time, a fixed UTC+7 with no daylight saving. Every function that takes a
datetime wants an aware one (any zone; it is converted) and refuses a naive one, because a
naive time on a laptop in another zone would silently shift a deadline.

Some procedures are limited in *working hours* ("4 giờ làm việc", "0,5 ngày"), not days
(BRIEF §"People and data"). Working time is the time inside the office sessions
(:data:`OFFICE_SESSIONS`, morning and afternoon) of working days; :func:`due_in_working_hours`,
:func:`working_hours_between` and :func:`extend_for_pause_hours` count it.

This module does no I/O and never reads the clock: the caller passes every instant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from fractions import Fraction
from typing import Any, Literal

import holidays

from common.errors import CalendarError

VN_TZ = timezone(timedelta(hours=7))
CUTOFF = time(15, 0)  # a dossier received at or after 15:00 goes to the next working day
CLOSE = time(17, 0)  # deadlines fall at the close of the office day
# The office sessions of a working day, Vietnam time: morning 07:30–11:30, afternoon 13:00–17:00.
# Assumption, not statute: the 8-hour day of the 40-hour week (Decision 188/1999/QĐ-TTg) is
# split into sessions by each province's People's Committee, and the common split for commune
# one-stop desks is this one (the afternoon ends at CLOSE, where day deadlines fall). A province
# with other hours (summer and winter hours in the north) passes its own ``sessions``.
OFFICE_SESSIONS: tuple[tuple[time, time], ...] = (
    (time(7, 30), time(11, 30)),
    (time(13, 0), time(17, 0)),
)
# Years the ``holidays`` package computes the Vietnamese lunar holidays for (it returns an empty
# list past 2100 instead of failing, so the calendar refuses those years itself).
SUPPORTED_YEARS = range(1995, 2100)

Timeliness = Literal["early", "on_time", "late"]
_ONE_DAY = timedelta(days=1)


def _check_date(value: object, what: str = "date") -> date:
    # datetime is a subclass of date but never equal to one: it would miss every holiday.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise CalendarError(
            f"{what} must be a date (not a datetime), got {value!r}",
            vi=f"{what} phải là một ngày (date), không phải {value!r}.",
        )
    return value


def to_vn(value: datetime) -> datetime:
    """``value`` in Vietnam time; a naive datetime is refused with :class:`CalendarError`."""
    if not isinstance(value, datetime):
        raise CalendarError(
            f"expected a datetime, got {value!r}", vi=f"Cần một thời điểm, nhận được {value!r}."
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise CalendarError(
            f"the time {value.isoformat()} has no time zone",
            vi=f"Thời điểm {value.isoformat()} không có múi giờ.",
        )
    return value.astimezone(VN_TZ)


@dataclass(frozen=True)
class CalendarOverrides:
    """Official changes to the calendar that the hub publishes per year.

    ``days_off``: extra days off (compensatory days, a bridge day in a swap).
    ``working_days``: days made working days (the Saturday of a swap; a cancelled holiday).
    A date cannot be in both. Both win over the ``holidays`` package.
    """

    days_off: frozenset[date] = field(default_factory=frozenset)
    working_days: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        for name in ("days_off", "working_days"):
            raw: Iterable[object] = getattr(self, name)
            if isinstance(raw, str | bytes) or not isinstance(raw, Iterable):
                raise CalendarError(f"{name} must be a set of dates, got {raw!r}")
            value = frozenset(_check_date(d, name) for d in raw)
            object.__setattr__(self, name, value)
        both = self.days_off & self.working_days
        if both:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise CalendarError(
                f"a date cannot be both a day off and a working day: {listed}",
                vi=f"Một ngày không thể vừa là ngày nghỉ vừa là ngày làm việc: {listed}.",
            )

    def to_dict(self) -> dict[str, list[str]]:
        """``{"days_off": [...], "working_days": [...]}``, ISO dates, sorted."""
        return {
            "days_off": sorted(d.isoformat() for d in self.days_off),
            "working_days": sorted(d.isoformat() for d in self.working_days),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CalendarOverrides:
        """Read :meth:`to_dict` output. Missing keys mean empty; unknown keys, dates not in
        ``YYYY-MM-DD`` form, and a date listed twice are refused with :class:`CalendarError`."""
        if not isinstance(data, Mapping):
            raise CalendarError(f"calendar overrides must be an object, got {data!r}")
        unknown = sorted(set(data) - {"days_off", "working_days"})
        if unknown:
            raise CalendarError(
                f"unknown keys in calendar overrides: {', '.join(map(str, unknown))}",
                vi=f"Khóa không hợp lệ trong lịch điều chỉnh: {', '.join(map(str, unknown))}.",
            )
        parsed: dict[str, frozenset[date]] = {}
        for name in ("days_off", "working_days"):
            items = data.get(name, [])
            if not isinstance(items, list):
                raise CalendarError(f"{name} must be a list of ISO dates, got {items!r}")
            days = [_parse_iso_date(item, name) for item in items]
            if len(set(days)) != len(days):
                raise CalendarError(
                    f"{name} lists a date twice", vi=f"{name} có một ngày bị lặp lại."
                )
            parsed[name] = frozenset(days)
        return cls(parsed["days_off"], parsed["working_days"])

    def merge(self, *others: CalendarOverrides) -> CalendarOverrides:
        """The union of these overrides; a date that ends up in both sets is refused."""
        days_off = set(self.days_off)
        working = set(self.working_days)
        for other in others:
            days_off |= other.days_off
            working |= other.working_days
        return CalendarOverrides(frozenset(days_off), frozenset(working))


def _parse_iso_date(item: object, name: str) -> date:
    # date.fromisoformat also takes "20260822" and week dates; the published form is one only.
    if not (
        isinstance(item, str)
        and len(item) == 10
        and item[4] == item[7] == "-"
        and (item[:4] + item[5:7] + item[8:]).isdigit()
        and item.isascii()
    ):
        raise CalendarError(
            f"{name}: {item!r} is not a date in YYYY-MM-DD form",
            vi=f"{name}: {item!r} không phải là ngày dạng YYYY-MM-DD.",
        )
    try:
        return date.fromisoformat(item)
    except ValueError as exc:
        raise CalendarError(
            f"{name}: {item!r} is not a real date", vi=f"{name}: {item!r} không phải ngày có thật."
        ) from exc


EMPTY_OVERRIDES = CalendarOverrides()


@dataclass(frozen=True)
class _Year:
    off: frozenset[date]  # days that are not working days although Monday–Friday
    on: frozenset[date]  # days that are working days although Saturday or Sunday


class WorkingCalendar:
    """Vietnam's working days: Monday–Friday minus public holidays, plus the overrides.

    ``years`` (optional) bounds the calendar: those years are computed up front and any date
    outside them is refused, so a deployment can say "we know 2026–2027 only". Without it,
    each year is computed on first use and cached (the calendar is queried very often).
    """

    def __init__(
        self, overrides: CalendarOverrides = EMPTY_OVERRIDES, *, years: range | None = None
    ) -> None:
        if not isinstance(overrides, CalendarOverrides):
            raise CalendarError(f"overrides must be CalendarOverrides, got {overrides!r}")
        if years is not None and (
            len(years) == 0 or years.step != 1 or not set(years) <= set(SUPPORTED_YEARS)
        ):
            raise CalendarError(
                f"years must be a non-empty run of years within {SUPPORTED_YEARS.start}"
                f"–{SUPPORTED_YEARS.stop - 1}, got {years!r}"
            )
        self.overrides = overrides
        self.years = years
        self._cache: dict[int, _Year] = {}
        for year in years or ():
            self._year(year)

    def _year(self, year: int) -> _Year:
        cached = self._cache.get(year)
        if cached is not None:
            return cached
        allowed = self.years if self.years is not None else SUPPORTED_YEARS
        if year not in allowed:
            raise CalendarError(
                f"the working-day calendar has no data for {year}",
                vi=f"Lịch làm việc không có dữ liệu cho năm {year}.",
                year=year,
            )
        # Neighbouring years too: a swap may cross New Year (e.g. 2015's for 27 Dec 2014).
        package = holidays.country_holidays("VN", years=range(year - 1, year + 2))
        public = {d for d in package if d.year == year}
        swapped = {d for d in package.weekend_workdays if d.year == year}
        extra_off = {d for d in self.overrides.days_off if d.year == year}
        extra_on = {d for d in self.overrides.working_days if d.year == year}
        entry = _Year(
            off=frozenset((public | extra_off) - extra_on),
            on=frozenset((swapped | extra_on) - extra_off),
        )
        self._cache[year] = entry
        return entry

    def is_working_day(self, d: date) -> bool:
        """Whether ``d`` is a working day (rules in the module docstring)."""
        _check_date(d)
        entry = self._year(d.year)
        if d in entry.on:
            return True
        return d.weekday() < 5 and d not in entry.off

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        _check_date(d)
        d += _ONE_DAY
        while not self.is_working_day(d):
            d += _ONE_DAY
        return d

    def previous_working_day(self, d: date) -> date:
        """The last working day strictly before ``d``."""
        _check_date(d)
        d -= _ONE_DAY
        while not self.is_working_day(d):
            d -= _ONE_DAY
        return d

    def add_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day after ``d`` (``d`` itself is day 0 and need not be a
        working day). ``n == 0`` returns ``d``; a negative ``n`` counts back before ``d``."""
        _check_date(d)
        step = self.next_working_day if n >= 0 else self.previous_working_day
        for _ in range(abs(n)):
            d = step(d)
        return d

    def working_days_between(self, a: date, b: date) -> int:
        """How many working days ``d`` have ``a < d <= b``; negative when ``b < a``."""
        _check_date(a)
        _check_date(b)
        if b < a:
            return -self.working_days_between(b, a)
        count = 0
        d = a + _ONE_DAY
        while d <= b:
            if self.is_working_day(d):
                count += 1
            d += _ONE_DAY
        return count


def effective_start(calendar: WorkingCalendar, received_at: datetime) -> date:
    """The working day the clock starts on (BRIEF §4: "a dossier received after 15:00 goes at
    the start of the next working day").

    The receipt date itself if it is a working day and the receipt time (Vietnam time) is
    before 15:00; otherwise the next working day. Exactly 15:00:00 counts as after: the
    cut-off is the instant 15:00, and a dossier stamped 15:00 is no longer before it.

    The 15:00 rule is for limits in working days only (the brief's workflow, step 2 "Forward
    on the same working day; a dossier received after 15:00 goes at the start of the next
    one"). A limit in working hours has no cut-off: its clock runs from the receipt itself,
    inside office sessions (:func:`due_in_working_hours`).
    """
    local = to_vn(received_at)
    day = local.date()
    if calendar.is_working_day(day) and local.time() < CUTOFF:
        return day
    return calendar.next_working_day(day)


def due_at(calendar: WorkingCalendar, received_at: datetime, limit_days: int) -> datetime:
    """The appointment deadline: 17:00 Vietnam time, ``limit_days`` working days after the
    effective start day S (S counts as day 0).

    A 1-day procedure received Monday 09:00 is due Tuesday 17:00; received Monday 16:00, due
    Wednesday 17:00; received on Saturday, due Tuesday 17:00. ``limit_days == 0`` is "giải
    quyết ngay": due at 17:00 on S itself. A negative limit is refused.
    """
    if isinstance(limit_days, bool) or not isinstance(limit_days, int) or limit_days < 0:
        raise CalendarError(
            f"the processing limit must be a whole number of days >= 0, got {limit_days!r}",
            vi=f"Thời hạn giải quyết phải là số ngày nguyên không âm, nhận được {limit_days!r}.",
        )
    start = effective_start(calendar, received_at)
    return datetime.combine(calendar.add_working_days(start, limit_days), CLOSE, tzinfo=VN_TZ)


def paused_working_days(
    calendar: WorkingCalendar, paused_from: datetime, resumed_at: datetime
) -> int:
    """Working days a supplement pause costs: those in (paused date, resumed date], Vietnam
    dates. Requested and supplied the same day: 0; requested Tuesday, supplied Thursday: 2."""
    start, end = to_vn(paused_from), to_vn(resumed_at)
    if end < start:
        raise CalendarError(
            f"the supplement was received ({end.isoformat()}) before it was requested "
            f"({start.isoformat()})",
            vi=f"Thời điểm nhận bổ sung ({end.isoformat()}) trước thời điểm yêu cầu "
            f"({start.isoformat()}).",
        )
    return calendar.working_days_between(start.date(), end.date())


def extend_for_pause(
    calendar: WorkingCalendar, due: datetime, paused_from: datetime, resumed_at: datetime
) -> datetime:
    """The deadline after a supplement pause: the clock pauses, it does not restart.

    The due date moves later by :func:`paused_working_days` working days, keeping its time of
    day; the result is in Vietnam time. It never moves earlier, and two consecutive pauses
    move it exactly as far as one pause covering both.
    """
    local_due = to_vn(due)
    days = paused_working_days(calendar, paused_from, resumed_at)
    new_day = calendar.add_working_days(local_due.date(), days)
    return datetime.combine(new_day, local_due.timetz())


def _sessions_checked(sessions: Sequence[tuple[time, time]]) -> tuple[tuple[time, time], ...]:
    out = tuple(sessions)
    if not out:
        raise CalendarError("office sessions must not be empty", vi="Chưa có buổi làm việc nào.")
    previous_end: time | None = None
    for pair in out:
        if not (
            isinstance(pair, tuple)
            and len(pair) == 2
            and all(isinstance(t, time) and t.tzinfo is None for t in pair)
            and pair[0] < pair[1]
            and (previous_end is None or previous_end <= pair[0])
        ):
            raise CalendarError(
                f"office sessions must be (start, end) times, in order and apart, got {out!r}",
                vi=f"Các buổi làm việc phải là cặp (bắt đầu, kết thúc) theo thứ tự, không chồng "
                f"lên nhau: {out!r}.",
            )
        previous_end = pair[1]
    return out


def _session_spans(
    calendar: WorkingCalendar, day: date, sessions: tuple[tuple[time, time], ...]
) -> list[tuple[datetime, datetime]]:
    if not calendar.is_working_day(day):
        return []
    return [
        (datetime.combine(day, a, tzinfo=VN_TZ), datetime.combine(day, b, tzinfo=VN_TZ))
        for a, b in sessions
    ]


def add_working_time(
    calendar: WorkingCalendar,
    start: datetime,
    amount: timedelta,
    *,
    sessions: Sequence[tuple[time, time]] = OFFICE_SESSIONS,
) -> datetime:
    """The instant ``amount`` of working time after ``start`` (Vietnam time).

    Only time inside ``sessions`` of working days counts; a ``start`` outside a session counts
    from the next session's opening. The result falls inside a session or at its end (time used
    up at 11:30 gives 11:30, not 13:00). ``amount`` must be positive.
    """
    spans = _sessions_checked(sessions)
    if not isinstance(amount, timedelta) or amount <= timedelta(0):
        raise CalendarError(
            f"working time to add must be positive, got {amount!r}",
            vi=f"Thời gian làm việc cần cộng phải lớn hơn 0, nhận được {amount!r}.",
        )
    cursor = to_vn(start)
    remaining = amount
    day = cursor.date()
    while True:
        for opens, closes in _session_spans(calendar, day, spans):
            if cursor >= closes:
                continue
            begin = max(cursor, opens)
            available = closes - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        day += _ONE_DAY


def working_time_between(
    calendar: WorkingCalendar,
    a: datetime,
    b: datetime,
    *,
    sessions: Sequence[tuple[time, time]] = OFFICE_SESSIONS,
) -> timedelta:
    """The working time in [a, b]: its overlap with ``sessions`` of working days. Negative when
    ``b`` is before ``a``."""
    spans = _sessions_checked(sessions)
    start, end = to_vn(a), to_vn(b)
    if end < start:
        return -working_time_between(calendar, end, start, sessions=spans)
    total = timedelta(0)
    day = start.date()
    while day <= end.date():
        for opens, closes in _session_spans(calendar, day, spans):
            overlap = min(end, closes) - max(start, opens)
            if overlap > timedelta(0):
                total += overlap
        day += _ONE_DAY
    return total


def working_hours_between(
    calendar: WorkingCalendar,
    a: datetime,
    b: datetime,
    *,
    sessions: Sequence[tuple[time, time]] = OFFICE_SESSIONS,
) -> Fraction:
    """:func:`working_time_between` in hours, exactly (a :class:`~fractions.Fraction`, so that
    4 hours compares equal to ``4``). Monday 10:30 to 14:00 is 2 hours (lunch does not count)."""
    spent = working_time_between(calendar, a, b, sessions=sessions)
    return Fraction(spent // timedelta(microseconds=1), 3_600_000_000)


def check_limit_hours(hours: object) -> int:
    """``hours`` if it is a whole number of working hours >= 1, else :class:`CalendarError`."""
    if isinstance(hours, bool) or not isinstance(hours, int) or hours < 1:
        raise CalendarError(
            f"the processing limit must be a whole number of working hours >= 1, got {hours!r}",
            vi=f"Thời hạn giải quyết phải là số giờ làm việc nguyên dương, nhận được {hours!r}.",
        )
    return hours


def due_in_working_hours(
    calendar: WorkingCalendar,
    received_at: datetime,
    hours: int,
    *,
    sessions: Sequence[tuple[time, time]] = OFFICE_SESSIONS,
) -> datetime:
    """The appointment deadline of a limit in working hours: the instant those hours of session
    time on working days are used up, counted from the receipt (no 15:00 rule).

    A 4-hour procedure received Monday 09:00 is due Monday 14:30 (07:30–11:30 and 13:00–17:00
    sessions: 2½ hours before lunch, 1½ after); received Monday 12:00 (lunch), due 17:00;
    received Friday 16:00, due Monday 10:30. In Vietnam time.
    """
    check_limit_hours(hours)
    return add_working_time(calendar, received_at, timedelta(hours=hours), sessions=sessions)


def extend_for_pause_hours(
    calendar: WorkingCalendar,
    due: datetime,
    paused_from: datetime,
    resumed_at: datetime,
    *,
    sessions: Sequence[tuple[time, time]] = OFFICE_SESSIONS,
) -> datetime:
    """The deadline of an hour-limited dossier after a supplement pause: it moves later by the
    working time the pause covered (session time on working days between request and supply).

    A pause covering no session time leaves ``due`` as it was. It never moves the deadline
    earlier, and two consecutive pauses move it exactly as far as one covering both.
    """
    start, end = to_vn(paused_from), to_vn(resumed_at)
    if end < start:
        raise CalendarError(
            f"the supplement was received ({end.isoformat()}) before it was requested "
            f"({start.isoformat()})",
            vi=f"Thời điểm nhận bổ sung ({end.isoformat()}) trước thời điểm yêu cầu "
            f"({start.isoformat()}).",
        )
    covered = working_time_between(calendar, start, end, sessions=sessions)
    if covered == timedelta(0):
        return to_vn(due)
    return add_working_time(calendar, due, covered, sessions=sessions)


def appointment(
    calendar: WorkingCalendar,
    received_at: datetime,
    *,
    limit_days: int | None = None,
    limit_hours: int | None = None,
) -> datetime:
    """The deadline for a procedure's limit, whichever unit it is in: :func:`due_at` for
    ``limit_days`` (15:00 rule, 17:00 deadline), :func:`due_in_working_hours` for
    ``limit_hours``. Exactly one of the two is given."""
    if (limit_days is None) == (limit_hours is None):
        raise CalendarError(
            "give exactly one of limit_days and limit_hours",
            vi="Cần đúng một thời hạn: theo ngày làm việc hoặc theo giờ làm việc.",
        )
    if limit_hours is not None:
        return due_in_working_hours(calendar, received_at, limit_hours)
    assert limit_days is not None
    return due_at(calendar, received_at, limit_days)


def extend_appointment(
    calendar: WorkingCalendar,
    due: datetime,
    paused_from: datetime,
    resumed_at: datetime,
    *,
    in_hours: bool,
) -> datetime:
    """:func:`extend_for_pause_hours` for a limit in working hours, else
    :func:`extend_for_pause` (whole working days)."""
    if in_hours:
        return extend_for_pause_hours(calendar, due, paused_from, resumed_at)
    return extend_for_pause(calendar, due, paused_from, resumed_at)


def classify(end: datetime, deadline: datetime) -> Timeliness:
    """Early / on time / late (trước hạn / đúng hạn / trễ hạn), comparing in Vietnam time.

    ``late``: ``end`` is after the deadline instant. ``early``: ``end`` falls on a date before
    the deadline's date. ``on_time``: on the deadline's date, at or before the deadline. (More
    than one supplement request also makes a dossier late; the indicator code applies that,
    since it is about the dossier's history, not about two instants.)
    """
    end_vn, deadline_vn = to_vn(end), to_vn(deadline)
    if end_vn > deadline_vn:
        return "late"
    if end_vn.date() < deadline_vn.date():
        return "early"
    return "on_time"


def hours_start_day(
    calendar: WorkingCalendar,
    received_at: datetime,
    *,
    sessions: Sequence[tuple[time, time]] = OFFICE_SESSIONS,
) -> date:
    """The working day the clock of an hour limit starts on: the receipt date if it is a
    working day and the receipt is before its last session ends, else the next working day
    (the counterpart of :func:`effective_start`, without the 15:00 rule)."""
    spans = _sessions_checked(sessions)
    local = to_vn(received_at)
    day = local.date()
    if calendar.is_working_day(day) and local.time() < spans[-1][1]:
        return day
    return calendar.next_working_day(day)


def _checked_pauses(
    pauses: Sequence[tuple[datetime, datetime]],
) -> list[tuple[datetime, datetime]]:
    ordered = sorted(pauses, key=lambda pair: to_vn(pair[0]))
    previous_end: datetime | None = None
    for paused_from, resumed_at in ordered:
        if previous_end is not None and to_vn(paused_from) < previous_end:
            raise CalendarError(
                "supplement pauses overlap", vi="Các khoảng tạm dừng chờ bổ sung chồng lên nhau."
            )
        previous_end = to_vn(resumed_at)
    return ordered


def working_hours_elapsed(
    calendar: WorkingCalendar,
    start: datetime,
    end: datetime,
    paused: Sequence[tuple[datetime, datetime]] = (),
) -> Fraction:
    """Working hours an hour-limited dossier took: session time from ``start`` to ``end``,
    minus the session time of each supplement pause (they must not overlap). Never below 0."""
    total = working_hours_between(calendar, start, end)
    for paused_from, resumed_at in _checked_pauses(paused):
        total -= working_hours_between(calendar, paused_from, resumed_at)
    return max(total, Fraction(0))


def working_days_elapsed(
    calendar: WorkingCalendar,
    start: datetime,
    end: datetime,
    paused: Sequence[tuple[datetime, datetime]] = (),
    *,
    in_hours: bool = False,
) -> int:
    """Working days a dossier took: from its effective start day S to the date of ``end``
    (days d with S < d <= end date, so finishing on the due date of an n-day procedure gives
    n), minus the working days of each supplement pause. Never below 0 (a dossier received
    after 15:00 and finished the same evening took 0 days).

    Pauses are ``(requested, supplied)`` pairs; they must not overlap. ``in_hours``: the
    dossier's limit is in working hours, so there is no 15:00 rule and the start day is
    :func:`hours_start_day` (received Monday 16:00, finished Monday 16:45: 0 days).
    """
    first = hours_start_day(calendar, start) if in_hours else effective_start(calendar, start)
    total = calendar.working_days_between(first, to_vn(end).date())
    previous_end: datetime | None = None
    for paused_from, resumed_at in sorted(paused, key=lambda pair: to_vn(pair[0])):
        if previous_end is not None and to_vn(paused_from) < previous_end:
            raise CalendarError(
                "supplement pauses overlap", vi="Các khoảng tạm dừng chờ bổ sung chồng lên nhau."
            )
        total -= paused_working_days(calendar, paused_from, resumed_at)
        previous_end = to_vn(resumed_at)
    return max(total, 0)


def apology_deadline(calendar: WorkingCalendar, due: datetime) -> date:
    """The last day to issue an apology (form 04) in time: the working day before the due
    date — it must reach the citizen at least one working day ahead."""
    return calendar.previous_working_day(due.astimezone(VN_TZ).date())


def apology_timing(calendar: WorkingCalendar, due: datetime, now: datetime) -> str:
    """Where ``now`` stands for an apology against the appointment ``due``: ``"in_time"``
    before the last day, ``"last_day"`` on it (warn: tomorrow it is late), ``"late"`` after
    it — on the due date or once it has passed; a late apology is still issued, marked late
    (its record carries ``late: true``) and counted as such (docs/reports.md)."""
    today = now.astimezone(VN_TZ).date()
    last = apology_deadline(calendar, due)
    if today < last:
        return "in_time"
    return "last_day" if today == last else "late"


def long_vn(when: datetime) -> str:
    """``09 giờ 00 phút, ngày 23/11/2026``: how the printed forms write an instant."""
    return when.astimezone(VN_TZ).strftime("%H giờ %M phút, ngày %d/%m/%Y")
