"""The hub's inputs to the Decision 766 indicators (``common/indicators.py``), every commune.

The same reading as the node's (``commune_node/services/reports.py``): every dossier that can
count in the period, with the stored records of its events (the commune's and the hub's;
dead letters left out, as they were never applied), through the same shared functions.
Each dossier is tagged with its commune's agency code, for the by-commune table and ranking.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from central_hub.models import HubDossier, LogRecord, Node
from central_hub.services import health
from common import indicators, lifecycle
from common.calendar import WorkingCalendar
from common.indicators import DossierInput, Fact
from common.periods import Period
from common.reporting import Report

CHUNK = 500
OPEN_CODES = [int(s) for s in lifecycle.OPEN]
# A rating recorded in the period reaches the hub later (``updated_at`` is hub time); allow
# this much node-clock error when picking the dossiers that may carry one.
CLOCK_SLACK = timedelta(days=2)


def candidates(session: Session, period: Period) -> list[HubDossier]:
    stmt = select(HubDossier).where(
        or_(
            and_(
                HubDossier.received_at < period.ends,
                or_(HubDossier.ended_at.is_(None), HubDossier.ended_at >= period.begins),
            ),
            and_(
                HubDossier.ended_at < period.ends,
                HubDossier.updated_at >= period.begins - CLOCK_SLACK,
            ),
            HubDossier.status.in_(OPEN_CODES),
        )
    )
    return list(session.scalars(stmt.order_by(HubDossier.code)))


def facts_of(session: Session, codes: Iterable[str]) -> dict[str, list[Fact]]:
    out: dict[str, list[Fact]] = defaultdict(list)
    wanted = list(codes)
    for i in range(0, len(wanted), CHUNK):
        chunk = wanted[i : i + CHUNK]
        for code, raw in session.execute(
            select(LogRecord.dossier_code, LogRecord.raw).where(
                LogRecord.dossier_code.in_(chunk), LogRecord.dead.is_(False)
            )
        ):
            out[str(code)].append(indicators.fact_from_raw(raw))
    return out


def communes(session: Session) -> dict[str, str]:
    """Agency code -> commune name, and node id -> agency code."""
    return {n.agency_code: n.commune_name for n in session.scalars(select(Node))}


def inputs(session: Session, period: Period) -> list[DossierInput]:
    agency = {n.node_id: n.agency_code for n in session.scalars(select(Node))}
    rows = candidates(session, period)
    facts = facts_of(session, [r.code for r in rows])
    return [
        indicators.dossier_input(
            lifecycle.state_from_dict(r.state), facts.get(r.code, []), agency.get(r.node_id, "")
        )
        for r in rows
    ]


def build(
    session: Session,
    period: Period,
    *,
    by: str,
    now: datetime,
    calendar: WorkingCalendar,
    hub_id: str,
) -> Report:
    catalogue = health.current_catalogue(session, hub_id)
    required = {code: p.electronic_result for code, p in catalogue.procedures.items()}
    items = indicators.verdicts(
        inputs(session, period),
        period,
        now=now,
        calendar=calendar,
        requires_electronic=lambda code: required.get(code, False),
    )
    if by == "commune":
        names = communes(session)
    elif by == "procedure":
        names = {code: p.name for code, p in catalogue.procedures.items()}
    else:
        names = {}
    return Report(period, now, by, items, names)
