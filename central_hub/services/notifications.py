"""Citizen notifications at the hub: accept from nodes idempotently, deliver exactly once.

A node hands messages over with ``POST /sync/v1/notify`` (``web/notify_api.py``); each has
the node's own id. A node only *asks* for a notice: the hub decides whether one is due
(its own dossier, an event that calls for it and was not told yet), to whom (the address
in its copy of the intake record) and in what words (``common/notices.py``), within the
node's hourly limit. :func:`accept` stores a message the first time its id is seen and
ignores it after that, so a node may hand the same message over any number of times (after a lost
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

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from central_hub.models import HubDossier, LogRecord, Node
from central_hub.notify_models import DELIVERED, FAILED, QUEUED, SENDING, HubNotification
from central_hub.services import disclosures, nodes
from central_hub.services.gateway import Gateway, Outgoing, PermanentFailure, TemporaryFailure
from common import notices, record
from common.errors import FieldProblem, ValidationError
from common_io.database import Database

LEASE = timedelta(minutes=5)
HOUR = timedelta(hours=1)
MAX_ATTEMPTS = 8
CHANNELS = ("sms", "zalo", "email")
KINDS = notices.KINDS
PER_NODE_HOUR = 200  # NOTIFY_PER_NODE_HOUR
_KIND_WORDS = {"received": "intake", "supplement": "supplement request",
               "apology": "apology", "result": "result"}  # fmt: skip
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class Incoming:
    """What a node may say about a notice: which one (its id), for which dossier, of which
    kind, and (version 2) the record of the event it tells about. Nothing else: the
    recipient, the channel and the words are the hub's own (version 1 messages carried
    them; they are ignored)."""

    id: str
    dossier: str
    kind: str
    record: str | None = None


@dataclass(frozen=True)
class Outcome:
    """A message the hub did not take: ``refused`` (never sent) or ``deferred`` (the node's
    hourly limit: asked again later)."""

    id: str
    status: str
    error: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "error": self.error}


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
    """Validate the request body ``{"version": 2, "messages": [...]}`` (a body without
    ``version`` is version 1: its ``to``, ``channel``, ``subject`` and texts are ignored);
    every problem names its field."""
    problems: list[FieldProblem] = []
    items = body.get("messages") if isinstance(body, dict) else None
    version = body.get("version", 1) if isinstance(body, dict) else None
    if version not in (1, 2):
        raise ValidationError(
            [FieldProblem("version", "invalid", "Phiên bản phải là 1 hoặc 2.", "must be 1 or 2")]
        )
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
        bad = []
        mid, dossier, kind = item.get("id"), item.get("dossier"), item.get("kind")
        rec = item.get("record")
        if not (isinstance(mid, str) and 0 < len(mid) <= 32 and mid.isalnum()):
            bad.append("id")
        if not (isinstance(dossier, str) and 0 < len(dossier) <= 64):
            bad.append("dossier")
        if kind not in KINDS:
            bad.append("kind")
        if rec is not None and not (
            isinstance(rec, str) and 0 < len(rec) <= 64 and set(rec) <= _HEX
        ):
            bad.append("record")
        for name in bad:
            problems.append(
                FieldProblem(f"messages[{i}].{name}", "invalid", "Không hợp lệ", "invalid")
            )
        if not bad:
            out.append(Incoming(str(mid), str(dossier), str(kind), rec))
    if problems:
        raise ValidationError(problems)
    return out


@dataclass(frozen=True)
class _Notice:
    record_id: str
    channel: str
    recipient: str
    rendered: notices.Notice


def _refused(m: Incoming, why: str) -> Outcome:
    return Outcome(m.id, "refused", why)


def _event(session: Session, m: Incoming) -> LogRecord | str:
    """The dossier's live record that calls for this notice and has none yet, or why none."""
    types = notices.EVENTS_OF_KIND[m.kind]
    stmt = select(LogRecord).where(
        LogRecord.dossier_code == m.dossier,
        LogRecord.dead.is_(False),
        LogRecord.type.in_(types),
    )
    if m.record is not None:
        stmt = stmt.where(LogRecord.record_id == m.record)
    events = list(session.scalars(stmt.order_by(LogRecord.leaf.desc())))
    if not events:
        which = f" record {m.record}" if m.record else ""
        return f"dossier {m.dossier} has no {_KIND_WORDS[m.kind]}{which} to tell the citizen of"
    told = set(
        session.scalars(
            select(HubNotification.record_id).where(
                HubNotification.record_id.in_([e.record_id for e in events])
            )
        )
    )
    fresh = [e for e in events if e.record_id not in told]
    if not fresh:
        return f"the citizen was already told of this {_KIND_WORDS[m.kind]} of {m.dossier}"
    return fresh[0]


