"""Decision 766 indicators against figures worked out by hand.

Every timeline below is October 2026 in Vietnam time (no weekday holiday that month; weekends
are Sat 3/4, 10/11, 17/18, 24/25, 31 Oct and 1 Nov). Two procedures: ``P3`` (3 working days,
the catalogue calls for an electronic result) and ``P5`` (5 working days, it does not). Each
due date is written by hand in the comment beside it and checked once against
``common.calendar.due_at``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common import indicators, lifecycle
from common.calendar import VN_TZ, WorkingCalendar, due_at, due_in_working_hours
from common.errors import DossierError
from common.indicators import DossierInput, Fact, Verdict
from common.lifecycle import DossierState, Side
from common.periods import Period, custom, period_of

CAL = WorkingCalendar()
LIMITS = {"P3": 3, "P5": 5}
ELECTRONIC = {"P3": True, "P5": False}
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=VN_TZ)  # Monday after the period
OCTOBER = period_of("month", date(2026, 10, 1))


def at(day: int, hh: int = 9, mm: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hh, mm, tzinfo=VN_TZ)


def due(day: int, month: int = 10) -> str:
    return datetime(2026, month, day, 17, 0, tzinfo=VN_TZ).isoformat()


class Dossier:
    """Builds a dossier's state with ``common.lifecycle.apply`` and keeps its facts."""

    def __init__(self, code: str, procedure: str = "P5", channel: int = 1, officer: str = "hoa.le"):
        self.code, self.procedure, self.channel, self.officer = code, procedure, channel, officer
        self.state: DossierState | None = None
        self.facts: list[Fact] = []

    def intake(self, when: datetime, *, action: str = "received", documents: bool = True,
               due_on: str | None = None, **extra: Any) -> Dossier:  # fmt: skip
        data: dict[str, Any] = {
            "procedure": self.procedure,
            "level": "commune",
            "limit_days": LIMITS[self.procedure],
            "channel": self.channel,
            "applicant": {"name": "Nguyễn Văn An", "id_number": "001090012345", "phone": ""},
            "documents": {"to_khai": {"original": 1}} if documents else {},
            **extra,
        }
        if due_on is not None:
            data["due"] = due_on
        return self._apply(action, when, data, actor=self.officer)

    def then(self, action: str, when: datetime, side: Side = Side.COMMUNE, **data: Any) -> Dossier:
        return self._apply(action, when, data, actor="minh.tran", side=side)

    def _apply(self, action: str, when: datetime, data: dict[str, Any], *, actor: str,
               side: Side = Side.COMMUNE) -> Dossier:  # fmt: skip
        self.state = lifecycle.apply(
            self.state, event_type=f"dossier.{action}", data=data, at=when, code=self.code,
            side=side,
        )  # fmt: skip
        self.facts.append(indicators.fact(when, f"dossier.{action}", actor, data))
        return self

    def input(self) -> DossierInput:
        assert self.state is not None
        return indicators.dossier_input(self.state, self.facts)


