"""The node's inputs to the Decision 766 indicators (``common/indicators.py``).

:func:`build` reads every dossier that can count in a period's figures — received before the
period ended and not finished before it began, rated in it, or still open (for "overdue
now") — with the records of its events (this node's own and the hub's on forwarded
dossiers), and hands them to the shared functions. The hub does the same from its log
(``central_hub/services/reports.py``), so both compute the same figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from common import indicators, lifecycle
from common.calendar import WorkingCalendar
from common.catalogue import Procedure as CatalogueProcedure
from common.indicators import DossierInput, Fact
from common.periods import Period
from common.reporting import Report
from commune_node.models import Dossier, Event, Inbound, Procedure
from commune_node.services import queries

CHUNK = 500
OPEN_CODES = [int(s) for s in lifecycle.OPEN]


def candidates(session: Session, period: Period) -> list[Dossier]:
    rated = select(Event.dossier_code).where(
        Event.type == "dossier.rated", Event.at >= period.begins, Event.at < period.ends
    )
    stmt = select(Dossier).where(
        or_(
            and_(
                Dossier.received_at < period.ends,
                or_(Dossier.ended_at.is_(None), Dossier.ended_at >= period.begins),
            ),
            Dossier.code.in_(rated),
            Dossier.status.in_(OPEN_CODES),
        )
    )
    return list(session.scalars(stmt.order_by(Dossier.code)))


def facts_of(session: Session, codes: Iterable[str]) -> dict[str, list[Fact]]:
    """Each dossier's events as facts: this node's records and the hub's it applied."""
    out: dict[str, list[Fact]] = defaultdict(list)
    wanted = list(codes)
    for i in range(0, len(wanted), CHUNK):
        chunk = wanted[i : i + CHUNK]
        for code, raw in session.execute(
            select(Event.dossier_code, Event.record).where(Event.dossier_code.in_(chunk))
        ):
            out[str(code)].append(indicators.fact_from_raw(raw))
        for code, raw in session.execute(
            select(Inbound.dossier_code, Inbound.raw).where(
                Inbound.dossier_code.in_(chunk), Inbound.problem.is_(None)
            )
        ):
            out[str(code)].append(indicators.fact_from_raw(raw))
    return out


def inputs(session: Session, period: Period) -> list[DossierInput]:
    rows = candidates(session, period)
    facts = facts_of(session, [r.code for r in rows])
    return [
        indicators.dossier_input(lifecycle.state_from_dict(r.state), facts.get(r.code, []))
        for r in rows
    ]


def electronic_required(session: Session) -> dict[str, bool]:
    """Which procedures the catalogue says give an electronic result."""
    return {
        code: CatalogueProcedure.from_dict(definition).electronic_result
        for code, definition in session.execute(select(Procedure.code, Procedure.definition))
    }


def build(
    session: Session, period: Period, *, by: str, now: datetime, calendar: WorkingCalendar
) -> Report:
    required = electronic_required(session)
    items = indicators.verdicts(
        inputs(session, period),
        period,
        now=now,
        calendar=calendar,
        requires_electronic=lambda code: required.get(code, False),
    )
    if by == "officer":
        names = queries.officer_names(session, {v.officer for v in items})
    else:
        names = queries.procedure_names(session)
    return Report(period, now, by, items, names)
