"""Decision 766/QĐ-TTg indicators, computed one way for the commune node and the hub.

Both sides hold, for every dossier, its folded :class:`~common.lifecycle.DossierState` and the
signed records of its events; both call :func:`dossier_input` on those and then
:func:`verdicts` and :func:`aggregate` — the same functions on the same inputs, so their
figures cannot disagree. The exact rules are in ``docs/reports.md``; in short:

* **2.1 early / on time / late.** Start = receipt (``received_at``); end = the first terminal
  status (``ended_at``: processing complete wins over result returned; refused, stopped and
  withdrawn end the clock too). The deadline is the appointment set at receipt, moved only by
  supplement (and payment) pauses — the ``due`` the events recorded; an apology's new date
  does *not* move it (an apologised dossier finished by its new date is still late). More
  than one supplement request makes a dossier late whatever its dates, finished or not. A
  dossier unfinished at the end of the period (or now, for the running period) is late if its
  deadline — moved by a pause still running — has passed by then, and *pending* otherwise
  (not counted).
* **2.2** average working days from receipt to processing complete, pauses excluded
  (:func:`common.calendar.working_days_elapsed`), over dossiers resolved in the period. A
  dossier limited in working hours counts whole working days as well (no 15:00 rule for its
  start day), so the figure keeps one unit; its 2.1 deadline moves with pauses by working hours.
* **3.3** share by channel of dossiers received in the period; an online dossier counts as
  online only if its procedure does not call for an electronic result or it got one.
* **4.1** share of dossiers resolved in the period with an electronic result; **4.2** share
  digitised: documents recorded at receipt *and* an electronic result.
* Satisfaction: ratings given in the period that are 2 or 3. Apologies: apology events in the
  period. Overdue now: open dossiers whose deadline (as for 2.1) has passed ``now``.

Pure: no I/O, no clock; every instant and the calendar are passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any, Literal

from common import record_fast
from common.calendar import (
    WorkingCalendar,
    classify,
    extend_appointment,
    working_days_elapsed,
    working_hours_elapsed,
)
from common.lifecycle import OPEN, Channel, DossierState, Status
from common.periods import Period

Timeliness = Literal["early", "on_time", "late", "pending"]
LateReason = Literal["", "after_deadline", "supplements", "overdue_unfinished", "late_apology"]
_DATA_KEYS = ("due", "electronic_result", "rating", "limit_days", "limit_hours", "late")


@dataclass(frozen=True)
class Fact:
    """One event of a dossier, reduced to what the indicators read."""

    at: datetime
    type: str
    actor: str
    data: Mapping[str, Any]


def fact(at: datetime, type: str, actor: str, data: Mapping[str, Any]) -> Fact:
    """A :class:`Fact` from an event's payload (only the fields the rules need are kept)."""
    slim: dict[str, Any] = {k: data[k] for k in _DATA_KEYS if k in data}
    docs = data.get("documents")
    if isinstance(docs, Mapping) and "applicant" in data:
        slim["has_documents"] = any(
            isinstance(c, Mapping) and any(isinstance(n, int) and n > 0 for n in c.values())
            for c in docs.values()
        )
    return Fact(at, type, actor, slim)


def fact_from_raw(raw: bytes) -> Fact:
    """A :class:`Fact` from a stored record's exact bytes (already verified when stored)."""
    rec = record_fast.parse(raw)
    return fact(rec.at_time, rec.type, rec.actor, rec.data)


@dataclass(frozen=True)
class DossierInput:
    state: DossierState
    facts: tuple[Fact, ...]  # the dossier's events, oldest first
    commune: str = ""  # on the hub: which commune (agency code); "" on a node


def dossier_input(state: DossierState, facts: Iterable[Fact], commune: str = "") -> DossierInput:
    return DossierInput(state, tuple(sorted(facts, key=lambda f: f.at)), commune)


@dataclass(frozen=True)
class Verdict:
    """What one dossier contributes to the report of one period (and to "overdue now")."""

    code: str
    procedure: str
    officer: str  # who took the dossier in (the actor of its first event)
    commune: str
    channel: int
    status: int
    received_at: datetime | None
    ended_at: datetime | None
    deadline: datetime | None  # the 2.1 deadline at the moment the dossier was judged
    timeliness: Timeliness | None = None  # None: not in indicator 2.1 for this period
    late_reason: LateReason = ""
    processing_days: int | None = None  # set when resolved in the period (2.2)
    received_in_period: bool = False
    online_counted: bool = False
    resolved_in_period: bool = False
    electronic: bool = False
    digitised: bool = False
    rating: int | None = None  # a rating given in the period
    apologies: int = 0  # apologies issued in the period
    late_apologies: int = 0  # of which issued late (after the last day, record ``late``)
    overdue_now: bool = False