def october() -> list[Dossier]:
    return [
        # A: P3 in person, Mon 5 Oct 09:00 -> start Mon 5, due Thu 8 Oct 17:00 (5+3 wd: 6,7,8).
        # Resolved Wed 7 with an electronic result: early (7 < 8). 2.2: days in (5, 7] = 6, 7 -> 2.
        # Returned Thu 8 (processing complete wins: the clock ended on the 7th). Rated 3.
        Dossier("A", "P3")
        .intake(at(5), due_on=due(8))
        .then("processing", at(5, 10))
        .then("resolved", at(7, 10), electronic_result=True)
        .then("result_returned", at(8, 9))
        .then("rated", at(8, 9, 5), rating=3),
        # B: P3 online, Mon 5 Oct 16:00 (after 15:00) -> start Tue 6, due Fri 9 Oct 17:00.
        # Resolved Fri 9 16:30, electronic: on time. 2.2: (6, 9] = 7, 8, 9 -> 3 days.
        # No documents recorded at intake: not digitised. Rated 2 on Mon 12: satisfied.
        Dossier("B", "P3", channel=2)
        .intake(at(5, 16), due_on=due(9), documents=False)
        .then("resolved", at(9, 16, 30), electronic_result=True)
        .then("result_returned", at(12, 8))
        .then("rated", at(12, 8, 5), rating=2),
        # C: P5 by post, Mon 12 Oct 09:00 -> due Mon 19 Oct 17:00 (13,14,15,16,19).
        # Apology Fri 16 with a new date Wed 21; resolved Tue 20 10:00, no electronic result:
        # late against the appointment (the apology does not move the 2.1 deadline).
        # 2.2: (12, 20] = 13,14,15,16,19,20 -> 6 days. Rated 1 on Wed 21: not satisfied.
        Dossier("C", "P5", channel=3, officer="an.vu")
        .intake(at(12), due_on=due(19))
        .then("apologised", at(16, 10), new_due=due(21), reason="Chờ xác minh")
        .then("resolved", at(20, 10), electronic_result=False)
        .then("result_returned", at(21, 8))
        .then("rated", at(21, 8, 5), rating=1),
        # D: P5, Tue 6 Oct 10:00 -> due Tue 13 Oct 17:00 (7,8,9,12,13). Supplement asked Thu 8,
        # supplied Tue 13: paused working days (8, 13] = 9, 12, 13 -> 3; due moves 3 working
        # days to Fri 16 Oct 17:00. Resolved Fri 16 15:00, electronic: on time.
        # 2.2: (6, 16] = 7,8,9,12,13,14,15,16 -> 8, minus 3 paused -> 5 days. Digitised.
        Dossier("D", "P5")
        .intake(at(6, 10), due_on=due(13))
        .then("supplement_requested", at(8, 11), missing=["to_khai"], reason="Thiếu")
        .then("supplement_received", at(13, 9), due=due(16))
        .then("resolved", at(16, 15), electronic_result=True),
        # E: P5, Mon 19 Oct 09:00 -> due Mon 26 Oct. Two supplement requests (each supplied the
        # same day: 0 days paused), resolved Thu 22 -> early by date, but two supplement
        # requests make it late. 2.2: (19, 22] = 20, 21, 22 -> 3 days.
        Dossier("E", "P5", officer="an.vu")
        .intake(at(19), due_on=due(26))
        .then("supplement_requested", at(20, 10), missing=["to_khai"], reason="Thiếu")
        .then("supplement_received", at(20, 15), due=due(26))
        .then("supplement_requested", at(21, 9), missing=["to_khai"], reason="Thiếu")
        .then("supplement_received", at(21, 14), due=due(26))
        .then("resolved", at(22, 10), electronic_result=False),
        # F: P3, Tue 27 Oct 09:00 -> due Fri 30 Oct 17:00 (28, 29, 30). Still in processing at
        # the end of October (1 Nov 00:00): late, unfinished. Also overdue now (2 Nov).
        Dossier("F", "P3", officer="an.vu")
        .intake(at(27), due_on=due(30))
        .then("processing", at(27, 10)),
        # G: P5, Thu 29 Oct 09:00 -> due Thu 5 Nov (30 Oct, 2, 3, 4, 5 Nov). Open: pending.
        Dossier("G", "P5").intake(at(29), due_on=due(5, month=11)),
        # H: P3, Mon 26 Oct 09:00 -> due Thu 29 Oct. Supplement asked Wed 28, not supplied.
        # At 1 Nov 00:00 the pause (28 Oct, 1 Nov] holds 29, 30 -> 2 working days: deadline
        # Mon 2 Nov, not passed -> pending. Now (Mon 2 Nov 09:00): (28, 2 Nov] = 29, 30, 2 ->
        # 3 days -> Tue 3 Nov 17:00: not overdue now.
        Dossier("H", "P3")
        .intake(at(26), due_on=due(29))
        .then("supplement_requested", at(28, 10), missing=["to_khai"], reason="Thiếu"),
        # I: P5, Wed 7 Oct 09:00 -> due Wed 14 Oct (8, 9, 12, 13, 14). Stopped Wed 21: late.
        Dossier("I", "P5")
        .intake(at(7), due_on=due(14))
        .then("stopped", at(21, 10), reason="Không đủ điều kiện"),
        # J: P5, Mon 5 Oct 10:00 -> due Mon 12 Oct. Withdrawn Tue 6: early.
        Dossier("J", "P5")
        .intake(at(5, 10), due_on=due(12))
        .then("withdrawn", at(6, 9), reason="Rút"),
        # K: P3, Mon 28 Sep -> due Thu 1 Oct; resolved Wed 30 Sep: ended before October (not in
        # October's 2.1, 2.2, 4.1, 4.2). Rated 3 on Fri 2 Oct: counts in October's satisfaction.
        Dossier("K", "P3")
        .intake(at(28, month=9), due_on=due(1))
        .then("resolved", at(30, 10, month=9), electronic_result=True)
        .then("result_returned", at(1, 9))
        .then("rated", at(2, 9), rating=3),
        # L: refused at the desk on Mon 5 Oct: the clock never started; in no indicator.
        Dossier("L", "P5").intake(at(5, 11), action="refused", reason="Không thuộc thẩm quyền"),
        # M: P5 online, registered Thu 1 Oct 20:00, accepted Fri 2 Oct 08:30 (the clock starts
        # at acceptance) -> due Fri 9 Oct (5,6,7,8,9). Resolved Thu 8, no electronic result:
        # early. 2.2: (2, 8] = 5, 6, 7, 8 -> 4 days. Online counts: P5 needs no e-result.
        Dossier("M", "P5", channel=2)
        .intake(at(1, 20), action="registered")
        .then("accepted", at(2, 8, 30), due=due(9))
        .then("resolved", at(8, 10), electronic_result=False),
        # O: P3, Tue 20 Oct 09:00 -> due Fri 23 Oct. Apology Thu 22 with new date Wed 28 Oct;
        # still open at the end of October: late (the apology does not move the deadline).
        # Overdue now. One apology in October.
        Dossier("O", "P3")
        .intake(at(20), due_on=due(23))
        .then("processing", at(20, 10))
        .then("apologised", at(22, 10), new_due=due(28), reason="Chờ kết quả xác minh"),
        # P: P3 online, Mon 19 Oct 09:00 -> due Thu 22 Oct. Resolved Wed 21 without an
        # electronic result: early; 2.2: (19, 21] -> 2 days. Online does NOT count (P3 calls
        # for an electronic result and it got none).
        Dossier("P", "P3", channel=2)
        .intake(at(19), due_on=due(22))
        .then("resolved", at(21, 10), electronic_result=False),
    ]