def _intake(session: Session, code: str) -> dict[str, Any]:
    """The payload of the dossier's first live record: the citizen's choice of channel and
    address, as given at intake."""
    raw = session.scalars(
        select(LogRecord.raw)
        .where(LogRecord.dossier_code == code, LogRecord.dead.is_(False))
        .order_by(LogRecord.leaf)
        .limit(1)
    ).first()
    return disclosures.data_in(session, record.parse(raw)) if raw is not None else {}


def _notice(session: Session, node: Node, m: Incoming) -> _Notice | str:
    """The notice the hub itself would send for ``m``, or why it sends none."""
    dossier = session.get(HubDossier, m.dossier)
    if dossier is None:
        return f"no dossier {m.dossier} at the hub"
    if dossier.node_id != node.node_id:
        return f"{m.dossier} is not a dossier of this commune"
    event = _event(session, m)
    if isinstance(event, str):
        return event
    intake = _intake(session, m.dossier)
    channel = str(intake.get("notify", "none"))
    applicant = intake.get("applicant") if isinstance(intake.get("applicant"), dict) else {}
    assert isinstance(applicant, dict)
    recipient = str(applicant.get("email" if channel == "email" else "phone") or "")
    if channel not in CHANNELS or not recipient:
        return f"the citizen of {m.dossier} asked for no notices at intake"
    when = notices.appointment(m.kind, record.parse(event.raw).data)
    if m.kind in ("received", "apology") and when is None:
        return f"the {_KIND_WORDS[m.kind]} of {m.dossier} names no date to announce"
    rendered = notices.render(m.kind, code=m.dossier, when=when, commune=node.commune_name)
    return _Notice(event.record_id, channel, recipient[:254], rendered)


def accept(
    session: Session,
    node_id: str,
    messages: Iterable[Incoming],
    now: datetime,
    *,
    per_hour: int = PER_NODE_HOUR,
) -> list[Outcome]:
    """Store each message not seen before (by id), built by the hub from its own records:
    only for the node's own dossier, for an event that calls for it and was not told yet,
    to the address given at intake, in the hub's words; at most ``per_hour`` of one node
    an hour (the rest are deferred). A known id is left exactly as it is. Returns the
    messages not taken, with why."""
    node = session.scalars(select(Node).where(Node.node_id == node_id).with_for_update()).one()
    taken = session.scalar(
        select(func.count())
        .select_from(HubNotification)
        .where(HubNotification.node_id == node_id, HubNotification.received_at > now - HOUR)
    ) or 0  # fmt: skip
    out: list[Outcome] = []
    for m in messages:
        known = session.get(HubNotification, m.id)
        if known is not None:
            if known.node_id != node_id:
                out.append(_refused(m, "this message id belongs to another commune"))
            continue
        built = _notice(session, node, m)
        if isinstance(built, str):
            out.append(_refused(m, built))
            continue
        if taken >= per_hour:
            why = f"more than {per_hour} notices of this commune in an hour"
            out.append(Outcome(m.id, "deferred", f"{why}; handed over again later"))
            nodes.alert_once(session, "notify_limit", node_id, f"notices held back: {why}", now)
            continue
        taken += 1
        session.add(
            HubNotification(
                id=m.id,
                node_id=node_id,
                dossier_code=m.dossier,
                record_id=built.record_id,
                kind=m.kind,
                channel=built.channel,
                recipient=disclosures.protect(built.recipient, context=RECIPIENT),
                subject=built.rendered.subject,
                text=built.rendered.text,
                text_ascii=built.rendered.text_ascii,
                received_at=now,
                status=QUEUED,
                attempts=0,
                next_attempt_at=now,
                updated_at=now,
            )
        )
        session.flush()
    return out


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


RECIPIENT = "hub_notification.recipient"  # kept encrypted until the message is final


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
            fresh.recipient = _mask(disclosures.unprotect(fresh.recipient, context=RECIPIENT))


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
        out = Outgoing(
            row.id,
            row.channel,
            disclosures.unprotect(row.recipient, context=RECIPIENT),
            row.subject,
            row.text,
            row.text_ascii,
        )
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
