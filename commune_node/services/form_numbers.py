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


def _year_start(at: datetime) -> datetime:
    return datetime(at.astimezone(VN_TZ).year, 1, 1, tzinfo=VN_TZ)


def _place_in_year(session: Session, *, type: str, seq: int, at: datetime) -> int:
    """How many records of ``type`` this node's chain holds from 1 January up to ``seq``."""
    count = session.scalar(
        select(func.count())
        .select_from(Event)
        .where(Event.type == type, Event.at >= _year_start(at), Event.seq <= seq)
    )
    return int(count or 0)


def assign(session: Session, *, record_id: str, type: str, seq: int, at: datetime) -> int | None:
    """Give the record its form's next number of the year, if its form is numbered. The
    numbers go on after those the chain already implies (records written before numbering
    began, or restored from the hub), so none is given twice."""
    kind = NUMBERED.get(type)
    if kind is None:
        return None
    year = at.astimezone(VN_TZ).year
    stored = session.scalar(
        select(func.max(FormNumber.number)).where(FormNumber.kind == kind, FormNumber.year == year)
    )
    before = _place_in_year(session, type=type, seq=seq - 1, at=at)
    number = max(stored or 0, before) + 1
    session.add(FormNumber(record_id=record_id, kind=kind, year=year, number=number))
    return number


def number_of(session: Session, *, record_id: str, type: str, seq: int, at: datetime) -> int:
    """The record's number. A record with none stored (written before numbering began, or
    restored from the hub) takes its place among that year's records of the same type."""
    found = session.get(FormNumber, record_id)
    if found is not None:
        return found.number
    return _place_in_year(session, type=type, seq=seq, at=at)