def run(period: Period, now: datetime = NOW) -> list[Verdict]:
    return indicators.verdicts(
        [d.input() for d in october()],
        period,
        now=now,
        calendar=CAL,
        requires_electronic=lambda p: ELECTRONIC[p],
    )


def by_code(items: list[Verdict]) -> dict[str, Verdict]:
    return {v.code: v for v in items}


def test_hand_written_due_dates_agree_with_the_calendar() -> None:
    for received, limit, expected in [
        (at(5), 3, due(8)),
        (at(5, 16), 3, due(9)),
        (at(12), 5, due(19)),
        (at(6, 10), 5, due(13)),
        (at(19), 5, due(26)),
        (at(27), 3, due(30)),
        (at(29), 5, due(5, month=11)),
        (at(26), 3, due(29)),
        (at(7), 5, due(14)),
        (at(2, 8, 30), 5, due(9)),
        (at(20), 3, due(23)),
        (at(19), 3, due(22)),
    ]:
        assert due_at(CAL, received, limit).isoformat() == expected


def test_each_clock_rule_on_its_own_dossier() -> None:
    v = by_code(run(OCTOBER))
    assert (v["A"].timeliness, v["A"].processing_days) == ("early", 2)
    assert v["A"].ended_at == at(7, 10)  # resolved, not returned, ended the clock
    assert (v["B"].timeliness, v["B"].processing_days) == ("on_time", 3)  # 15:00 rule
    assert (v["C"].timeliness, v["C"].late_reason) == ("late", "after_deadline")
    assert v["C"].deadline == datetime.fromisoformat(due(19))  # not the apology's 21st
    assert (v["D"].timeliness, v["D"].processing_days) == ("on_time", 5)  # pause excluded
    assert v["D"].deadline == datetime.fromisoformat(due(16))
    assert (v["E"].timeliness, v["E"].late_reason) == ("late", "supplements")
    assert (v["F"].timeliness, v["F"].late_reason) == ("late", "overdue_unfinished")
    assert v["G"].timeliness == "pending"
    assert v["H"].timeliness == "pending"
    assert v["H"].deadline == datetime.fromisoformat(due(2, month=11))
    assert (v["I"].timeliness, v["I"].processing_days) == ("late", None)  # stopped
    assert v["J"].timeliness == "early"  # withdrawn ends the clock
    assert v["K"].timeliness is None and v["K"].rating == 3
    assert "L" not in v  # contributes to no figure, so it is left out
    assert (v["M"].timeliness, v["M"].processing_days) == ("early", 4)
    assert v["M"].received_at == at(2, 8, 30)
    assert (v["O"].timeliness, v["O"].late_reason) == ("late", "overdue_unfinished")
    assert v["P"].timeliness == "early" and not v["P"].online_counted


