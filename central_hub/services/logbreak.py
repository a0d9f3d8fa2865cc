"""Declared breaks in the log.

When the administrator closes a log recovery before the log reached every checkpoint the
communes verified (``central-hub log-recovery --close``), the hub gives those checkpoints
up: the log goes on from the size it holds, and new leaves take places a lost record once
held. That is never done silently. The hub signs a **log break** (what it kept, what it gave
up — the largest size a commune proved and its root —, when, why, which administrator);
a commune whose verified checkpoint it covers verifies the statement, raises one alarm and
goes on from the kept checkpoint; the auditor sees it as a ``declared_break``, not a fork
(docs/sync-protocol.md, "Declared log breaks"; docs/audit.md).

Every checkpoint the hub signs after a break is dated after it (:func:`translog.later_than_breaks`),
so a checkpoint is covered by a break exactly when it is larger than the size kept and
dated no later than the break (:func:`common.protocol.break_covers`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_hub.models import Checkpoint, LogBreak, RefillRoot
from central_hub.services import translog
from central_hub.services.identity import Clock, HubIdentity
from common import canonical, merkle, protocol


def declare(
    session: Session, *, hub: HubIdentity, target: int, reason: str, by: str, clock: Clock
) -> LogBreak:
    """Sign and keep the break of a recovery closed early at the log's present size;
    ``target`` is the largest size a commune proved (its root, when one proved it)."""
    now = clock().replace(microsecond=0)
    size = translog.lock_size(session)
    kept = session.get(Checkpoint, size)
    if kept is None:  # the rebuilt log's last batch may end between checkpoints
        root = merkle.CompactRange.from_nodes(size, translog.DbNodes(session)).root()
        kept = translog.sign_checkpoint(session, hub=hub, size=size, root=root, now=now)
    given_up = session.get(RefillRoot, target)
    body = protocol.log_break_body(
        origin=hub.origin,
        kept=(size, kept.root),
        given_up=(target, given_up.root if given_up is not None else ""),
        time=now.isoformat(timespec="seconds"),
        reason=reason[:500],
        by=by[:64],
    )
    row = LogBreak(
        kept_size=size,
        given_up_size=target,
        at=now,
        by=by[:64],
        reason=reason[:500],
        signed=protocol.sign_statement(protocol.LOG_BREAK_PREFIX, body, hub.key),
        kept_checkpoint=kept.signed,
    )
    session.add(row)
    session.flush()
    return row


def covering(session: Session, checkpoint: dict[str, Any]) -> LogBreak | None:
    """The first declared break that gave ``checkpoint`` (an opened checkpoint body) up."""
    rows = session.scalars(
        select(LogBreak).where(LogBreak.kept_size < int(checkpoint["size"])).order_by(LogBreak.id)
    )
    for row in rows:
        if protocol.break_covers(_body(row), checkpoint):
            return row
    return None


def _body(row: LogBreak) -> dict[str, Any]:
    """The break's body (this hub signed it; read from its own database)."""
    body = canonical.decode(row.signed[len(protocol.LOG_BREAK_PREFIX) : -64])
    assert isinstance(body, dict)
    return body


def all_breaks(session: Session) -> list[LogBreak]:
    return list(session.scalars(select(LogBreak).order_by(LogBreak.id)))


def answer(row: LogBreak) -> dict[str, str]:
    """What a commune whose checkpoint the break covers is told (the status answer)."""
    return {"statement": protocol.b64(row.signed), "kept": protocol.b64(row.kept_checkpoint)}
