"""Read-only queries the desk's pages and printed forms need.

Nothing here writes: every function takes a session (read or write) first and returns plain
values or rows. Event payloads are read from the exact signed bytes with
:func:`common.record.parse`, never from a copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common import personal, record
from common.catalogue import Procedure as CatalogueProcedure
from common.lifecycle import ACTION_BY_EVENT, Action
from commune_node.models import Dossier, Event, Inbound, Officer, Procedure
from commune_node.services import personal_data
from commune_node.services.identity import get_setting


@dataclass(frozen=True)
class EventView:
    """One event of a dossier as the pages show it: the record's fields and its payload."""

    seq: int
    id: str
    type: str
    actor: str
    at: datetime  # the record's node time (aware)
    data: dict[str, Any]
    from_hub: bool = False  # a hub record pulled from the feed (forwarded dossiers)
    synced: bool = False  # the hub's signed receipt covers it (hub records always are)

    @property
    def action(self) -> Action | None:
        return ACTION_BY_EVENT.get(self.type)

    @property
    def short_id(self) -> str:
        return self.id[:12]


def _view(
    raw: bytes,
    *,
    from_hub: bool = False,
    acked: int = 0,
    found: Mapping[str, list[personal.Disclosure]] | None = None,
) -> EventView:
    rec = record.parse(raw)
    return EventView(
        seq=rec.seq,
        id=rec.id,
        type=rec.type,
        actor=rec.actor,
        at=rec.at_time,
        data=personal_data.reveal(rec, found or {}),
        from_hub=from_hub,
        synced=from_hub or rec.seq <= acked,
    )


def history(session: Session, code: str) -> list[EventView]:
    """The dossier's events — this node's and the hub's — in the order they happened,
    payloads parsed from the signed bytes; each says whether a hub receipt covers it."""
    acked = int(get_setting(session, "acked_seq", "0") or 0)
    own = list(session.scalars(select(Event.record).where(Event.dossier_code == code)))
    hub = list(session.scalars(select(Inbound.raw).where(Inbound.dossier_code == code)))
    found = personal_data.disclosures_of(session, [record.record_id(raw) for raw in own + hub])
    views = [_view(raw, acked=acked, found=found) for raw in own]
    views += [_view(raw, from_hub=True, found=found) for raw in hub]
    return sorted(views, key=lambda v: (v.at, v.from_hub, v.seq))


def histories(session: Session, codes: Iterable[str]) -> dict[str, list[EventView]]:
    """:func:`history` for many dossiers in one query."""
    wanted = list(codes)
    out: dict[str, list[EventView]] = {code: [] for code in wanted}
    if not wanted:
        return out
    stmt = select(Event).where(Event.dossier_code.in_(wanted)).order_by(Event.seq)
    rows = list(session.scalars(stmt))
    found = personal_data.disclosures_of(session, [row.record_id for row in rows])
    for row in rows:
        out[str(row.dossier_code)].append(_view(row.record, found=found))
    return out


def status_counts(session: Session) -> dict[int, int]:
    """How many dossiers are in each portal status."""
    stmt = select(Dossier.status, func.count()).group_by(Dossier.status)
    return {int(status): int(count) for status, count in session.execute(stmt)}


def procedure(session: Session, code: str) -> CatalogueProcedure | None:
    row = session.get(Procedure, code)
    return CatalogueProcedure.from_dict(row.definition) if row is not None else None


def procedure_index(session: Session) -> list[tuple[str, str, str]]:
    """(code, name, folded search key) of every procedure, for the intake page's filter."""
    stmt = select(Procedure.code, Procedure.name, Procedure.search_key).order_by(Procedure.name)
    return [(code, name, key) for code, name, key in session.execute(stmt)]


def procedure_names(session: Session, codes: Iterable[str] | None = None) -> dict[str, str]:
    stmt = select(Procedure.code, Procedure.name)
    if codes is not None:
        stmt = stmt.where(Procedure.code.in_(set(codes)))
    return {code: name for code, name in session.execute(stmt)}


def officers(session: Session) -> list[Officer]:
    return list(session.scalars(select(Officer).order_by(Officer.username)))


def officer_names(session: Session, usernames: Iterable[str]) -> dict[str, str]:
    """Full names by user name (unknown names, e.g. hub officers, are left out)."""
    stmt = select(Officer.username, Officer.full_name).where(Officer.username.in_(set(usernames)))
    return {username: name for username, name in session.execute(stmt)}


def book_entry(session: Session, row: Dossier, *, year_start: datetime) -> int:
    """The dossier's entry number in the tracking book: its rank among the dossiers taken in
    since ``year_start`` (the start of its year), by time taken in, then code."""
    stmt = select(func.count()).where(
        Dossier.created_at >= year_start,
        (Dossier.created_at < row.created_at)
        | ((Dossier.created_at == row.created_at) & (Dossier.code <= row.code)),
    )
    return int(session.scalar(stmt) or 0)


def taken_in_between(session: Session, start: datetime, end: datetime) -> list[Dossier]:
    """Dossiers taken in from ``start`` (inclusive) to ``end`` (exclusive), oldest first."""
    stmt = (
        select(Dossier)
        .where(Dossier.created_at >= start, Dossier.created_at < end)
        .order_by(Dossier.created_at, Dossier.code)
    )
    return list(session.scalars(stmt))


def count_taken_in_before(session: Session, start: datetime, before: datetime) -> int:
    """How many dossiers were taken in from ``start`` up to (not including) ``before``."""
    stmt = select(func.count()).where(Dossier.created_at >= start, Dossier.created_at < before)
    return int(session.scalar(stmt) or 0)