def test_october_totals_by_hand() -> None:
    f = indicators.totals(run(OCTOBER))
    # 2.1: early A, J, M, P = 4; on time B, D = 2; late C, E, F, I, O = 5; pending G, H = 2.
    assert (f.early, f.on_time, f.late, f.pending) == (4, 2, 5, 2)
    assert f.timely_share == Fraction(6, 11)
    # 2.2: resolved in October A 2 + B 3 + C 6 + D 5 + E 3 + M 4 + P 2 = 25 days over 7.
    assert (f.processed, f.processing_days, f.average_days) == (7, 25, Fraction(25, 7))
    # 3.3: received in October: every dossier but K (September) and L (refused) = 13;
    # online B, M, P; by post C; in person the other 9. Online counted: B and M -> 2/13.
    assert f.received == 13
    assert f.channels == {1: 9, 2: 3, 3: 1}
    assert f.online_share == Fraction(2, 13)
    # 4.1: resolved in October A, B, C, D, E, M, P = 7; electronic A, B, D = 3 -> 3/7.
    # 4.2: electronic and documents recorded: A, D (B recorded none) -> 2/7.
    assert (f.resolved, f.electronic, f.digitised) == (7, 3, 2)
    assert f.electronic_share == Fraction(3, 7) and f.digitised_share == Fraction(2, 7)
    # Satisfaction: ratings in October A 3, B 2, C 1, K 3 -> 3 of 4 are 2 or more.
    assert (f.rated, f.satisfied, f.satisfaction_share) == (4, 3, Fraction(3, 4))
    # Apologies in October: C (16th), O (22nd).
    assert f.apologies == 2
    # Overdue now (Mon 2 Nov 09:00): F (due 30 Oct) and O (due 23 Oct; apology ignored).
    # G is due 5 Nov; H is paused (deadline Tue 3 Nov).
    assert f.overdue_now == 2
    assert indicators.percent(f.timely_share) == "54,5\u00a0%"
    assert indicators.decimal(f.average_days) == "3,6"


def test_october_by_procedure_and_officer_by_hand() -> None:
    items = run(OCTOBER)
    proc = indicators.aggregate(items, "procedure")
    # P3: A early, B on time, F late, H pending, O late, P early -> 3 of 5 judged.
    assert (proc["P3"].early, proc["P3"].on_time, proc["P3"].late) == (2, 1, 2)
    assert proc["P3"].timely_share == Fraction(3, 5)
    # 2.2 for P3: A 2 + B 3 + P 2 = 7 over 3; P5: C 6 + D 5 + E 3 + M 4 = 18 over 4.
    assert proc["P3"].average_days == Fraction(7, 3)
    assert proc["P5"].average_days == Fraction(9, 2)
    officers = indicators.aggregate(items, "officer")
    # an.vu took C, E, F in: all late. hoa.le: early 4, on time 2, late I and O, pending 2.
    assert officers["an.vu"].timely_share == Fraction(0, 3)
    assert officers["hoa.le"].timely_share == Fraction(6, 8)


