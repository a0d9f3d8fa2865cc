"""The hub's side of citizen notifications and of the public status look-up.

``HubNotification``: a message a node handed over, keyed by the node's message id (the
idempotency key: handing it over again changes nothing), with its delivery status.
``StatusKey``: what the public look-up checks the citizen's four digits against — a salted
hash, never the digits themselves.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from central_hub.base import Base

# Delivery states: queued (to send, or to retry at next_attempt_at), sending (claimed by a
# worker until claimed_at + lease), delivered, failed (permanent refusal or out of attempts).
QUEUED, SENDING, DELIVERED, FAILED = "queued", "sending", "delivered", "failed"


class HubNotification(Base):
    __tablename__ = "hub_notification"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("node.node_id"), index=True)
    dossier_code: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(512))  # encrypted; masked once final
    subject: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(String(500))
    text_ascii: Mapped[str] = mapped_column(String(500))
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default=QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claim: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(300))
    gateway_ref: Mapped[str | None] = mapped_column(String(100))
    delivered_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    # the record whose event the notice is about: one notice per event
    record_id: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)

    __table_args__ = (Index("ix_hub_notification_status_next", "status", "next_attempt_at"),)


class StatusKey(Base):
    __tablename__ = "status_key"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    salt: Mapped[str] = mapped_column(String(32))  # hex
    digest: Mapped[str] = mapped_column(String(64))  # hex scrypt(digits, salt)
    created_at: Mapped[datetime]
