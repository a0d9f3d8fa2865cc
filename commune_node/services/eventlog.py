"""Appending to the node's own signed chain. Called only inside a write transaction, by the
service that changes the state the event records, so state and event commit together."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import personal, record
from common.errors import DossierError
from commune_node.models import Event
from commune_node.services import form_numbers, personal_data
from commune_node.services.identity import Clock, NodeIdentity, get_setting, latest_anchor


class KeyChanged(DossierError):
    """The key this writer read was replaced by a rotation (perhaps in another process)."""

    code = "key_changed"
    status = 409
    en = "The node's key was just replaced; try again."
    vi = "Khoá của nút vừa được thay; hãy thử lại."


def head(session: Session) -> Event | None:
    return session.scalars(select(Event).order_by(Event.seq.desc()).limit(1)).first()


def append(
    session: Session,
    *,
    identity: NodeIdentity,
    clock: Clock,
    dossier: str | None,
    type: str,
    actor: str,
    data: dict[str, Any],
) -> record.Record:
    """Sign the next record of this node's chain and add it to the session. A key a rotation
    has replaced (perhaps by another process, since ``identity`` was read) signs nothing.
    A dossier record commits to the person's data (``data.pd``); the values are kept in the
    ``disclosure`` table (services/personal_data.py)."""
    current = get_setting(session, "key_id")
    if current and current != identity.key_id:
        raise KeyChanged()
    last = head(session)
    disclosures: tuple[personal.Disclosure, ...] = ()
    if dossier is not None:  # the person's data goes apart; the record commits to it
        data, disclosures = personal_data.conceal(data)
    rec = record.make(
        private_key=identity.key,
        node=identity.node_id,
        seq=last.seq + 1 if last else 1,
        prev=last.record_id if last else None,
        at=clock(),
        anchor=latest_anchor(session),
        dossier=dossier,
        type=type,
        actor=actor,
        data=data,
    )
    session.add(
        Event(
            seq=rec.seq,
            record_id=rec.id,
            dossier_code=dossier,
            type=type,
            actor=actor,
            at=rec.at_time,
            record=rec.raw,
        )
    )
    personal_data.keep(session, record_id=rec.id, dossier=dossier, disclosures=disclosures)
    form_numbers.assign(session, record_id=rec.id, type=type, seq=rec.seq, at=rec.at_time)
    return rec


def read_after(session: Session, after: int, limit: int = 500) -> list[Event]:
    stmt = select(Event).where(Event.seq > after).order_by(Event.seq).limit(limit)
    return list(session.scalars(stmt))
