"""Citizen notifications at the hub: accept from nodes idempotently, deliver exactly once.

A node hands messages over with ``POST /sync/v1/notify`` (``web/notify_api.py``); each has
the node's own id. :func:`accept` stores a message the first time its id is seen and ignores
it after that, so a node may hand the same message over any number of times (after a lost
answer, a crash, a restart). :func:`deliver_due` then sends what is due:

1. **claim** — in one short transaction, a conditional update moves the message from
   ``queued`` (due) — or from ``sending`` whose claim has expired (a worker died mid-send) — to
   ``sending`` with a fresh claim token. Only the worker whose update matched sends; two hub
   processes can never both send one message.
2. **send** — outside any transaction, through the channel's gateway, with the message id
   as the idempotency key.
3. **record** — in one transaction, only if the claim is still ours: ``delivered``, or
   ``queued`` with a backoff for a temporary failure, or ``failed`` for a permanent one (or
   after the last attempt). The recipient's address is masked once the message is final.

Exactly once: a message is sent again only after an unknown outcome (the worker died between
send and record, or the gateway timed out); the gateway's idempotency key (webhook) or
``Message-ID`` (e-mail) makes that repeat recognisable as the same message.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from central_hub.notify_models import DELIVERED, FAILED, QUEUED, SENDING, HubNotification
from central_hub.services.gateway import Gateway, Outgoing, PermanentFailure, TemporaryFailure
from common.errors import FieldProblem, ValidationError
from common_io.database import Database

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
CHANNELS = ("sms", "zalo", "email")
KINDS = ("received", "supplement", "apology", "result")
_LIMITS = {"id": 32, "dossier": 64, "to": 254, "subject": 200, "text": 500, "text_ascii": 500}


@dataclass(frozen=True)
class Incoming:
    id: str
    dossier: str
    kind: str
    channel: str
    to: str
    subject: str
    text: str
    text_ascii: str


def parse_ids(body: Any, *, max_ids: int = 100) -> list[str]:
    """The optional ``ids`` of messages handed over before, whose status the node asks for."""
    ids = body.get("ids", []) if isinstance(body, dict) else None
    if (
        not isinstance(ids, list)
        or len(ids) > max_ids
        or not all(isinstance(i, str) and 0 < len(i) <= 32 and i.isalnum() for i in ids)
    ):
        raise ValidationError(
            [FieldProblem("ids", "invalid", "Danh sách mã tin không hợp lệ.", "invalid ids")]
        )
    return list(ids)


def parse(body: Any, *, max_messages: int = 100) -> list[Incoming]:
    """Validate the request body ``{"messages": [...]}``; every problem names its field."""
    problems: list[FieldProblem] = []
    items = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(items, list) or len(items) > max_messages:
        raise ValidationError(
            [
                FieldProblem(
                    "messages",
                    "invalid",
                    f"Cần danh sách tối đa {max_messages} tin.",
                    f"a list of at most {max_messages} messages",
                )
            ]
        )
    out: list[Incoming] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(
                FieldProblem(f"messages[{i}]", "invalid", "Phải là đối tượng", "object")
            )
            continue
        values = {k: item.get(k, "") for k in ("id", "dossier", "to", "subject", "text")}
        values["text_ascii"] = item.get("text_ascii", "")
        bad = [
            k
            for k, v in values.items()
            if not isinstance(v, str) or len(v) > _LIMITS[k] or (k != "subject" and not v)
        ]
        if not (isinstance(values["id"], str) and values["id"].isalnum()):
            bad.append("id")
        if item.get("channel") not in CHANNELS:
            bad.append("channel")
        if item.get("kind") not in KINDS:
            bad.append("kind")
        for name in sorted(set(bad)):
            problems.append(
                FieldProblem(f"messages[{i}].{name}", "invalid", "Không hợp lệ", "invalid")
            )
        if not bad:
            out.append(Incoming(kind=str(item["kind"]), channel=str(item["channel"]), **values))
    if problems:
        raise ValidationError(problems)
    return out


def accept(session: Session, node_id: str, messages: Iterable[Incoming], now: datetime) -> None:
    """Store each message not seen before (by id); a known id is left exactly as it is."""
    for m in messages:
        if session.get(HubNotification, m.id) is not None:
            continue
        session.add(
            HubNotification(
                id=m.id,
                node_id=node_id,
                dossier_code=m.dossier,
                kind=m.kind,
                channel=m.channel,
                recipient=m.to,
                subject=m.subject,
                text=m.text,
                text_ascii=m.text_ascii,
                received_at=now,
                status=QUEUED,
                attempts=0,
                next_attempt_at=now,
                updated_at=now,
            )
        )
        session.flush()


def statuses(session: Session, node_id: str, ids: Iterable[str]) -> list[dict[str, Any]]:
    """What the node is told about each of its messages."""
    wanted = list(ids)
    rows = session.scalars(
        select(HubNotification).where(
            HubNotification.id.in_(wanted), HubNotification.node_id == node_id
        )
    )
    found = {r.id: r for r in rows}
    out: list[dict[str, Any]] = []
    for message_id in wanted:
        row = found.get(message_id)
        if row is None:
            out.append({"id": message_id, "status": "unknown"})
            continue
        item: dict[str, Any] = {"id": row.id, "status": row.status, "attempts": row.attempts}
        if row.delivered_at:  # fields without a value are left out: bytes count on 2G
            item["delivered_at"] = row.delivered_at.isoformat()
        if row.last_error:
            item["error"] = row.last_error
        out.append(item)
    return out


def _claim(db: Database, message_id: str, now: datetime) -> HubNotification | None:
    token = uuid.uuid4().hex
    with db.write() as session:
        result = session.execute(
            update(HubNotification)
            .where(
                HubNotification.id == message_id,
                or_(
                    and_(HubNotification.status == QUEUED, HubNotification.next_attempt_at <= now),
                    and_(
                        HubNotification.status == SENDING, HubNotification.claimed_at < now - LEASE
                    ),
                ),
            )
            .values(status=SENDING, claim=token, claimed_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        row = session.get(HubNotification, message_id)
        assert row is not None
        row.attempts += 1
        return row


def _mask(recipient: str) -> str:
    if "@" in recipient:
        local, _, domain = recipient.partition("@")
        return f"{local[:1]}***@{domain}"
    return recipient[:2] + "*" * max(len(recipient) - 4, 0) + recipient[-2:]


def _record(
    db: Database, row: HubNotification, now: datetime, *, ref: str | None, error: str | None,
    permanent: bool, max_attempts: int,
) -> None:  # fmt: skip
    with db.write() as session:
        fresh = session.get(HubNotification, row.id)
        if fresh is None or fresh.claim != row.claim or fresh.status != SENDING:
            return  # our claim expired and another worker took the message over
        fresh.claim, fresh.updated_at = None, now
        if error is None:
            fresh.status, fresh.gateway_ref, fresh.delivered_at = DELIVERED, ref, now
            fresh.last_error = None
        elif permanent or fresh.attempts >= max_attempts:
            fresh.status, fresh.last_error = FAILED, error[:300]
        else:
            fresh.status, fresh.last_error = QUEUED, error[:300]
            fresh.next_attempt_at = now + timedelta(seconds=min(30 * 2**fresh.attempts, 6 * 3600))
        if fresh.status in (DELIVERED, FAILED):
            fresh.recipient = _mask(fresh.recipient)


def deliver_due(
    db: Database,
    gateways: Mapping[str, Gateway],
    *,
    clock: Any,
    node_id: str | None = None,
    budget_seconds: float = 20.0,
    max_attempts: int = MAX_ATTEMPTS,
    limit: int = 200,
) -> int:
    """Send what is due (one node's messages, or everyone's), within a time budget.
    A channel with no gateway configured waits. Returns how many were delivered."""
    started = time.monotonic()
    now = clock()
    with db.read() as session:
        stmt = select(HubNotification.id, HubNotification.channel).where(
            or_(
                and_(HubNotification.status == QUEUED, HubNotification.next_attempt_at <= now),
                and_(HubNotification.status == SENDING, HubNotification.claimed_at < now - LEASE),
            )
        )
        if node_id is not None:
            stmt = stmt.where(HubNotification.node_id == node_id)
        due = list(session.execute(stmt.order_by(HubNotification.received_at).limit(limit)))
    delivered = 0
    for message_id, channel in due:
        if time.monotonic() - started > budget_seconds:
            break
        gateway = gateways.get(channel)
        if gateway is None:
            continue
        row = _claim(db, message_id, clock())
        if row is None:
            continue
        out = Outgoing(row.id, row.channel, row.recipient, row.subject, row.text, row.text_ascii)
        try:
            ref = gateway.send(out)
        except PermanentFailure as exc:
            _record(db, row, clock(), ref=None, error=str(exc), permanent=True,
                    max_attempts=max_attempts)  # fmt: skip
        except TemporaryFailure as exc:
            _record(db, row, clock(), ref=None, error=str(exc), permanent=False,
                    max_attempts=max_attempts)  # fmt: skip
        else:
            _record(db, row, clock(), ref=ref, error=None, permanent=False,
                    max_attempts=max_attempts)  # fmt: skip
            delivered += 1
    return delivered
