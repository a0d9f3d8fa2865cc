"""Yearly register numbers of the printed forms that carry one ("Số: 3/HDHS" on form 02).

A number is given when the record the form prints is appended, in the same write transaction,
so numbers run 1, 2, 3 … per form and calendar year (Vietnam time) with no gap and no repeat.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.calendar import VN_TZ
from commune_node.models import Event, FormNumber

# Which record type each numbered form prints.
NUMBERED = {"dossier.supplement_requested": "02"}


def assign(session: Session, *, record_id: str, type: str, at: datetime) -> int | None:
    """Give the record its form's next number of the year, if its form is numbered."""
    kind = NUMBERED.get(type)
    if kind is None:
        return None
    year = at.astimezone(VN_TZ).year
    last = session.scalar(
        select(func.max(FormNumber.number)).where(FormNumber.kind == kind, FormNumber.year == year)
    )
    number = (last or 0) + 1
    session.add(FormNumber(record_id=record_id, kind=kind, year=year, number=number))
    return number


def number_of(session: Session, *, record_id: str, type: str, seq: int, at: datetime) -> int:
    """The record's number. A record with none stored (written before numbering began) takes
    its place among that year's records of the same type in this node's chain."""
    found = session.get(FormNumber, record_id)
    if found is not None:
        return found.number
    local = at.astimezone(VN_TZ)
    start = datetime(local.year, 1, 1, tzinfo=VN_TZ)
    count = session.scalar(
        select(func.count())
        .select_from(Event)
        .where(Event.type == type, Event.at >= start, Event.seq <= seq)
    )
    return int(count or 0)
