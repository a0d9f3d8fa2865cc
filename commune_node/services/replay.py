"""Folding the dossiers again from the whole log, and the day counters from the codes it
holds — after a node took back records from its hub (:mod:`reconcile`), and for one
forwarded dossier each time a hub record on it arrives (:func:`refold`).

Every dossier row is the fold (:func:`common.lifecycle.apply`) of its records: the node's
own events and the hub's records on forwarded dossiers, **in the order of the hub's log**,
which is the order the hub folded them in. The node knows that order from signed evidence
only:

* a hub record carries its ``anchor``, the hub's checkpoint when it was signed: it comes
  after every leaf below the anchor's size;
* a record of this node lies at the leaf the receipt that stored it names, or at least
  below the checkpoint size of a receipt covering it;
* a record no receipt covers yet comes after every hub record the node holds (the hub
  will log it after them);
* with none of these known (records taken back from the hub after a restore), the
  records' times decide, the commune's first on the same second.

So a withdrawal taken at the desk and a hub officer's action on the same forwarded dossier,
each before either side heard of the other, fold in the same order at both ends. A record
the rules refuse in that order changes nothing, exactly as at the hub (a dead letter there;
a hub record marked with its problem here).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from common import lifecycle, personal, record
from common.errors import DossierError
from common.lifecycle import Side
from commune_node.models import DayCounter, Dossier, Event, Inbound, Receipt
from commune_node.services import personal_data, privacy, projection
from commune_node.services.backup import RESTORED_SERIAL_FROM
from commune_node.services.identity import get_setting


class LogPlace:
    """Where this node's records lie in the hub's log, as far as its receipts prove it."""

    def __init__(self, session: Session) -> None:
        self.session = session
        rows = session.execute(
            select(Receipt.seq, Receipt.checkpoint_size, Receipt.first_seq, Receipt.first_leaf)
            .where(Receipt.checkpoint_size.is_not(None), Receipt.seq > 0)
            .order_by(Receipt.seq)
        ).all()
        self.seqs = [int(r.seq) for r in rows]
        self.mins: list[int] = [0] * len(rows)  # suffix minimum of the checkpoint sizes
        low: int | None = None
        for i in range(len(rows) - 1, -1, -1):
            size = int(rows[i].checkpoint_size)
            low = size if low is None else min(low, size)
            self.mins[i] = low
        self.ranges = [
            (int(r.first_seq), int(r.seq), int(r.first_leaf))
            for r in rows
            if r.first_seq is not None and r.first_leaf is not None
        ]
        self.acked = int(get_setting(session, "acked_seq", "0") or 0)
        self._leaves: dict[int, int | None] = {}

    def bound(self, seq: int) -> int | None:
        """A log size below which the hub stored ``seq`` (a receipt covering it), if any."""
        i = bisect.bisect_left(self.seqs, seq)
        return self.mins[i] if i < len(self.mins) else None

    def leaf(self, seq: int) -> int | None:
        """The leaf of ``seq``, from the receipt that stored it, if this node kept it."""
        if seq not in self._leaves:
            found = None
            for first, last, first_leaf in reversed(self.ranges):
                if first <= seq <= last:
                    before = self.session.scalar(
                        select(func.count())
                        .select_from(Event)
                        .where(Event.seq >= first, Event.seq < seq)
                    )
                    found = first_leaf + int(before or 0)
                    break
            self._leaves[seq] = found
        return self._leaves[seq]

    def ours_first(self, ours: record.Record, hub: record.Record) -> bool:
        """Did the hub log our record before its own record ``hub``? The hub's record comes
        after every leaf below its anchor; ours is where a receipt put it, below a receipt's
        checkpoint, or (no receipt yet) after everything the hub signed before. With none
        of these known, the times decide (ours first on the same second)."""
        size = hub.anchor.size if hub.anchor is not None else 0
        leaf = self.leaf(ours.seq)
        if leaf is not None:
            return leaf < size
        bound = self.bound(ours.seq)
        if bound is not None and bound <= size:
            return True
        if ours.seq > self.acked:
            return False
        return ours.at_time <= hub.at_time


@dataclass(frozen=True)
class _Item:
    side: Side
    seq: int  # the node's seq, or the hub's feed id
    rec: record.Record


def _ordered(
    place: LogPlace, ours: Iterable[tuple[int, bytes]], hubs: Iterable[tuple[int, bytes]]
) -> list[_Item]:
    """Our records (in chain order) and the hub's (in its order), merged in log order."""
    mine = [_Item(Side.COMMUNE, seq, record.parse(raw)) for seq, raw in ours]
    theirs = [_Item(Side.HUB, feed_id, record.parse(raw)) for feed_id, raw in hubs]
    if not theirs:
        return mine
    out: list[_Item] = []
    i = j = 0
    while i < len(mine) and j < len(theirs):
        if place.ours_first(mine[i].rec, theirs[j].rec):
            out.append(mine[i])
            i += 1
        else:
            out.append(theirs[j])
            j += 1
    return out + mine[i:] + theirs[j:]