def test_a_week_and_the_running_month() -> None:
    week = period_of("week", date(2026, 10, 7))  # Mon 5 – Sun 11 Oct
    assert (week.start, week.end) == (date(2026, 10, 5), date(2026, 10, 11))
    v = by_code(run(week))
    # Ended that week: A early, B on time, J early, M early. Open at Mon 12 00:00: D (paused
    # since Thu 8: (8, 12] = 9, 12 -> due Tue 13 moves to Thu 15: pending), I (due 14): pending.
    assert {c for c, x in v.items() if x.timeliness} == {"A", "B", "J", "M", "D", "I"}
    assert v["D"].timeliness == "pending" and v["D"].deadline == datetime.fromisoformat(due(15))
    assert indicators.totals(v.values()).timely_share == Fraction(4, 4)
    # November while it runs (now Mon 2 Nov 09:00) is measured now: F and O late, G, H pending.
    nov = by_code(run(period_of("month", date(2026, 11, 1))))
    judged = {c: x.timeliness for c, x in nov.items() if x.timeliness}
    assert judged == {"F": "late", "O": "late", "G": "pending", "H": "pending"}


def test_no_appointment_recorded_falls_back_to_the_legal_limit() -> None:
    # P3 received Mon 5 Oct 09:00 with no due; resolved Fri 9: (5, 9] = 6,7,8,9 = 4 > 3 -> late.
    late = Dossier("Q", "P3").intake(at(5)).then("resolved", at(9, 10)).input()
    # Resolved Thu 8: 3 working days <= 3 -> on time.
    ok = Dossier("R", "P3").intake(at(5)).then("resolved", at(8, 10)).input()
    out = by_code(indicators.verdicts([late, ok], OCTOBER, now=NOW, calendar=CAL,
                                      requires_electronic=lambda p: False))  # fmt: skip
    assert out["Q"].timeliness == "late" and out["R"].timeliness == "on_time"


def test_a_dossier_stopped_while_paused_is_judged_with_the_pause_excluded() -> None:
    # P3 Mon 5 -> due Thu 8. Supplement asked Tue 6; stopped Mon 12 while waiting: the pause
    # (6, 12] = 7, 8, 9, 12 -> 4 days moves the deadline to Wed 14: stopped Mon 12 is early.
    d = (
        Dossier("S", "P3")
        .intake(at(5), due_on=due(8))
        .then("supplement_requested", at(6, 10), missing=["to_khai"], reason="Thiếu")
        .then("stopped", at(12, 10), reason="Không bổ sung")
    )
    v = indicators.verdict(d.input(), OCTOBER, now=NOW, calendar=CAL,
                           requires_electronic=lambda p: False)  # fmt: skip
    assert v.deadline == datetime.fromisoformat(due(14)) and v.timeliness == "early"


def test_an_open_dossier_with_a_second_supplement_request_is_late_not_pending() -> None:
    # P5 Mon 26 Oct -> due Mon 2 Nov: not due at the end of October, so one request leaves it
    # pending; a second request (form 02 allows one) makes it late whatever its dates.
    one = (
        Dossier("T", "P5")
        .intake(at(26), due_on=due(2, month=11))
        .then("supplement_requested", at(26, 10), missing=["to_khai"], reason="Thiếu")
        .then("supplement_received", at(26, 15), due=due(2, month=11))
    )
    v = indicators.verdict(one.input(), OCTOBER, now=NOW, calendar=CAL,
                           requires_electronic=lambda p: False)  # fmt: skip
    assert (v.timeliness, v.late_reason) == ("pending", "")
    two = one.then("supplement_requested", at(27, 9), missing=["to_khai"], reason="Lại thiếu")
    v = indicators.verdict(two.input(), OCTOBER, now=NOW, calendar=CAL,
                           requires_electronic=lambda p: False)  # fmt: skip
    assert (v.timeliness, v.late_reason) == ("late", "supplements")


