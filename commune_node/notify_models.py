"""The citizen-notification outbox: one row per message, written in the same transaction as
the dossier event that calls for it (``services/outbox.enqueue_for``), handed to the hub by
``services/notify_sync.drain``, and updated with the delivery status the hub reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from commune_node.base import Base

# Local states of a message: waiting (not yet accepted by the hub), handed (the hub holds it
# and is delivering), delivered, failed (the hub gave up; final).
WAITING, HANDED, DELIVERED, FAILED = "waiting", "handed", "delivered", "failed"
FINAL = (DELIVERED, FAILED)


class OutboxMessage(Base):
    __tablename__ = "outbox_message"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the idempotency key
    dossier_code: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # received | supplement | apology | result
    channel: Mapped[str] = mapped_column(String(10))  # sms | zalo | email
    recipient: Mapped[str] = mapped_column(String(254))  # masked once the message is final
    subject: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(String(500))  # Vietnamese, with diacritics
    text_ascii: Mapped[str] = mapped_column(String(500))  # the SMS variant, GSM-7 only
    created_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(12), default=WAITING)
    hub_status: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(String(300))
    handed_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    record_id: Mapped[str | None] = mapped_column(String(64))  # the event's record

    __table_args__ = (Index("ix_outbox_state_created", "state", "created_at"),)
