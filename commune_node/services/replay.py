"""Folding the dossiers again from the whole log, and the day counters from the codes it
holds — after a node took back records from its hub (:mod:`reconcile`).

Every dossier row is the fold (:func:`common.lifecycle.apply`) of its records: the node's
own events and the hub's records on forwarded dossiers the node applied, in the order of
their times (a hub record on the same second comes after the commune's). A record the rules
refuse changes nothing, exactly as when it was first applied (a dead letter at the hub).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from common import lifecycle, record
from common.errors import DossierError
from common.lifecycle import Side
from commune_node.models import DayCounter, Dossier, Event, Inbound
from commune_node.services import personal_data, projection
from commune_node.services.backup import RESTORED_SERIAL_FROM


def rebuild_dossiers(session: Session) -> int:
    """Replace every dossier row by the fold of its records; returns how many rows."""
    items: list[tuple[datetime, int, int, str, str, dict[str, Any], Side]] = []
    own = [
        (seq, record.parse(raw))
        for seq, raw in session.execute(
            select(Event.seq, Event.record).where(Event.dossier_code.is_not(None))
        )
    ]
    found = personal_data.disclosures_of(session, [rec.id for _, rec in own])
    for seq, rec in own:
        assert rec.dossier is not None
        data = personal_data.reveal(rec, found)  # the person's data, kept apart
        items.append((rec.at_time, 0, seq, rec.dossier, rec.type, data, Side.COMMUNE))
    for feed_id, raw in session.execute(
        select(Inbound.feed_id, Inbound.raw).where(
            Inbound.dossier_code.is_not(None), Inbound.problem.is_(None)
        )
    ):
        rec = record.parse(raw)
        assert rec.dossier is not None
        items.append((rec.at_time, 1, feed_id, rec.dossier, rec.type, rec.data, Side.HUB))
    items.sort(key=lambda i: (i[0], i[1], i[2]))
    old = {row.code: row for row in session.scalars(select(Dossier))}
    states: dict[str, lifecycle.DossierState] = {}
    created: dict[str, tuple[dict[str, Any], datetime]] = {}
    last: dict[str, int] = {}
    for at, side_rank, seq, code, type_, data, side in items:
        try:
            states[code] = lifecycle.apply(
                states.get(code), event_type=type_, data=data, at=at, code=code, side=side
            )
        except DossierError:
            continue
        created.setdefault(code, (data, at))
        if side_rank == 0:
            last[code] = seq
    for gone in old.values():  # the applicant columns come from the creating record
        session.delete(gone)
    session.flush()
    for code, state in states.items():
        data, at = created[code]
        row = projection.new_row(code, data, at)
        row.last_seq = last.get(code, 0)
        projection.store_state(row, state)
        session.add(row)
    return len(states)


def reset_counters(session: Session) -> None:
    """Each day's counter goes on after the highest code of that day the chain holds
    (below the restored range, which stays apart so it never meets a code given before)."""
    top: dict[tuple[str, str], int] = {}
    for code in session.scalars(select(Event.dossier_code).where(Event.dossier_code.is_not(None))):
        agency, _, rest = str(code).rpartition("-")
        agency, _, day = agency.rpartition("-")
        if not rest.isdigit() or int(rest) >= RESTORED_SERIAL_FROM:
            continue
        key = (agency, day)
        top[key] = max(top.get(key, 0), int(rest))
    session.execute(delete(DayCounter))
    for (agency, day), n in top.items():
        session.add(DayCounter(agency_code=agency, day=day, last=n))