def test_forwarded_dossier_with_hub_events() -> None:
    # Province-level P5 at Mon 5 -> due Mon 12. Forwarded; the hub processes and resolves on
    # Fri 9 (electronic); the commune returns it Mon 12: the clock ended Fri 9 -> early.
    d = Dossier("T", "P5")
    d.intake(at(5), due_on=due(12), level="province")
    d.then("forwarded", at(5, 10)).then("processing", at(6, 9), side=Side.HUB)
    d.then("resolved", at(9, 10), side=Side.HUB, electronic_result=True)
    d.then("result_returned", at(12, 9))
    v = indicators.verdict(d.input(), OCTOBER, now=NOW, calendar=CAL,
                           requires_electronic=lambda p: True)  # fmt: skip
    assert (v.timeliness, v.processing_days, v.electronic) == ("early", 4, True)


def test_ranking_shares_ranks_on_equal_figures() -> None:
    a, b, c = indicators.Figures(early=3, late=1), indicators.Figures(early=1), indicators.Figures()
    b2 = indicators.Figures(on_time=2)
    ranked = indicators.ranking({"x": a, "y": b, "z": c, "w": b2})
    assert [(r, k) for r, k, _ in ranked] == [(1, "w"), (1, "y"), (3, "x"), (4, "z")]


def test_drill_down_lists_the_dossiers_behind_a_figure() -> None:
    items = run(OCTOBER)
    assert [v.code for v in indicators.drill(items, "late")] == ["C", "E", "F", "I", "O"]
    assert [v.code for v in indicators.drill(items, "late", by="procedure", group="P3")] == [
        "F",
        "O",
    ]
    assert [v.code for v in indicators.drill(items, "overdue_now")] == ["F", "O"]


def test_periods() -> None:
    q = period_of("quarter", date(2026, 11, 20))
    assert (q.start, q.end, q.label_vi) == (date(2026, 10, 1), date(2026, 12, 31), "Quý 4/2026")
    assert q.shift(1).start == date(2027, 1, 1)
    assert period_of("month", date(2026, 12, 31)).shift(1).label_vi == "Tháng 01/2027"
    y = period_of("year", date(2026, 5, 5))
    assert (y.start, y.end) == (date(2026, 1, 1), date(2026, 12, 31))
    c = custom(date(2026, 10, 5), date(2026, 10, 9))
    assert c.shift(-1).start == date(2026, 9, 30)
    assert c.ends == datetime(2026, 10, 10, tzinfo=VN_TZ)
    with pytest.raises(DossierError):
        custom(date(2026, 10, 9), date(2026, 10, 5))


# --------------------------------------------------------------------------- properties

ACTIONS = [a for a in lifecycle.ACTIONS if a != "registered"]


