"""The hub's own chain of records, and the feed that carries them to nodes.

The hub writes records in exactly the nodes' format (common.record) under its own id and
key: events on forwarded dossiers, catalogue and calendar publications, key revocations.
Each is appended to the transparency log like any node record, and addressed to one node
or to every node (``*``). A node pulls what is addressed to it after its cursor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from central_hub import journal
from central_hub.models import FeedItem, HubDossier, LogRecord
from central_hub.services import disclosures, dossiers, portal_outbox, translog
from central_hub.services.identity import Clock, HubIdentity, set_setting
from common import lifecycle, personal, record
from common.lifecycle import Side

EVERYONE = "*"


def _hub_head(session: Session, hub: HubIdentity) -> LogRecord | None:
    return session.scalars(
        select(LogRecord)
        .where(LogRecord.node_id == hub.hub_id)
        .order_by(LogRecord.seq.desc())
        .limit(1)
    ).first()


def hub_head_seq(session: Session, hub: HubIdentity) -> int:
    head = _hub_head(session, hub)
    return head.seq if head else 0


def _anchor(session: Session) -> record.Anchor | None:
    cp = translog.latest_checkpoint(session)
    return record.Anchor(cp.size, cp.root) if cp else None


def publish(
    session: Session,
    *,
    hub: HubIdentity,
    clock: Clock,
    type: str,
    data: dict[str, Any],
    audience: str,
    actor: str,
    dossier: str | None = None,
) -> record.Record:
    """Sign the hub's next record, apply it if it is a dossier event, log it, address it.
    Refused (``log_recovering``) while the log is rebuilt after a restore: the hub's next
    seq and leaf may already exist in the communes' copies."""
    from central_hub.services import recovery

    recovery.guard(session)
    now = clock()
    head = _hub_head(session, hub)
    shown: tuple[personal.Disclosure, ...] = ()
    if dossier is not None and personal.COMMITMENTS not in data:
        data, shown = personal.conceal(data)  # an officer's free text: kept apart, encrypted
    rec = record.make(
        private_key=hub.key,
        node=hub.hub_id,
        seq=head.seq + 1 if head else 1,
        prev=head.record_id if head else None,
        at=now,
        anchor=_anchor(session),
        dossier=dossier,
        type=type,
        actor=actor,
        data=data,
    )
    disclosures.keep(session, rec, shown, hub=hub, now=now)
    _log(session, rec, hub=hub, audience=audience, now=now)
    journal.note(session, rec.raw)  # kept outside the database too, once committed
    return rec


def replay(session: Session, rec: record.Record, *, hub: HubIdentity, clock: Clock) -> None:
    """Put back one of the hub's own records that a restore lost and a node gave back
    (signature and chain already checked): applied, logged and addressed as the first time.
    A dossier event goes to the dossier's commune; anything else to every node."""
    now = clock()
    audience = EVERYONE
    if rec.dossier is not None:
        row = session.get(HubDossier, rec.dossier)
        audience = row.node_id if row is not None else EVERYONE
    if rec.type == "catalogue.published" and "version" in rec.data:
        set_setting(session, "catalogue_version", str(rec.data["version"]))
    _log(session, rec, hub=hub, audience=audience, now=now)
    journal.note(session, rec.raw)  # the journal may have been lost with the database


def _log(
    session: Session, rec: record.Record, *, hub: HubIdentity, audience: str, now: datetime
) -> None:
    before = None
    if rec.dossier is not None:
        found = session.get(HubDossier, rec.dossier)
        before = lifecycle.state_from_dict(found.state) if found is not None else None
        row = dossiers.apply_record(session, rec, side=Side.HUB, now=now)
        after = lifecycle.state_from_dict(row.state)
    appender = translog.Appender(session)
    leaf = appender.append(rec.raw)
    session.add(
        LogRecord(
            leaf=leaf,
            node_id=hub.hub_id,
            seq=rec.seq,
            record_id=rec.id,
            dossier_code=rec.dossier,
            type=rec.type,
            raw=rec.raw,
            stored_at=now,
        )
    )
    session.flush()
    session.add(FeedItem(leaf=leaf, audience=audience))
    appender.finish(hub=hub, now=now)
    if rec.dossier is not None:  # the portal hears of it in this same transaction
        change = portal_outbox.Change(rec, before, after, leaf)
        portal_outbox.note(session, [change], hub_id=hub.hub_id, now=now)


def pull(
    session: Session, node_id: str, *, after: int, max_bytes: int, max_items: int = 500
) -> list[tuple[int, bytes]]:
    """Feed items for ``node_id`` after cursor ``after``: (item id, record bytes), bounded."""
    stmt = (
        select(FeedItem.id, LogRecord.raw)
        .join(LogRecord, LogRecord.leaf == FeedItem.leaf)
        .where(
            FeedItem.id > after, or_(FeedItem.audience == node_id, FeedItem.audience == EVERYONE)
        )
        .order_by(FeedItem.id)
        .limit(max_items)
    )
    out: list[tuple[int, bytes]] = []
    total = 0
    for item_id, raw in session.execute(stmt):
        if out and total + len(raw) > max_bytes:
            break
        out.append((item_id, raw))
        total += len(raw)
    return out
