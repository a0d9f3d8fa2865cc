"""The node's backlog: the records that wait for the hub's receipt, and the report of it that
every request to the hub carries (how many wait, the oldest one's time, and the size of the
newest checkpoint this node verified)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common import personal
from common_io.database import Database
from commune_node.models import Event
from commune_node.services import witness
from commune_node.services.identity import get_setting


def acked_seq(session: Session) -> int:
    return int(get_setting(session, "acked_seq", "0") or 0)


def queue_report(session: Session) -> tuple[int, datetime | None]:
    """How many records wait for a receipt, and the node time of the oldest one."""
    acked = acked_seq(session)
    waiting = session.scalar(select(func.count()).select_from(Event).where(Event.seq > acked)) or 0
    oldest = session.scalar(select(Event.at).where(Event.seq > acked).order_by(Event.seq).limit(1))
    return waiting, oldest


def report_query(db: Database) -> str:
    """What every request tells the hub: the queue (records waiting, the oldest one's time),
    the size of the newest checkpoint this node verified, and the id of the hub encryption
    key it seals personal data to."""
    with db.read() as session:
        waiting, oldest = queue_report(session)
        sealing = get_setting(session, "hub_encryption_key")
    params: dict[str, int | str] = {"waiting": waiting}
    if oldest is not None:
        params["oldest"] = int(oldest.timestamp())
    params["known"] = witness.known_checkpoint(db)[0]
    if sealing:
        params["sealing"] = personal.encryption_key_id(bytes.fromhex(sealing))
    return urlencode(params)