@st.composite
def timelines(draw: st.DrawFn, code: str) -> DossierInput:
    procedure = draw(st.sampled_from(["P3", "P5"]))
    d = Dossier(code, procedure, channel=draw(st.integers(1, 3)))
    when = at(1) + timedelta(minutes=draw(st.integers(0, 60 * 24 * 40)))
    d.intake(when, due_on=due_at(CAL, when, LIMITS[procedure]).isoformat(),
             documents=draw(st.booleans()))  # fmt: skip
    for _ in range(draw(st.integers(0, 8))):
        assert d.state is not None
        allowed = [a.name for a in lifecycle.allowed_actions(d.state, side=Side.COMMUNE)]
        allowed = [a for a in allowed if a not in ("forwarded", "registered")]
        if not allowed:
            break
        action = draw(st.sampled_from(allowed))
        when += timedelta(minutes=draw(st.integers(1, 60 * 24 * 6)))
        data: dict[str, Any] = {}
        if action == "rated":
            data["rating"] = draw(st.integers(1, 3))
        elif action == "resolved":
            data["electronic_result"] = draw(st.booleans())
        elif action in ("supplement_received", "fee_paid"):
            if action == "fee_paid":
                data["amount"] = 1000
            if d.state.paused_since is not None and d.state.due_at is not None:
                from common.calendar import extend_for_pause

                data["due"] = extend_for_pause(
                    CAL, d.state.due_at, d.state.paused_since, when
                ).isoformat()
        elif action == "payment_requested":
            data["amount"] = 1000
        elif action == "apologised":
            if d.state.due_at is None or when >= d.state.due_at:
                continue
            data["new_due"] = (d.state.due_at + timedelta(days=3)).isoformat()
        d.then(action, when, **data)
    return d.input()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dossiers=st.lists(st.integers(0, 10**6), min_size=0, max_size=12, unique=True).flatmap(
        lambda ids: st.tuples(*[timelines(f"D{i}") for i in ids])
    ),
    kind=st.sampled_from(["week", "month", "quarter"]),
    day=st.integers(0, 60),
    now_offset=st.integers(0, 90),
)
def test_properties(
    dossiers: tuple[DossierInput, ...], kind: Any, day: int, now_offset: int
) -> None:
    period = period_of(kind, date(2026, 10, 1) + timedelta(days=day))
    now = at(1) + timedelta(days=now_offset)
    items = indicators.verdicts(list(dossiers), period, now=now, calendar=CAL,
                                requires_electronic=lambda p: ELECTRONIC[p])  # fmt: skip
    total = indicators.totals(items)
    for share in (total.timely_share, total.online_share, total.electronic_share,
                  total.digitised_share, total.satisfaction_share):  # fmt: skip
        assert share is None or 0 <= share <= 1
    assert total.dossiers == len(items) <= len(dossiers)
    assert total.judged + total.pending == sum(1 for v in items if v.timeliness)
    assert sum(total.channels.values()) == total.received
    assert total.online <= total.channels[2]
    assert total.digitised <= total.electronic <= total.resolved == total.processed
    assert total.satisfied <= total.rated
    for by in ("procedure", "officer", "channel"):
        groups = indicators.aggregate(items, by)
        for name in ("early", "on_time", "late", "pending", "processed", "processing_days",
                     "received", "resolved", "electronic", "rated", "apologies", "overdue_now"):  # fmt: skip
            assert sum(getattr(g, name) for g in groups.values()) == getattr(total, name)
    for measure in ("early", "on_time", "late", "pending", "resolved", "rated", "overdue_now"):
        expected = {"resolved": total.resolved, "rated": total.rated}.get(
            measure, getattr(total, measure)
        )
        assert len(indicators.drill(items, measure)) == expected
    # The order facts arrive in does not matter (node and hub read them in different orders).
    shuffled = [indicators.dossier_input(d.state, reversed(d.facts)) for d in dossiers]
    assert indicators.verdicts(shuffled, period, now=now, calendar=CAL,
                               requires_electronic=lambda p: ELECTRONIC[p]) == items  # fmt: skip


class HourDossier(Dossier):
    """A dossier of a procedure limited to 4 working hours (test fixture "H4"): its intake
    record carries ``limit_hours`` instead of ``limit_days``."""

    def intake(self, when: datetime, *, action: str = "received", documents: bool = True,
               due_on: str | None = None, **extra: Any) -> Dossier:  # fmt: skip
        data: dict[str, Any] = {
            "procedure": self.procedure, "level": "commune", "limit_hours": 4,
            "channel": self.channel, "applicant": {"name": "Nguyễn Văn An"},
            "documents": {"don": {"original": 1}} if documents else {},
        }  # fmt: skip
        if due_on is not None:
            data["due"] = due_on
        return self._apply(action, when, data, actor=self.officer)


def judge(*dossiers: Dossier) -> dict[str, Verdict]:
    inputs = [d.input() for d in dossiers]
    return by_code(
        indicators.verdicts(inputs, OCTOBER, now=NOW, calendar=CAL, requires_electronic=no)
    )


def no(_: str) -> bool:
    return False


def test_an_hour_limited_dossier_has_no_1500_rule_and_counts_whole_days_in_2_2() -> None:
    # Mon 5 Oct 16:00 + 4 working hours: 1 h to 17:00, 3 h from Tue 07:30: Tue 6 10:30.
    assert due_in_working_hours(CAL, at(5, 16), 4) == at(6, 10, 30)
    # Resolved Tue 10:00: on time (the deadline's date, before it). 2.2: the clock starts on
    # Monday (no 15:00 rule), so (5, 6] -> 1 working day.
    d = HourDossier("H1", "H4").intake(at(5, 16), due_on=at(6, 10, 30).isoformat())
    d.then("resolved", at(6, 10), electronic_result=False)
    # Received Mon 12 09:00 and resolved 14:00 the same day: 0 working days.
    same = HourDossier("H2", "H4").intake(at(12), due_on=at(12, 14, 30).isoformat())
    same.then("resolved", at(12, 14), electronic_result=False)
    out = judge(d, same)
    assert (out["H1"].timeliness, out["H1"].processing_days) == ("on_time", 1)
    assert (out["H2"].timeliness, out["H2"].processing_days) == ("on_time", 0)


