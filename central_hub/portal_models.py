"""The hub's outbox to the national public service portal (services/portal_outbox.py).

``PortalMessage``: one dossier-sync message, written in the transaction of the status change
it describes. ``leaf`` is the log position of the record that made the change: a dossier's
messages are delivered in (leaf, id) order, one at a time. ``claimed_until`` is a sender's
lease: while it is in the future, no other sender touches the row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from central_hub.base import Base

# queued: to send (or to retry at next_attempt_at); delivered: the portal took it;
# refused: the portal refused its content (dead letter, kept with the portal's answer).
QUEUED, DELIVERED, REFUSED = "queued", "delivered", "refused"


class PortalMessage(Base):
    __tablename__ = "portal_message"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    dossier_code: Mapped[str] = mapped_column(String(64), index=True)
    leaf: Mapped[int] = mapped_column(BigInteger)
    delivery_key: Mapped[str] = mapped_column(String(120))
    status_code: Mapped[int]  # TrangThaiHoSo of the message
    body: Mapped[dict[str, Any]]
    origin: Mapped[str] = mapped_column(String(10), default="change")  # change | resync
    state: Mapped[str] = mapped_column(String(10), default=QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claim: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_portal_message_state_next", "state", "next_attempt_at"),
        Index("ix_portal_message_dossier_order", "dossier_code", "leaf", "id"),
    )
