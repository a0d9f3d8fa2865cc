"""Putting a citizen notification in the outbox, in the caller's transaction.

:func:`enqueue_for` is called at the end of ``projection.record_event`` (the commune's own
events) and of ``inbound.apply_hub_record`` (hub events on forwarded dossiers), inside the
transaction that writes the event: the message exists if and only if the event does, so a
crash can neither lose it nor create it twice. The message goes by the channel the citizen
chose at intake (``notify`` in the dossier's first event), to the phone or e-mail address
given then; with ``none``, or no address, nothing is queued.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import notices, record
from commune_node.models import Dossier, Event
from commune_node.notify_models import FINAL, WAITING, OutboxMessage
from commune_node.services.identity import get_setting

# Which dossier actions tell the citizen something, and what.
KIND_OF_ACTION = {
    "received": "received",
    "accepted": "received",
    "supplement_requested": "supplement",
    "apologised": "apology",
    "resolved": "result",
}
CHANNELS = ("sms", "zalo", "email")


def notify_choice(session: Session, code: str, data: dict[str, Any]) -> str:
    """The channel chosen at intake: in this event's payload when it creates the dossier,
    else in the dossier's first event."""
    if "notify" in data:
        return str(data["notify"])
    raw = session.scalars(
        select(Event.record).where(Event.dossier_code == code).order_by(Event.seq).limit(1)
    ).first()
    if raw is None:
        return "none"
    return str(record.parse(raw).data.get("notify", "none"))


def enqueue_for(
    session: Session,
    row: Dossier,
    action: str,
    data: dict[str, Any],
    now: datetime,
    *,
    record_id: str | None = None,
) -> OutboxMessage | None:
    """Queue the notice this action calls for (if any) for the citizen of ``row``;
    ``record_id`` is the record of the event (the hub builds the notice from it)."""
    kind = KIND_OF_ACTION.get(action.removeprefix("dossier."))
    if kind is None:
        return None
    channel = notify_choice(session, row.code, data)
    if channel not in CHANNELS:
        return None
    recipient = row.email if channel == "email" else row.phone
    if not recipient:
        return None
    when = notices.appointment(kind, data)
    if kind == "received" and when is None:
        return None  # an online submission not yet accepted has no appointment to announce
    notice = notices.render(
        kind, code=row.code, when=when, commune=get_setting(session, "commune_name", "") or ""
    )
    message = OutboxMessage(
        id=uuid.uuid4().hex,
        dossier_code=row.code,
        kind=kind,
        channel=channel,
        recipient=recipient,
        subject=notice.subject,
        text=notice.text,
        text_ascii=notice.text_ascii,
        created_at=now,
        state=WAITING,
        record_id=record_id,
    )
    session.add(message)
    return message


def mask(recipient: str) -> str:
    """What is kept of an address once its message is final: ``09******78``, ``a***@x.vn``."""
    if "@" in recipient:
        local, _, domain = recipient.partition("@")
        return f"{local[:1]}***@{domain}"
    return recipient[:2] + "*" * max(len(recipient) - 4, 0) + recipient[-2:]


def for_dossier(session: Session, code: str) -> list[OutboxMessage]:
    """The dossier's notifications, oldest first (for the dossier page)."""
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.dossier_code == code)
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )
    return list(session.scalars(stmt))


def is_final(message: OutboxMessage) -> bool:
    return message.state in FINAL