def _revealed(session: Session, items: Iterable[_Item]) -> dict[str, dict[str, Any]]:
    """Each record's payload as written (record id → data): a version 2 record's personal
    values and free text come back from the disclosures kept apart on this node."""
    recs = [item.rec for item in items]
    found = personal_data.disclosures_of(
        session, [r.id for r in recs if personal.COMMITMENTS in r.data]
    )
    return {r.id: personal_data.reveal(r, found) for r in recs}


def _fold(
    items: list[_Item], data: Mapping[str, dict[str, Any]]
) -> tuple[lifecycle.DossierState | None, dict[int, str | None], int, record.Record | None]:
    """The state, each hub record's problem (by feed id), the last own seq applied, and the
    creating record (``data``: each record's payload as written, :func:`_revealed`)."""
    state: lifecycle.DossierState | None = None
    problems: dict[int, str | None] = {}
    last = 0
    created: record.Record | None = None
    for item in items:
        rec = item.rec
        assert rec.dossier is not None
        try:
            state = lifecycle.apply(
                state,
                event_type=rec.type,
                data=data.get(rec.id, rec.data),
                at=rec.at_time,
                code=rec.dossier,
                side=item.side,
            )
        except DossierError as exc:
            if item.side == Side.HUB:
                problems[item.seq] = f"{exc.code}: {exc.en}"
            continue
        if created is None:
            created = rec
        if item.side == Side.HUB:
            problems[item.seq] = None
        else:
            last = item.seq
    return state, problems, last, created


def refold(session: Session, codes: Iterable[str], place: LogPlace | None = None) -> None:
    """Fold each of these dossiers again from its records in the hub's log order (see the
    module's docstring), and mark each hub record on it applied or refused accordingly."""
    codes = sorted(set(codes))
    if not codes:
        return
    place = place or LogPlace(session)
    for code in codes:
        row = session.get(Dossier, code)
        if row is None:
            continue
        ours = session.execute(
            select(Event.seq, Event.record).where(Event.dossier_code == code).order_by(Event.seq)
        ).all()
        inbound = list(
            session.scalars(
                select(Inbound).where(Inbound.dossier_code == code).order_by(Inbound.feed_id)
            )
        )
        items = _ordered(place, ours, [(i.feed_id, i.raw) for i in inbound])
        state, problems, _, _ = _fold(items, _revealed(session, items))
        if state is None:
            continue
        for row_in in inbound:
            problem = problems.get(row_in.feed_id, row_in.problem)
            if (row_in.problem is None) != (problem is None):
                row_in.problem = problem
        projection.store_state(row, state)


def rebuild_dossiers(session: Session) -> int:
    """Replace every dossier row by the fold of its records; returns how many rows."""
    ours: dict[str, list[tuple[int, bytes]]] = {}
    for seq, code, raw in session.execute(
        select(Event.seq, Event.dossier_code, Event.record)
        .where(Event.dossier_code.is_not(None))
        .order_by(Event.seq)
    ):
        ours.setdefault(str(code), []).append((seq, raw))
    hubs: dict[str, list[tuple[int, bytes]]] = {}
    for feed_id, code, raw in session.execute(
        select(Inbound.feed_id, Inbound.dossier_code, Inbound.raw)
        .where(Inbound.dossier_code.is_not(None))
        .order_by(Inbound.feed_id)
    ):
        hubs.setdefault(str(code), []).append((feed_id, raw))
    place = LogPlace(session)
    old = {row.code: row for row in session.scalars(select(Dossier))}
    rows: list[tuple[str, lifecycle.DossierState, dict[str, Any], datetime, int]] = []
    problems: dict[int, str | None] = {}
    ordered = {
        code: _ordered(place, ours.get(code, []), hubs.get(code, []))
        for code in sorted(set(ours) | set(hubs))
    }
    data = _revealed(session, (item for items in ordered.values() for item in items))
    for code, items in ordered.items():
        state, found, last, creating = _fold(items, data)
        problems.update(found)
        if state is None or creating is None:
            continue
        rows.append((code, state, data[creating.id], creating.at_time, last))
    for feed_id, problem in problems.items():
        row_in = session.get(Inbound, feed_id)
        if row_in is not None and (row_in.problem is None) != (problem is None):
            row_in.problem = problem
    for gone in old.values():  # the applicant columns come from the creating record
        session.delete(gone)
    session.flush()
    for code, state, data, at, last in rows:
        row = projection.new_row(code, data, at)
        row.last_seq = last
        projection.store_state(row, state)
        before = old.get(code)
        if before is not None and before.personal_erased_at is not None:
            privacy.erase_columns(row, before.personal_erased_at)  # erased stays erased
        session.add(row)
    return len(rows)


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
