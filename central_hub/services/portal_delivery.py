"""Delivering the portal outbox: in order per dossier, at most N a second, exactly once.

:func:`deliver_due` runs in every hub process that sends (the scheduler in
``central_hub/portal_sender.py``); several may run at once on one database:

1. **claim** — in one short transaction, take a lease (``claimed_until``) on the messages
   that are due and are the *first* undelivered message of their dossier (no queued message
   of the dossier comes before them). On PostgreSQL the rows are picked with ``SELECT … FOR
   UPDATE SKIP LOCKED``, so two senders never wait on or take the same row; on SQLite each
   row is taken by an atomic ``UPDATE … WHERE claimed_until < now`` (SQLite writes one
   transaction at a time). A dossier's next message is never claimed while an earlier one
   is queued: a failure delays the dossier, it never reorders it.
2. **send** — outside any transaction, through :class:`PortalClient`, at most ``rate``
   messages a second per process.
3. **record** — only if the lease is still ours: ``delivered``; ``refused`` (dead letter,
   with the portal's answer) for a content refusal; else back to ``queued`` with an
   exponential back-off (``base * 2**(attempts-1)``, at most ``max_backoff`` seconds).

Exactly once: a message is sent again only after an unknown outcome (timeout, lost answer,
the process died with the lease); its delivery key makes the portal keep one entry.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from central_hub.portal_models import DELIVERED, QUEUED, REFUSED, PortalMessage
from central_hub.services import portal_outbox
from central_hub.services.portal_transport import PortalClient, Refused, Transient
from common_io.database import Database

PERSONAL_FIELDS = portal_outbox.PERSONAL_FIELDS


@dataclass(frozen=True)
class Pace:
    rate: float = 5.0  # messages a second, per sending process
    lease: timedelta = timedelta(seconds=60)  # longer than a send can take (timeouts)
    backoff: float = 5.0  # seconds before the first retry; doubles each attempt
    max_backoff: float = 3600.0
    batch: int = 50


def _due(now: datetime) -> Any:
    earlier = aliased(PortalMessage)
    first_of_dossier = ~exists().where(
        earlier.dossier_code == PortalMessage.dossier_code,
        earlier.state == QUEUED,
        or_(
            earlier.leaf < PortalMessage.leaf,
            and_(earlier.leaf == PortalMessage.leaf, earlier.id < PortalMessage.id),
        ),
    )
    return and_(
        PortalMessage.state == QUEUED,
        PortalMessage.next_attempt_at <= now,
        or_(PortalMessage.claimed_until.is_(None), PortalMessage.claimed_until < now),
        first_of_dossier,
    )


def claim(db: Database, now: datetime, pace: Pace) -> list[PortalMessage]:
    """Lease up to ``pace.batch`` messages that are due and first in their dossier."""
    token = uuid.uuid4().hex
    until = now + pace.lease
    with db.write() as session:
        order = (PortalMessage.leaf, PortalMessage.id)
        if session.get_bind().dialect.name == "postgresql":
            ids = list(
                session.scalars(
                    select(PortalMessage.id)
                    .where(_due(now))
                    .order_by(*order)
                    .limit(pace.batch)
                    .with_for_update(skip_locked=True, of=PortalMessage)
                )
            )
            if ids:
                session.execute(
                    update(PortalMessage)
                    .where(PortalMessage.id.in_(ids))
                    .values(claim=token, claimed_until=until, attempts=PortalMessage.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
        else:
            candidates = list(
                session.scalars(
                    select(PortalMessage.id).where(_due(now)).order_by(*order).limit(pace.batch)
                )
            )
            for message_id in candidates:
                session.execute(
                    update(PortalMessage)
                    .where(PortalMessage.id == message_id, _due(now))
                    .values(claim=token, claimed_until=until, attempts=PortalMessage.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
        rows = list(
            session.scalars(
                select(PortalMessage).where(PortalMessage.claim == token).order_by(*order)
            )
        )
        session.expunge_all()
        return rows


def _record(
    db: Database, row: PortalMessage, now: datetime, pace: Pace, *, error: str | None,
    refused: bool,
) -> None:  # fmt: skip
    with db.write() as session:
        fresh = session.get(PortalMessage, row.id)
        if fresh is None or fresh.claim != row.claim or fresh.state != QUEUED:
            return  # our lease ran out and another sender took the message over
        fresh.claim, fresh.claimed_until, fresh.updated_at = None, None, now
        if error is None:
            fresh.state, fresh.delivered_at = DELIVERED, now
            # the portal has it: the outbox keeps no personal data it no longer needs
            fresh.body = {**fresh.body, **{name: "" for name in PERSONAL_FIELDS}}
        elif refused:
            fresh.state, fresh.last_error = REFUSED, error[:1000]
        else:
            fresh.last_error = error[:1000]
            wait = min(pace.backoff * 2 ** max(fresh.attempts - 1, 0), pace.max_backoff)
            fresh.next_attempt_at = now + timedelta(seconds=wait)


def _release(db: Database, rows: list[PortalMessage]) -> None:
    with db.write() as session:
        for row in rows:
            session.execute(
                update(PortalMessage)
                .where(PortalMessage.id == row.id, PortalMessage.claim == row.claim)
                .values(claim=None, claimed_until=None, attempts=PortalMessage.attempts - 1)
                .execution_options(synchronize_session=False)
            )


def deliver_due(
    db: Database,
    client: PortalClient,
    *,
    clock: Any,
    pace: Pace = Pace(),
    budget_seconds: float = 20.0,
) -> int:
    """Send what is due, within a time budget. Returns how many were delivered."""
    started = time.monotonic()
    delivered = 0
    gap = 1.0 / pace.rate if pace.rate > 0 else 0.0
    last_send = 0.0
    while time.monotonic() - started < budget_seconds:
        rows = claim(db, clock(), pace)
        if not rows:
            break
        stop = False
        for i, row in enumerate(rows):
            if time.monotonic() - started >= budget_seconds:
                _release(db, rows[i:])  # not sent: free at once for the next round
                stop = True
                break
            wait = last_send + gap - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            last_send = time.monotonic()
            try:
                client.send(portal_outbox.open_body(row.body), row.delivery_key)
            except Refused as exc:
                _record(db, row, clock(), pace, error=str(exc), refused=True)
            except Transient as exc:
                _record(db, row, clock(), pace, error=str(exc), refused=False)
            else:
                _record(db, row, clock(), pace, error=None, refused=False)
                delivered += 1
        if stop:
            break
    return delivered


def backlog(session: Session) -> dict[str, Any]:
    """What waits for the portal: counts by state and the oldest queued message's time."""
    from sqlalchemy import func

    counts = dict(
        session.execute(
            select(PortalMessage.state, func.count()).group_by(PortalMessage.state)
        ).all()
    )
    oldest = session.scalar(
        select(func.min(PortalMessage.created_at)).where(PortalMessage.state == QUEUED)
    )
    return {
        "queued": int(counts.get(QUEUED, 0)),
        "delivered": int(counts.get(DELIVERED, 0)),
        "refused": int(counts.get(REFUSED, 0)),
        "oldest_queued": oldest,
    }


def of_dossier(session: Session, code: str) -> list[PortalMessage]:
    """A dossier's portal messages, in the order they are delivered."""
    return list(
        session.scalars(
            select(PortalMessage)
            .where(PortalMessage.dossier_code == code)
            .order_by(PortalMessage.leaf, PortalMessage.id)
        )
    )
