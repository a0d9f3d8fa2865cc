"""The working-day calendar: holidays, overrides, the 15:00 rule, deadlines, pauses."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.calendar import (
    CLOSE,
    OFFICE_SESSIONS,
    VN_TZ,
    CalendarOverrides,
    WorkingCalendar,
    classify,
    due_at,
    due_in_working_hours,
    effective_start,
    extend_for_pause,
    extend_for_pause_hours,
    working_days_elapsed,
    working_hours_between,
)
from common.calendar_data import SAMPLE_OVERRIDES, SAMPLE_OVERRIDES_2026, SAMPLE_OVERRIDES_2027
from common.errors import CalendarError

PLAIN = WorkingCalendar()
SAMPLE = WorkingCalendar(SAMPLE_OVERRIDES)


def vn(y: int, m: int, d: int, hh: int = 9, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=VN_TZ)


def close(y: int, m: int, d: int) -> datetime:
    return datetime.combine(date(y, m, d), CLOSE, tzinfo=VN_TZ)


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(n) for n in range((end - start).days + 1)]


# --- what the holidays package gives ----------------------------------------------------------


@pytest.mark.parametrize("cal", [PLAIN, SAMPLE], ids=["package", "sample"])
def test_tet_2026_is_the_announced_nine_day_break(cal: WorkingCalendar) -> None:
    # Officially off Saturday 14 to Sunday 22 February 2026.
    assert cal.is_working_day(date(2026, 2, 13))
    assert not any(cal.is_working_day(d) for d in days(date(2026, 2, 14), date(2026, 2, 22)))
    assert cal.is_working_day(date(2026, 2, 23))


def test_tet_2027_package_rule() -> None:
    # Lunar New Year Saturday 6 Feb 2027: off Thursday 4 to Wednesday 10 February.
    assert PLAIN.is_working_day(date(2027, 2, 3))
    assert not any(PLAIN.is_working_day(d) for d in days(date(2027, 2, 4), date(2027, 2, 10)))
    assert PLAIN.is_working_day(date(2027, 2, 11))


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 1),
        date(2026, 4, 27),  # Hùng Kings (Sunday 26 April), observed Monday
        date(2026, 4, 30),
        date(2026, 5, 1),
        date(2026, 8, 31),  # swapped with Saturday 22 August
        date(2026, 9, 1),
        date(2026, 9, 2),
        date(2027, 1, 1),
        date(2027, 4, 16),  # Hùng Kings, Friday
        date(2027, 4, 30),
        date(2027, 5, 3),  # 1 May on a Saturday, observed Monday
        date(2027, 9, 2),
        date(2027, 9, 3),
    ],
)
def test_public_holidays_are_not_working_days(day: date) -> None:
    assert day.weekday() < 5
    assert not PLAIN.is_working_day(day)
    assert not SAMPLE.is_working_day(day)


def test_swapped_saturday_2026_is_a_working_day() -> None:
    assert PLAIN.is_working_day(date(2026, 8, 22))
    assert SAMPLE.is_working_day(date(2026, 8, 22))
    assert not SAMPLE.is_working_day(date(2026, 8, 29))  # an ordinary Saturday


def test_sample_data_is_consistent() -> None:
    merged = SAMPLE_OVERRIDES_2026.merge(SAMPLE_OVERRIDES_2027)
    assert merged == SAMPLE_OVERRIDES
    for d in SAMPLE_OVERRIDES.working_days:
        assert d.weekday() >= 5  # the working day of a swap is a weekend day
    for d in SAMPLE_OVERRIDES.days_off:
        assert d.weekday() < 5


# --- overrides ---------------------------------------------------------------------------


def test_override_extra_day_off_and_swapped_saturday() -> None:
    # Hypothetical (not announced): Thursday 11 Feb 2027 off, made up on Saturday 20 Feb.
    bridge = CalendarOverrides(
        days_off=frozenset({date(2027, 2, 11)}), working_days=frozenset({date(2027, 2, 20)})
    )
    cal = WorkingCalendar(bridge)
    assert PLAIN.is_working_day(date(2027, 2, 11)) and not cal.is_working_day(date(2027, 2, 11))
    assert not PLAIN.is_working_day(date(2027, 2, 20)) and cal.is_working_day(date(2027, 2, 20))
    # A 1-day procedure received Wednesday 3 Feb 2027 at 10:00.
    assert due_at(PLAIN, vn(2027, 2, 3, 10), 1) == close(2027, 2, 11)
    assert due_at(cal, vn(2027, 2, 3, 10), 1) == close(2027, 2, 12)
    # 6 days from Friday 12 Feb: the swapped Saturday counts.
    assert due_at(PLAIN, vn(2027, 2, 12, 10), 6) == close(2027, 2, 22)
    assert due_at(cal, vn(2027, 2, 12, 10), 6) == close(2027, 2, 20)


def test_override_working_day_cancels_a_package_holiday() -> None:
    cal = WorkingCalendar(CalendarOverrides(working_days=frozenset({date(2026, 11, 24)})))
    assert not PLAIN.is_working_day(date(2026, 11, 24))
    assert cal.is_working_day(date(2026, 11, 24))


def test_override_conflict_refused() -> None:
    with pytest.raises(CalendarError):
        CalendarOverrides(frozenset({date(2026, 3, 2)}), frozenset({date(2026, 3, 2)}))
    a = CalendarOverrides(days_off=frozenset({date(2026, 3, 2)}))
    b = CalendarOverrides(working_days=frozenset({date(2026, 3, 2)}))
    with pytest.raises(CalendarError):
        a.merge(b)


def test_override_dict_round_trip() -> None:
    o = CalendarOverrides(
        days_off=frozenset({date(2026, 8, 31), date(2026, 1, 2)}),
        working_days=frozenset({date(2026, 8, 22)}),
    )
    data = o.to_dict()
    assert data == {"days_off": ["2026-01-02", "2026-08-31"], "working_days": ["2026-08-22"]}
    assert CalendarOverrides.from_dict(data) == o
    assert CalendarOverrides.from_dict({}) == CalendarOverrides()


@pytest.mark.parametrize(
    "data",
    [
        {"days_off": ["20260831"]},
        {"days_off": ["2026-02-30"]},
        {"days_off": "2026-08-31"},
        {"days_off": [20260831]},
        {"days_off": ["2026-08-31", "2026-08-31"]},
        {"holidays": ["2026-08-31"]},
        {"days_off": ["2026-08-22"], "working_days": ["2026-08-22"]},
    ],
)
def test_override_from_dict_refuses_bad_data(data: dict[str, object]) -> None:
    with pytest.raises(CalendarError):
        CalendarOverrides.from_dict(data)


def test_override_refuses_datetimes() -> None:
    with pytest.raises(CalendarError):
        CalendarOverrides(days_off=frozenset({vn(2026, 3, 2)}))


def test_bounded_years() -> None:
    cal = WorkingCalendar(years=range(2026, 2028))
    assert cal.is_working_day(date(2027, 12, 31))
    with pytest.raises(CalendarError):
        cal.is_working_day(date(2028, 1, 3))
    with pytest.raises(CalendarError):
        WorkingCalendar(years=range(2026, 2026))
    with pytest.raises(CalendarError):
        PLAIN.is_working_day(date(2150, 1, 1))


def test_date_functions_refuse_datetimes() -> None:
    with pytest.raises(CalendarError):
        PLAIN.is_working_day(vn(2026, 2, 17))


# --- the 15:00 rule and deadlines ----------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "start", "due"),
    [
        (vn(2026, 3, 2, 14, 59, 59), date(2026, 3, 2), close(2026, 3, 3)),  # Monday
        (vn(2026, 3, 2, 15, 0, 0), date(2026, 3, 3), close(2026, 3, 4)),
        (vn(2026, 3, 2, 16, 0), date(2026, 3, 3), close(2026, 3, 4)),
        (vn(2026, 3, 2, 6, 30), date(2026, 3, 2), close(2026, 3, 3)),  # online, before opening
        (vn(2026, 3, 7, 10, 0), date(2026, 3, 9), close(2026, 3, 10)),  # Saturday
        (vn(2026, 3, 8, 20, 0), date(2026, 3, 9), close(2026, 3, 10)),  # Sunday
        (vn(2026, 3, 6, 16, 0), date(2026, 3, 9), close(2026, 3, 10)),  # Friday after 15:00
    ],
)
def test_fifteen_hundred_rule(received: datetime, start: date, due: datetime) -> None:
    assert effective_start(PLAIN, received) == start
    assert due_at(PLAIN, received, 1) == due


def test_other_time_zones_are_converted() -> None:
    # 07:59 UTC is 14:59 in Vietnam; 08:00 UTC is 15:00.
    assert effective_start(PLAIN, datetime(2026, 3, 2, 7, 59, tzinfo=UTC)) == date(2026, 3, 2)
    assert effective_start(PLAIN, datetime(2026, 3, 2, 8, 0, tzinfo=UTC)) == date(2026, 3, 3)
    # Sunday 20:00 UTC is Monday 03:00 in Vietnam.
    assert effective_start(PLAIN, datetime(2026, 3, 1, 20, 0, tzinfo=UTC)) == date(2026, 3, 2)
    due = due_at(PLAIN, datetime(2026, 3, 2, 1, 0, tzinfo=UTC), 2)
    assert due.utcoffset() == timedelta(hours=7) and due == close(2026, 3, 4)


def test_same_day_procedure() -> None:
    assert due_at(PLAIN, vn(2026, 3, 2, 10), 0) == close(2026, 3, 2)
    assert due_at(PLAIN, vn(2026, 3, 2, 16), 0) == close(2026, 3, 3)
    assert due_at(PLAIN, vn(2026, 2, 16, 10), 0) == close(2026, 2, 23)  # received during Tết


def test_negative_limit_refused() -> None:
    with pytest.raises(CalendarError):
        due_at(PLAIN, vn(2026, 3, 2), -1)


@pytest.mark.parametrize("cal", [PLAIN, SAMPLE], ids=["package", "sample"])
@pytest.mark.parametrize(
    ("received", "limit", "due"),
    [
        (vn(2026, 2, 13, 10), 1, close(2026, 2, 23)),  # Friday before Tết 2026
        (vn(2026, 2, 13, 16), 1, close(2026, 2, 24)),
        (vn(2026, 2, 12, 9), 5, close(2026, 2, 26)),
        (vn(2026, 2, 17, 9), 1, close(2026, 2, 24)),  # received on Tết day (online)
        (vn(2027, 2, 3, 10), 1, close(2027, 2, 11)),  # Wednesday before Tết 2027
        (vn(2027, 2, 3, 10), 3, close(2027, 2, 15)),
        (vn(2026, 4, 24, 10), 1, close(2026, 4, 28)),  # Hùng Kings 2026 (observed Monday)
        (vn(2027, 4, 15, 10), 1, close(2027, 4, 19)),  # Hùng Kings 2027 (Friday)
        (vn(2026, 4, 29, 10), 1, close(2026, 5, 4)),  # 30/4–1/5 2026
        (vn(2027, 4, 29, 10), 1, close(2027, 5, 4)),  # 30/4, and 1/5 observed on 3/5
        (vn(2026, 8, 21, 10), 1, close(2026, 8, 22)),  # the swapped Saturday
        (vn(2026, 8, 28, 10), 1, close(2026, 9, 3)),  # National Day 2026
        (vn(2027, 9, 1, 10), 1, close(2027, 9, 6)),  # National Day 2027
        (vn(2026, 11, 23, 10), 1, close(2026, 11, 25)),  # 24/11 Vietnam Culture Day
    ],
)
def test_due_dates_across_holidays(
    cal: WorkingCalendar, received: datetime, limit: int, due: datetime
) -> None:
    assert due_at(cal, received, limit) == due


def test_sample_overrides_matter_if_the_package_lacks_the_swap() -> None:
    # As if the package did not know the 2026 National Day swap: the overrides carry it.
    undo = CalendarOverrides(
        days_off=frozenset({date(2026, 8, 22)}), working_days=frozenset({date(2026, 8, 31)})
    )
    without = WorkingCalendar(undo)
    assert due_at(without, vn(2026, 8, 21, 10), 1) == close(2026, 8, 24)
    restored = WorkingCalendar(SAMPLE_OVERRIDES_2026)
    assert due_at(restored, vn(2026, 8, 21, 10), 1) == close(2026, 8, 22)


# --- naive datetimes ------------------------------------------------------------------------


def test_naive_datetimes_refused() -> None:
    naive = datetime(2026, 3, 2, 9, 0)
    aware = vn(2026, 3, 2, 9)
    with pytest.raises(CalendarError):
        effective_start(PLAIN, naive)
    with pytest.raises(CalendarError):
        due_at(PLAIN, naive, 1)
    with pytest.raises(CalendarError):
        extend_for_pause(PLAIN, close(2026, 3, 6), naive, aware)
    with pytest.raises(CalendarError):
        extend_for_pause(PLAIN, naive, aware, aware)
    with pytest.raises(CalendarError):
        classify(naive, aware)
    with pytest.raises(CalendarError):
        working_days_elapsed(PLAIN, aware, naive)


# --- supplement pauses ----------------------------------------------------------------------


def test_pause_moves_the_deadline_by_working_days() -> None:
    due = close(2026, 3, 13)  # Friday
    # Requested Tuesday, supplied Thursday: +2 working days.
    assert extend_for_pause(PLAIN, due, vn(2026, 3, 3, 10), vn(2026, 3, 5, 9)) == close(2026, 3, 17)
    # Same day: nothing.
    assert extend_for_pause(PLAIN, due, vn(2026, 3, 3, 10), vn(2026, 3, 3, 16)) == due
    # Friday to Monday: +1.
    assert extend_for_pause(PLAIN, due, vn(2026, 3, 6, 10), vn(2026, 3, 9, 9)) == close(2026, 3, 16)
    # Across Tết 2026: requested Friday 13 Feb, supplied Monday 23 Feb: +1.
    assert extend_for_pause(PLAIN, due, vn(2026, 2, 13), vn(2026, 2, 23)) == close(2026, 3, 16)


def test_pause_backwards_refused() -> None:
    with pytest.raises(CalendarError):
        extend_for_pause(PLAIN, close(2026, 3, 13), vn(2026, 3, 5), vn(2026, 3, 3))


# --- early / on time / late ----------------------------------------------------------------


def test_classify() -> None:
    deadline = close(2026, 3, 4)
    assert classify(vn(2026, 3, 3, 16), deadline) == "early"
    assert classify(vn(2026, 3, 4, 8), deadline) == "on_time"
    assert classify(vn(2026, 3, 4, 17), deadline) == "on_time"
    assert classify(vn(2026, 3, 4, 17, 0, 1), deadline) == "late"
    assert classify(vn(2026, 3, 5, 8), deadline) == "late"
    # 23:30 UTC on 3 March is 06:30 on 4 March in Vietnam: the deadline's date.
    assert classify(datetime(2026, 3, 3, 23, 30, tzinfo=UTC), deadline) == "on_time"


def test_working_days_elapsed() -> None:
    start = vn(2026, 3, 2, 10)  # Monday
    assert working_days_elapsed(PLAIN, start, vn(2026, 3, 2, 16)) == 0
    assert working_days_elapsed(PLAIN, start, vn(2026, 3, 3, 11)) == 1
    assert working_days_elapsed(PLAIN, start, vn(2026, 3, 9, 11)) == 5
    pause = [(vn(2026, 3, 3, 10), vn(2026, 3, 5, 9))]
    assert working_days_elapsed(PLAIN, start, vn(2026, 3, 9, 11), pause) == 3
    # Received after 15:00 and finished that evening: 0, not -1.
    assert working_days_elapsed(PLAIN, vn(2026, 3, 2, 16), vn(2026, 3, 2, 18)) == 0
    with pytest.raises(CalendarError):
        overlapping = [(vn(2026, 3, 3), vn(2026, 3, 5)), (vn(2026, 3, 4), vn(2026, 3, 6))]
        working_days_elapsed(PLAIN, start, vn(2026, 3, 9), overlapping)


# --- properties -------------------------------------------------------------------------------

DATES = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 10, 31))
TIMES = st.times()
RECEIPTS = st.builds(lambda d, t: datetime.combine(d, t, tzinfo=VN_TZ), DATES, TIMES)
LIMITS = st.integers(min_value=0, max_value=40)
CALENDARS = st.sampled_from([PLAIN, SAMPLE])


@settings(max_examples=150, deadline=None)
@given(CALENDARS, DATES, st.integers(min_value=1, max_value=40))
def test_add_working_days_lands_on_working_days_in_order(
    cal: WorkingCalendar, d: date, n: int
) -> None:
    result = cal.add_working_days(d, n)
    assert cal.is_working_day(result)
    assert result > cal.add_working_days(d, n - 1)
    assert cal.working_days_between(d, result) == n
    assert cal.add_working_days(result, -n) <= d


@settings(max_examples=100, deadline=None)
@given(CALENDARS, RECEIPTS, st.timedeltas(min_value=timedelta(0), max_value=timedelta(10)), LIMITS)
def test_due_at_is_monotone_in_receipt(
    cal: WorkingCalendar, received: datetime, later: timedelta, limit: int
) -> None:
    assert due_at(cal, received, limit) <= due_at(cal, received + later, limit)


@settings(max_examples=100, deadline=None)
@given(CALENDARS, RECEIPTS, LIMITS, st.integers(min_value=0, max_value=10))
def test_due_at_is_monotone_in_limit_and_at_close_on_working_days(
    cal: WorkingCalendar, received: datetime, limit: int, more: int
) -> None:
    due = due_at(cal, received, limit)
    assert due.tzinfo == VN_TZ and due.timetz() == time(17, 0, tzinfo=VN_TZ)
    assert cal.is_working_day(due.date())
    assert due > received
    if more:
        assert due_at(cal, received, limit + more) > due


@settings(max_examples=100, deadline=None)
@given(CALENDARS, RECEIPTS)
def test_effective_start_is_a_working_day_not_before_receipt(
    cal: WorkingCalendar, received: datetime
) -> None:
    start = effective_start(cal, received)
    assert cal.is_working_day(start)
    assert start >= received.date()


@settings(max_examples=100, deadline=None)
@given(
    CALENDARS,
    RECEIPTS,
    LIMITS,
    st.lists(st.timedeltas(min_value=timedelta(0), max_value=timedelta(12)), max_size=3),
)
def test_pause_extension_is_non_negative_and_additive(
    cal: WorkingCalendar, received: datetime, limit: int, gaps: list[timedelta]
) -> None:
    due = due_at(cal, received, limit)
    points = [received]
    for gap in gaps:
        points.append(points[-1] + gap)
    stepwise = due
    for a, b in pairwise(points):
        extended = extend_for_pause(cal, stepwise, a, b)
        assert extended >= stepwise
        stepwise = extended
    assert stepwise == extend_for_pause(cal, due, points[0], points[-1])


# --- limits in working hours ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "hours", "due"),
    [
        (vn(2026, 3, 2, 7, 30), 4, vn(2026, 3, 2, 11, 30)),  # the morning exactly: due at 11:30
        (vn(2026, 3, 2, 9), 4, vn(2026, 3, 2, 14, 30)),  # 2½ h before lunch, 1½ h after
        (vn(2026, 3, 2, 11), 1, vn(2026, 3, 2, 13, 30)),  # lunch does not count
        (vn(2026, 3, 2, 12), 4, vn(2026, 3, 2, 17)),  # received at lunch: starts at 13:00
        (vn(2026, 3, 2, 6), 1, vn(2026, 3, 2, 8, 30)),  # before opening: starts at 07:30
        (vn(2026, 3, 2, 15, 30), 1, vn(2026, 3, 2, 16, 30)),  # no 15:00 rule for hours
        (vn(2026, 3, 2, 16), 4, vn(2026, 3, 3, 10, 30)),  # over 17:00 into Tuesday
        (vn(2026, 3, 2, 17), 1, vn(2026, 3, 3, 8, 30)),  # at 17:00: next morning
        (vn(2026, 3, 2, 9), 8, vn(2026, 3, 3, 9)),  # one full working day
        (vn(2026, 3, 6, 16), 4, vn(2026, 3, 9, 10, 30)),  # Friday to Monday
        (vn(2026, 3, 7, 10), 2, vn(2026, 3, 9, 9, 30)),  # received Saturday: Monday 07:30 on
        # Wednesday 29 Apr 15:00: 2 h that day; 30 Apr and 1 May are holidays, then the
        # weekend; Monday 4 May 07:30–11:30 and 13:00–15:00 make the other 6.
        (vn(2026, 4, 29, 15), 8, vn(2026, 5, 4, 15)),
    ],
)
def test_due_in_working_hours_by_hand(received: datetime, hours: int, due: datetime) -> None:
    got = due_in_working_hours(PLAIN, received, hours)
    assert got == due and got.tzinfo == VN_TZ


def test_due_in_working_hours_takes_any_zone_and_other_sessions() -> None:
    # 02:00 UTC is 09:00 in Vietnam.
    assert due_in_working_hours(PLAIN, datetime(2026, 3, 2, 2, tzinfo=UTC), 4) == vn(
        2026, 3, 2, 14, 30
    )
    winter = ((time(8), time(12)), (time(13, 30), time(17, 30)))
    assert due_in_working_hours(PLAIN, vn(2026, 3, 2, 11), 2, sessions=winter) == vn(
        2026, 3, 2, 14, 30
    )
    assert OFFICE_SESSIONS[-1][1] == CLOSE


@pytest.mark.parametrize("hours", [0, -1, 1.5, True, "4", None])
def test_due_in_working_hours_refuses_a_limit_that_is_not_whole_positive(hours: object) -> None:
    with pytest.raises(CalendarError, match="working hours"):
        due_in_working_hours(PLAIN, vn(2026, 3, 2), hours)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "sessions",
    [
        (),
        ((time(13), time(17)), (time(7, 30), time(11, 30))),  # out of order
        ((time(7, 30), time(13)), (time(12), time(17))),  # overlapping
        ((time(11), time(9)),),  # ends before it starts
    ],
)
def test_bad_sessions_are_refused(sessions: tuple[tuple[time, time], ...]) -> None:
    with pytest.raises(CalendarError, match="sessions"):
        due_in_working_hours(PLAIN, vn(2026, 3, 2), 1, sessions=sessions)


def test_hours_refuse_a_naive_time() -> None:
    with pytest.raises(CalendarError, match="no time zone"):
        due_in_working_hours(PLAIN, datetime(2026, 3, 2, 9), 4)
    with pytest.raises(CalendarError, match="no time zone"):
        working_hours_between(PLAIN, datetime(2026, 3, 2, 9), vn(2026, 3, 2, 10))


def test_working_hours_between_by_hand() -> None:
    assert working_hours_between(PLAIN, vn(2026, 3, 2, 10, 30), vn(2026, 3, 2, 14)) == 2
    assert working_hours_between(PLAIN, vn(2026, 3, 6, 16), vn(2026, 3, 9, 8)) == Fraction(3, 2)
    assert working_hours_between(PLAIN, vn(2026, 3, 2, 12), vn(2026, 3, 2, 12, 45)) == 0
    assert working_hours_between(PLAIN, vn(2026, 3, 2, 14), vn(2026, 3, 2, 10, 30)) == -2
    assert working_hours_between(PLAIN, vn(2026, 4, 29, 7), vn(2026, 5, 4, 7)) == 8  # holidays


def test_pause_moves_an_hour_deadline_by_the_working_hours_it_covered() -> None:
    due = due_in_working_hours(PLAIN, vn(2026, 3, 2, 9), 4)  # Monday 14:30
    # Requested 10:00, supplied 13:30: 1½ h before lunch and ½ h after.
    assert extend_for_pause_hours(PLAIN, due, vn(2026, 3, 2, 10), vn(2026, 3, 2, 13, 30)) == vn(
        2026, 3, 2, 16, 30
    )
    # A pause over lunch only covers no working time.
    assert extend_for_pause_hours(PLAIN, due, vn(2026, 3, 2, 11, 30), vn(2026, 3, 2, 13)) == due
    # Requested Monday 16:00, supplied Tuesday 09:30: 1 h + 2 h = 3 h. From the 14:30 deadline
    # that is 2½ h to 17:00 and ½ h on Tuesday morning: 08:00.
    assert extend_for_pause_hours(PLAIN, due, vn(2026, 3, 2, 16), vn(2026, 3, 3, 9, 30)) == vn(
        2026, 3, 3, 8
    )
    with pytest.raises(CalendarError, match="before it was requested"):
        extend_for_pause_hours(PLAIN, due, vn(2026, 3, 3), vn(2026, 3, 2))


def _in_session(cal: WorkingCalendar, moment: datetime) -> bool:
    local = moment.astimezone(VN_TZ)
    if not cal.is_working_day(local.date()):
        return False
    return any(a < local.time() <= b for a, b in OFFICE_SESSIONS)


HOURS = st.integers(min_value=1, max_value=60)
SESSION_STARTS = st.builds(
    lambda d, session, offset: (
        datetime.combine(d, session[0], tzinfo=VN_TZ) + timedelta(seconds=offset)
    ),
    DATES,
    st.sampled_from(OFFICE_SESSIONS),
    st.integers(min_value=0, max_value=4 * 3600 - 1),
)


@settings(max_examples=150, deadline=None)
@given(CALENDARS, RECEIPTS, HOURS)
def test_hour_deadline_is_inside_a_session_of_a_working_day(
    cal: WorkingCalendar, received: datetime, hours: int
) -> None:
    due = due_in_working_hours(cal, received, hours)
    assert due.tzinfo == VN_TZ
    assert due > received
    assert _in_session(cal, due)


@settings(max_examples=150, deadline=None)
@given(CALENDARS, RECEIPTS, HOURS, HOURS)
def test_hours_add_up_and_more_hours_never_come_earlier(
    cal: WorkingCalendar, received: datetime, h1: int, h2: int
) -> None:
    first = due_in_working_hours(cal, received, h1)
    both = due_in_working_hours(cal, received, h1 + h2)
    assert due_in_working_hours(cal, first, h2) == both
    assert both > first


@settings(max_examples=150, deadline=None)
@given(CALENDARS, st.one_of(SESSION_STARTS, RECEIPTS), HOURS)
def test_working_hours_between_undoes_due_in_working_hours(
    cal: WorkingCalendar, start: datetime, hours: int
) -> None:
    assert working_hours_between(cal, start, due_in_working_hours(cal, start, hours)) == hours


@settings(max_examples=100, deadline=None)
@given(
    CALENDARS,
    RECEIPTS,
    HOURS,
    st.lists(st.timedeltas(min_value=timedelta(0), max_value=timedelta(5)), max_size=3),
)
def test_hour_pause_never_earlier_and_consecutive_pauses_equal_one(
    cal: WorkingCalendar, received: datetime, hours: int, gaps: list[timedelta]
) -> None:
    due = due_in_working_hours(cal, received, hours)
    points = [received]
    for gap in gaps:
        points.append(points[-1] + gap)
    stepwise = due
    for a, b in pairwise(points):
        extended = extend_for_pause_hours(cal, stepwise, a, b)
        assert extended >= stepwise
        stepwise = extended
    assert stepwise == extend_for_pause_hours(cal, due, points[0], points[-1])
    covered = working_hours_between(cal, points[0], points[-1])
    assert working_hours_between(cal, due, stepwise) == covered