def _pauses(state: DossierState) -> list[tuple[datetime, datetime | None]]:
    out: list[tuple[datetime, datetime | None]] = list(state.paused)
    if state.paused_since is not None:
        out.append((state.paused_since, None))
    return out


def deadline_at(d: DossierInput, when: datetime, calendar: WorkingCalendar) -> datetime | None:
    """The 2.1 deadline as it stood at ``when``: the last ``due`` recorded by then, moved by a
    pause that began after it and was still running at ``when`` (apologies never move it)."""
    base: Fact | None = None
    for f in d.facts:
        if f.at > when:
            break
        if isinstance(f.data.get("due"), str):
            base = f
    if base is None:
        return None
    due = datetime.fromisoformat(base.data["due"])
    in_hours = _limit(d, "limit_hours") is not None
    for start, end in _pauses(d.state):
        if base.at <= start <= when and (end is None or end >= when or end == d.state.ended_at):
            due = extend_appointment(
                calendar, due, start, min(end or when, when), in_hours=in_hours
            )
    return due


def _supplements_by(d: DossierInput, when: datetime) -> int:
    received = d.state.received_at
    if received is None:
        return 0
    return sum(
        1 for f in d.facts if f.type == "dossier.supplement_requested" and received <= f.at <= when
    )


def _late_apology_by(d: DossierInput, when: datetime) -> bool:
    """An apology recorded as late (``late``: after its last day) by ``when``."""
    return any(
        f.type == "dossier.apologised" and f.data.get("late") is True and f.at <= when
        for f in d.facts
    )


def _limit(d: DossierInput, key: str) -> int | None:
    """The legal limit the intake record carried: ``limit_days`` or ``limit_hours``."""
    for f in d.facts:
        value = f.data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _closed(d: DossierInput, until: datetime) -> list[tuple[datetime, datetime]]:
    return [(a, min(b or until, until)) for a, b in _pauses(d.state) if a <= until]


def _judge_finished(
    d: DossierInput, calendar: WorkingCalendar
) -> tuple[Timeliness | None, LateReason, datetime | None]:
    state = d.state
    assert state.received_at is not None and state.ended_at is not None
    end = state.ended_at
    deadline = deadline_at(d, end, calendar)
    if _supplements_by(d, end) > 1:
        return "late", "supplements", deadline
    if _late_apology_by(d, end):
        return "late", "late_apology", deadline
    if deadline is not None:
        kind = classify(end, deadline)
        return kind, ("after_deadline" if kind == "late" else ""), deadline
    # No appointment recorded: the time taken (pauses excluded) against the legal limit.
    hours = _limit(d, "limit_hours")
    if hours is not None:
        taken = working_hours_elapsed(calendar, state.received_at, end, _closed(d, end))
        return ("on_time", "", None) if taken <= hours else ("late", "after_deadline", None)
    limit = _limit(d, "limit_days")
    if limit is None:
        return None, "", None
    elapsed = working_days_elapsed(calendar, state.received_at, end, _closed(d, end))
    return ("on_time", "", None) if elapsed <= limit else ("late", "after_deadline", None)


