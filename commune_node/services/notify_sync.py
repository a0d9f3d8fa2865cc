"""Draining the notification outbox through the hub (the last step of a sync run).

Messages that are not final go to ``POST /sync/v1/notify`` in small batches — in full while
``waiting`` (never acknowledged), by id only once ``handed`` (the hub holds them and is still
delivering: we only ask for their status), signed like every
sync request (``hublink.Client.call``). The hub stores each message once by its id and answers
with each one's delivery status, which is written back here. Nothing is ever deleted or
marked sent *before* the hub's answer: a run cut anywhere (link lost, ``kill -9``, power cut)
leaves the messages waiting, and the next run hands them over again — harmlessly, since the
hub keys them by id. Network I/O never happens inside a database transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from common import protocol
from common_io.database import Database
from commune_node.notify_models import DELIVERED, FAILED, FINAL, HANDED, WAITING, OutboxMessage
from commune_node.services.identity import set_setting

if TYPE_CHECKING:
    from commune_node.services.hublink import Client

BATCH = 50  # messages handed over a request (the hub takes up to 100)
STATUS_BATCH = 100  # ids asked about a request (the hub's limit)
MAX_ROUNDS = 50
# The hub's answer -> the message's state here. ``deferred`` (the hub's hourly limit) and
# ``unknown`` leave the message waiting: it is handed over again next run.
_STATE_OF = {
    "delivered": DELIVERED,
    "failed": FAILED,
    "refused": FAILED,
    "queued": HANDED,
    "sending": HANDED,
}


@dataclass
class DrainResult:
    handed: int = 0
    delivered: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)


def pending(
    db: Database,
    *,
    state: str,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The next messages in ``state`` after ``after`` (created_at, id), as the hub wants
    them."""
    with db.read() as session:
        stmt = select(OutboxMessage).where(OutboxMessage.state == state)
        if after is not None:
            stmt = stmt.where(
                (OutboxMessage.created_at > after[0])
                | ((OutboxMessage.created_at == after[0]) & (OutboxMessage.id > after[1]))
            )
        rows = session.scalars(
            stmt.order_by(OutboxMessage.created_at, OutboxMessage.id).limit(limit)
        )
        return [
            {
                "id": m.id,
                "dossier": m.dossier_code,
                "kind": m.kind,
                **({"record": m.record_id} if m.record_id else {}),
                "_created_at": m.created_at,
                "_state": m.state,
            }
            for m in rows
        ]


def least_recently_asked(db: Database, *, limit: int) -> list[str]:
    """Ids of handed-over messages whose status we learnt longest ago (never first)."""
    with db.read() as session:
        stmt = (
            select(OutboxMessage.id)
            .where(OutboxMessage.state == HANDED)
            .order_by(
                OutboxMessage.updated_at.is_not(None),
                OutboxMessage.updated_at,
                OutboxMessage.created_at,
                OutboxMessage.id,
            )
            .limit(limit)
        )
        return list(session.scalars(stmt))


def _mask(recipient: str) -> str:
    from commune_node.services.outbox import mask

    return mask(recipient)


def record_results(db: Database, results: list[dict[str, Any]], now: datetime) -> DrainResult:
    """Write the hub's answer back to the outbox (one transaction)."""
    out = DrainResult()
    with db.write() as session:
        for item in results:
            row = session.get(OutboxMessage, str(item.get("id", "")))
            status = str(item.get("status", ""))
            if row is None or row.state in FINAL or status not in _STATE_OF:
                continue
            row.state = _STATE_OF[status]
            row.hub_status = status
            row.detail = str(item["error"])[:300] if item.get("error") else None
            row.updated_at = now
            if row.handed_at is None and status != "refused":
                row.handed_at = now
                out.handed += 1
            if row.state == DELIVERED:
                delivered = item.get("delivered_at")
                row.delivered_at = datetime.fromisoformat(delivered) if delivered else now
                out.delivered += 1
            elif row.state == FAILED:
                out.failed += 1
            if row.state in FINAL:
                row.recipient = _mask(row.recipient)
    return out


def drain(db: Database, client: Client, now: datetime) -> DrainResult:
    """Hand every waiting message to the hub, then ask the status of some it holds, and
    store what it answers.

    New messages go first, all of them: on a link that drops every few minutes, the notices
    citizens are waiting for must not queue behind status questions. Then one request asks
    about the messages whose status was learnt longest ago (the hub may hold thousands
    still being delivered: asking about all of them each run would never end on 2G; this
    way every one is asked about in turn). Raises ``LinkError`` when the link drops (the
    caller retries later); a refusal by the hub is kept as the ``notify_error`` setting and
    ends this drain without failing the sync."""
    total = DrainResult()
    after: tuple[datetime, str] | None = None
    just_handed: set[str] = set()  # their answer in this drain already said where they stand
    for _ in range(MAX_ROUNDS):
        batch = pending(db, state=WAITING, after=after, limit=BATCH)
        if not batch:
            break
        last = batch[-1]
        after = (last["_created_at"], last["id"])
        just_handed.update(m["id"] for m in batch)
        fresh = [{k: v for k, v in m.items() if not k.startswith("_")} for m in batch]
        if not _ask(db, client, {"version": 2, "messages": fresh, "ids": []}, now, total):
            return total
    held = [i for i in least_recently_asked(db, limit=STATUS_BATCH) if i not in just_handed]
    if held and not _ask(db, client, {"version": 2, "messages": [], "ids": held}, now, total):
        return total
    with db.write() as session:
        set_setting(session, "notify_error", "")
    if total.handed or total.delivered or total.failed:
        total.notes.append(
            f"notifications: {total.handed} handed over, {total.delivered} delivered, "
            f"{total.failed} failed"
        )
    return total


def _ask(
    db: Database, client: Client, body: dict[str, Any], now: datetime, total: DrainResult
) -> bool:
    """One notify request and its answer written back; False when the hub refused it."""
    from commune_node.services.hublink import SyncRefused

    try:
        resp = client.call(
            "POST",
            "/sync/v1/notify",
            protocol.gzip_body(json.dumps(body, ensure_ascii=False).encode()),
            content_type="application/json",
            content_encoding="gzip",
        )
    except SyncRefused as exc:
        with db.write() as session:
            set_setting(session, "notify_error", f"{exc.code}: {exc.en}"[:300])
        total.notes.append(f"notifications refused by the hub: {exc.code}")
        return False
    got = record_results(db, list(resp.json().get("results", [])), now)
    total.handed += got.handed
    total.delivered += got.delivered
    total.failed += got.failed
    return True