def test_a_pause_moves_an_hour_deadline_by_working_hours() -> None:
    # Wed 7 Oct 09:00 -> due 14:30. Supplement asked 10:00; stopped 15:00 while waiting: the
    # pause covered 10:00-11:30 and 13:00-15:00 = 3.5 h, so the deadline moves from 14:30 by
    # 2.5 h to 17:00 and 1 h into Thursday: Thu 8 08:30. Stopped Wed: early. (Counted in
    # whole days the pause would cover none, and the dossier would be late.)
    d = (
        HourDossier("H3", "H4")
        .intake(at(7), due_on=at(7, 14, 30).isoformat())
        .then("supplement_requested", at(7, 10), missing=["don"], reason="Thiếu")
        .then("stopped", at(7, 15), reason="Không bổ sung")
    )
    v = judge(d)["H3"]
    assert v.deadline == at(8, 8, 30) and v.timeliness == "early"


def test_no_appointment_falls_back_to_the_limit_in_hours() -> None:
    # Mon 12 09:00, no due recorded. Resolved 14:00: 2.5 h + 1 h = 3.5 h <= 4 -> on time;
    # resolved 15:00: 4.5 h -> late.
    ok = HourDossier("H5", "H4").intake(at(12)).then("resolved", at(12, 14))
    late = HourDossier("H6", "H4").intake(at(12)).then("resolved", at(12, 15))
    out = judge(ok, late)
    assert out["H5"].timeliness == "on_time" and out["H6"].timeliness == "late"


def test_an_apology_issued_late_makes_the_dossier_late_and_is_counted() -> None:
    # P5 Tue 20 Oct -> due Tue 27 Oct; the last day to apologise in time is Mon 26 Oct.
    from common.calendar import apology_deadline, apology_timing

    due_27 = datetime.fromisoformat(due(27))
    assert apology_deadline(CAL, due_27) == date(2026, 10, 26)
    assert apology_timing(CAL, due_27, at(23)) == "in_time"
    assert apology_timing(CAL, due_27, at(26, 16)) == "last_day"
    assert apology_timing(CAL, due_27, at(27, 8)) == "late"  # the due day itself is too late
    assert apology_timing(CAL, due_27, at(28)) == "late"

    def judged(d: Dossier) -> Verdict:
        return indicators.verdict(d.input(), OCTOBER, now=NOW, calendar=CAL,
                                  requires_electronic=lambda p: False)  # fmt: skip

    in_time = (
        Dossier("A", "P5")
        .intake(at(20), due_on=due(27))
        .then("apologised", at(23), reason="Chờ xác minh", new_due=due(30), old_due=due(27))
        .then("resolved", at(26), result="Xong")
    )
    v = judged(in_time)
    assert (v.timeliness, v.apologies, v.late_apologies) == ("early", 1, 0)
    late = (
        Dossier("B", "P5")
        .intake(at(20), due_on=due(27))
        .then(
            "apologised",
            at(27, 8),
            reason="Chờ xác minh",
            new_due=due(30),
            old_due=due(27),
            late=True,
        )
        .then("resolved", at(27, 10), result="Xong")
    )
    v = judged(late)  # finished before its first due time, yet its apology came too late
    assert (v.timeliness, v.late_reason, v.late_apologies) == ("late", "late_apology", 1)
    overdue = (
        Dossier("C", "P5")
        .intake(at(20), due_on=due(27))
        .then("apologised", at(28), reason="Chậm", new_due=due(4, 11), old_due=due(27), late=True)
    )
    v = judged(overdue)
    assert (v.timeliness, v.late_reason) == ("late", "late_apology")
    totals = indicators.Figures()
    for d in (in_time, late, overdue):
        totals.add(judged(d))
    assert (totals.apologies, totals.late_apologies, totals.late) == (3, 2, 2)