def verdict(
    d: DossierInput,
    period: Period,
    *,
    now: datetime,
    calendar: WorkingCalendar,
    requires_electronic: Callable[[str], bool],
) -> Verdict:
    """Judge one dossier for ``period`` (rules in the module docstring)."""
    state = d.state
    first = d.facts[0] if d.facts else None
    measured_at = min(period.ends, now)  # the end of the period, or now while it runs
    received, ended = state.received_at, state.ended_at
    resolved = state.status in (Status.RESOLVED, Status.RETURNED)
    resolution = next((f for f in reversed(d.facts) if f.type == "dossier.resolved"), None)
    electronic = bool(resolution and resolution.data.get("electronic_result") is True)
    documents = any(f.data.get("has_documents") for f in d.facts)
    out: dict[str, Any] = {}

    if received is not None and received < measured_at:
        if ended is not None and period.contains(ended):
            out["timeliness"], out["late_reason"], out["deadline"] = _judge_finished(d, calendar)
        elif ended is None or ended >= period.ends:
            deadline = deadline_at(d, measured_at, calendar)
            out["deadline"] = deadline
            if _supplements_by(d, measured_at) > 1:  # late already, whatever the dates
                out["timeliness"], out["late_reason"] = "late", "supplements"
            elif _late_apology_by(d, measured_at):  # so is one apologised too late
                out["timeliness"], out["late_reason"] = "late", "late_apology"
            else:
                late = deadline is not None and deadline < measured_at
                out["timeliness"] = "late" if late else "pending"
                out["late_reason"] = "overdue_unfinished" if late else ""
    if resolved and received is not None and ended is not None and period.contains(ended):
        out["resolved_in_period"] = True
        out["processing_days"] = working_days_elapsed(
            calendar,
            received,
            ended,
            _closed(d, ended),
            in_hours=_limit(d, "limit_hours") is not None,
        )
        out["electronic"] = electronic
        out["digitised"] = electronic and documents
    if received is not None and period.contains(received):
        out["received_in_period"] = True
        out["online_counted"] = state.channel == Channel.ONLINE and (
            not requires_electronic(state.procedure) or (resolved and electronic)
        )
    ratings = [f for f in d.facts if f.type == "dossier.rated" and period.contains(f.at)]
    if ratings and isinstance(ratings[-1].data.get("rating"), int):
        out["rating"] = int(ratings[-1].data["rating"])
    out["apologies"] = sum(
        1 for f in d.facts if f.type == "dossier.apologised" and period.contains(f.at)
    )
    out["late_apologies"] = sum(
        1
        for f in d.facts
        if f.type == "dossier.apologised" and f.data.get("late") is True and period.contains(f.at)
    )
    if state.status in OPEN and received is not None and received <= now:
        deadline_now = deadline_at(d, now, calendar)
        out["overdue_now"] = deadline_now is not None and deadline_now < now
    return Verdict(
        code=state.code,
        procedure=state.procedure,
        officer=first.actor if first else "",
        commune=d.commune,
        channel=int(state.channel),
        status=int(state.status),
        received_at=received,
        ended_at=ended,
        deadline=out.pop("deadline", None),
        **out,
    )


def verdicts(
    inputs: Iterable[DossierInput],
    period: Period,
    *,
    now: datetime,
    calendar: WorkingCalendar,
    requires_electronic: Callable[[str], bool],
) -> list[Verdict]:
    """:func:`verdict` for each dossier that counts in some figure, sorted by code.

    Dossiers that contribute nothing are left out, so the two sides agree even when each
    reads a different superset of dossiers from its database."""
    out = [
        verdict(d, period, now=now, calendar=calendar, requires_electronic=requires_electronic)
        for d in inputs
    ]
    return sorted((v for v in out if contributes(v)), key=lambda v: v.code)


def contributes(v: Verdict) -> bool:
    return bool(
        v.timeliness
        or v.processing_days is not None
        or v.received_in_period
        or v.resolved_in_period
        or v.rating is not None
        or v.apologies
        or v.overdue_now
    )


def _share(part: int, whole: int) -> Fraction | None:
    return Fraction(part, whole) if whole else None


@dataclass
class Figures:
    """The indicators over a set of verdicts (a whole report, or one group of it)."""

    dossiers: int = 0
    early: int = 0
    on_time: int = 0
    late: int = 0
    pending: int = 0
    processed: int = 0
    processing_days: int = 0
    received: int = 0
    channels: dict[int, int] = field(default_factory=lambda: {int(c): 0 for c in Channel})
    online: int = 0
    resolved: int = 0
    electronic: int = 0
    digitised: int = 0
    rated: int = 0
    satisfied: int = 0
    apologies: int = 0
    late_apologies: int = 0
    overdue_now: int = 0

    def add(self, v: Verdict) -> None:
        self.dossiers += 1
        if v.timeliness is not None:
            setattr(self, v.timeliness, getattr(self, v.timeliness) + 1)
        if v.processing_days is not None:
            self.processed += 1
            self.processing_days += v.processing_days
        if v.received_in_period:
            self.received += 1
            self.channels[v.channel] = self.channels.get(v.channel, 0) + 1
            self.online += int(v.online_counted)
        if v.resolved_in_period:
            self.resolved += 1
            self.electronic += int(v.electronic)
            self.digitised += int(v.digitised)
        if v.rating is not None:
            self.rated += 1
            self.satisfied += int(v.rating >= 2)
        self.apologies += v.apologies
        self.late_apologies += v.late_apologies
        self.overdue_now += int(v.overdue_now)

    @property
    def judged(self) -> int:
        """Dossiers in the denominator of 2.1 (finished in the period, or overdue unfinished)."""
        return self.early + self.on_time + self.late

    @property
    def timely_share(self) -> Fraction | None:  # 2.1
        return _share(self.early + self.on_time, self.judged)

    @property
    def average_days(self) -> Fraction | None:  # 2.2
        return _share(self.processing_days, self.processed)

    @property
    def online_share(self) -> Fraction | None:  # 3.3
        return _share(self.online, self.received)

    @property
    def electronic_share(self) -> Fraction | None:  # 4.1
        return _share(self.electronic, self.resolved)

    @property
    def digitised_share(self) -> Fraction | None:  # 4.2
        return _share(self.digitised, self.resolved)

    @property
    def satisfaction_share(self) -> Fraction | None:
        return _share(self.satisfied, self.rated)


def totals(items: Iterable[Verdict]) -> Figures:
    out = Figures()
    for v in items:
        out.add(v)
    return out


GROUPS: dict[str, Callable[[Verdict], str]] = {
    "procedure": lambda v: v.procedure,
    "officer": lambda v: f"{v.commune}/{v.officer}" if v.commune else v.officer,
    "commune": lambda v: v.commune,
    "channel": lambda v: str(v.channel),
}


def aggregate(items: Iterable[Verdict], by: str) -> dict[str, Figures]:
    """Figures per group (``procedure``, ``officer``, ``commune``, ``channel``), by key."""
    key = GROUPS[by]
    out: dict[str, Figures] = {}
    for v in items:
        out.setdefault(key(v), Figures()).add(v)
    return dict(sorted(out.items()))


def ranking(groups: Mapping[str, Figures]) -> list[tuple[int, str, Figures]]:
    """Communes ranked by 2.1 (best first; none judged last), then satisfaction, then fewer
    overdue now; equal figures share a rank (1, 2, 2, 4)."""

    def score(item: tuple[str, Figures]) -> tuple[Any, ...]:
        _key, f = item
        timely, sat = f.timely_share, f.satisfaction_share
        return (
            timely is None,
            -(timely or 0),
            sat is None,
            -(sat or 0),
            f.overdue_now,
        )

    ordered = sorted(groups.items(), key=lambda item: (score(item), item[0]))
    out: list[tuple[int, str, Figures]] = []
    for i, item in enumerate(ordered):
        rank = out[-1][0] if out and score(ordered[i - 1]) == score(item) else i + 1
        out.append((rank, item[0], item[1]))
    return out


# Drill-down: which verdicts are behind each figure.
MEASURES: dict[str, Callable[[Verdict], bool]] = {
    "judged": lambda v: v.timeliness in ("early", "on_time", "late"),
    "early": lambda v: v.timeliness == "early",
    "on_time": lambda v: v.timeliness == "on_time",
    "late": lambda v: v.timeliness == "late",
    "pending": lambda v: v.timeliness == "pending",
    "processed": lambda v: v.processing_days is not None,
    "received": lambda v: v.received_in_period,
    "channel_1": lambda v: v.received_in_period and v.channel == 1,
    "channel_2": lambda v: v.received_in_period and v.channel == 2,
    "channel_3": lambda v: v.received_in_period and v.channel == 3,
    "online": lambda v: v.online_counted,
    "resolved": lambda v: v.resolved_in_period,
    "electronic": lambda v: v.resolved_in_period and v.electronic,
    "digitised": lambda v: v.resolved_in_period and v.digitised,
    "rated": lambda v: v.rating is not None,
    "satisfied": lambda v: v.rating is not None and v.rating >= 2,
    "apologies": lambda v: v.apologies > 0,
    "late_apologies": lambda v: v.late_apologies > 0,
    "overdue_now": lambda v: v.overdue_now,
}


def drill(
    items: Sequence[Verdict], measure: str, *, by: str | None = None, group: str | None = None
) -> list[Verdict]:
    """The verdicts behind one figure: ``measure`` within one group (or the whole report)."""
    test = MEASURES[measure]
    key = GROUPS[by] if by else None
    return [v for v in items if test(v) and (key is None or key(v) == group)]


def percent(value: Fraction | None) -> str:
    """``87,5 %`` (Vietnamese decimal comma), or ``—`` when there is nothing to divide."""
    if value is None:
        return "—"
    return f"{float(value) * 100:.1f}".replace(".", ",") + "\u00a0%"


def decimal(value: Fraction | None) -> str:
    if value is None:
        return "—"
    return f"{float(value):.1f}".replace(".", ",")
