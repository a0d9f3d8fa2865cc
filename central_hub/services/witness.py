"""Nodes as witnesses: a node that verified a checkpoint signs it (a cosignature); the hub
keeps the cosignatures, which auditors count. A hub that showed two nodes different
histories would need both to cosign inconsistent checkpoints — and they check consistency
before they sign."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_hub.models import (
    Alert,
    Checkpoint,
    Cosignature,
    CosignatureAside,
    LogBreak,
    NodeKey,
)
from central_hub.services import logbreak, nodes, recovery, translog
from central_hub.services.identity import Clock, HubIdentity
from common import cosignature, keys, protocol
from common.errors import DossierError

ASIDE_PER_NODE = 64  # cosignatures kept for keys not known yet, per node (newest kept)


def accept_cosignature(
    session: Session, *, node_id: str, raw: bytes, clock: Clock
) -> Cosignature | None:
    """Verify and store one cosignature (version 1 or 2, ``common.cosignature``); an invalid
    one is refused with ``bad_cosignature``.

    The statement names the signing key. A key this node has not announced yet (it cosigned
    with its new key before the push carrying the rotation record) is not a refusal: the
    cosignature is set aside and checked when the rotation record registers the key
    (:func:`resolve_set_aside`). A key that has been revoked, or succeeded by a rotation the
    hub holds, signs nothing any more: refused."""
    named = _named_key(raw)
    key = session.get(NodeKey, named) if named else None
    if key is None or key.node_id != node_id:
        if named is None or (key is not None and key.node_id != node_id):
            raise _bad("cosignature by a key this node does not have")
        _set_aside(session, node_id=node_id, key_id=named, raw=raw, clock=clock)
        return None
    if key.revoked_at is not None:
        raise _bad(f"cosignature by key {key.key_id}, revoked by the hub administrator")
    if key.last_valid_seq is not None:
        raise _bad(f"cosignature by key {key.key_id}, succeeded by a rotation the hub holds")
    return _store(session, node_id=node_id, raw=raw, key=key, clock=clock)


def _claims(raw: bytes) -> dict[str, object]:
    try:
        return protocol.statement_claims(cosignature.prefix_of(raw), raw)
    except DossierError as exc:
        raise _bad(f"cosignature does not verify: {exc.en}") from exc


def _named_key(raw: bytes) -> str | None:
    key = _claims(raw).get("key")
    return key if isinstance(key, str) and len(key) == 32 else None


def _store(
    session: Session, *, node_id: str, raw: bytes, key: NodeKey, clock: Clock
) -> Cosignature | None:
    try:
        prefix = cosignature.prefix_of(raw)
        body = protocol.open_statement(prefix, raw, keys.public_from_hex(key.public_key))
        cosignature.check_fields(prefix, body)
    except DossierError as exc:
        raise _bad(f"cosignature does not verify: {exc.en}") from exc
    if body.get("node") != node_id:
        raise _bad("cosignature names another node")
    cp = session.get(Checkpoint, body.get("size"))
    if cp is None:
        # Signed by this hub's key (the node verified it) but no longer held: lost with a
        # restore from a backup. Nothing to keep it against; refusing would stall the node.
        return None
    if cp.root != body.get("root"):
        if logbreak.covering(session, body) is not None:
            return None  # a checkpoint a declared break gave up: nothing to keep it against
        raise _bad("cosignature names a checkpoint this hub never signed")
    existing = session.get(Cosignature, (cp.size, node_id))
    if existing is not None:
        return existing
    row = Cosignature(size=cp.size, node_id=node_id, signed=raw, received_at=clock())
    session.add(row)
    return row


def _set_aside(session: Session, *, node_id: str, key_id: str, raw: bytes, clock: Clock) -> None:
    """Keep a cosignature by a key not known yet; at most :data:`ASIDE_PER_NODE` per node."""
    size = _named_size(raw)
    if session.get(CosignatureAside, (node_id, key_id, size)) is None:
        session.add(
            CosignatureAside(
                node_id=node_id, key_id=key_id, size=size, signed=raw, received_at=clock()
            )
        )
        session.flush()
    stale = session.scalars(
        select(CosignatureAside)
        .where(CosignatureAside.node_id == node_id)
        .order_by(CosignatureAside.received_at.desc(), CosignatureAside.size.desc())
        .offset(ASIDE_PER_NODE)
    ).all()
    for row in stale:
        session.delete(row)


def _named_size(raw: bytes) -> int:
    size = _claims(raw).get("size")
    if type(size) is not int or size < 0:
        raise _bad("cosignature names no checkpoint size")
    return size


def resolve_set_aside(session: Session, *, key: NodeKey, clock: Clock) -> int:
    """The rotation record registering ``key`` arrived: check the cosignatures set aside for
    it. Valid ones are kept as cosignatures; an invalid one is an alert. Returns how many
    were kept."""
    kept = 0
    rows = session.scalars(
        select(CosignatureAside).where(
            CosignatureAside.node_id == key.node_id, CosignatureAside.key_id == key.key_id
        )
    ).all()
    for row in rows:
        try:
            if _store(session, node_id=key.node_id, raw=row.signed, key=key, clock=clock):
                kept += 1
        except protocol.ProtocolError as exc:
            nodes.alert(session, "bad_cosignature", key.node_id, f"set-aside {exc.en}", clock())
        session.delete(row)
    return kept


def _bad(en: str) -> protocol.ProtocolError:
    err = protocol.ProtocolError(en, vi="Chữ ký xác nhận điểm kiểm tra không hợp lệ")
    err.code = "bad_cosignature"
    return err


LOG_BEHIND = "log_behind_witness"
UNPROVEN = "unproven_witness"


@dataclass(frozen=True)
class Known:
    """What the hub makes of a node's ``known`` report: ``proven`` (size, root) when the
    node proved a checkpoint larger than the log with the hub's own signature; ``given_up``
    when the checkpoint it verified is one a declared break gave up."""

    proven: tuple[int, bytes] | None = None
    given_up: LogBreak | None = None


def weigh_known(
    session: Session,
    *,
    node_id: str,
    known: int,
    evidence: bytes | None,
    hub: HubIdentity,
    clock: Clock,
) -> Known:
    """A node reports the size of the newest checkpoint it verified (``known``) and, from
    protocol version 2 on, that checkpoint itself (``evidence``). Only a checkpoint of that
    size that this hub's key signed for this log proves the log is behind (restored from a
    backup); a bare number, or anything else, is a claim: one ``unproven_witness`` alert
    about the node, and nothing else changes (docs/threat-model.md)."""
    size = translog.current_size(session)
    cp = _open_checkpoint(evidence, hub) if evidence is not None else None
    if cp is not None and int(cp["size"]) == known:
        brk = logbreak.covering(session, cp) if known > 0 else None
        if brk is not None:
            return Known(given_up=brk)
        if known > size:
            _alert_once(
                session,
                LOG_BEHIND,
                node_id,
                f"This node has verified a checkpoint of {known} records signed by this hub, "
                f"but this hub's log holds {size}: the hub's database is older than what "
                "communes have witnessed (restored from a backup?). The hub takes the lost "
                "records back from the communes before it accepts new ones (central-hub "
                "log-recovery; docs/reliability.md, hub restored from a backup).",
                clock,
            )
            return Known(proven=(known, bytes.fromhex(str(cp["root"]))))
        return Known()
    if known <= size:
        return Known()
    rec = recovery.current(session)
    if rec is not None and known <= rec.target:
        return Known()  # what another commune proved already: nothing new is claimed
    _alert_once(
        session,
        UNPROVEN,
        node_id,
        f"This node claims to have verified a checkpoint of {known} records, but this hub's "
        f"log holds {size} and the node sent no checkpoint this hub signed of that size "
        f"({'an unverifiable one' if evidence is not None else 'none at all'}). Nothing was "
        "changed: no log recovery opens on a claim. A node of an older version sends no "
        "evidence; otherwise the node is faulty or hostile (docs/threat-model.md, a "
        "commune claims a checkpoint the hub never signed).",
        clock,
    )
    return Known()


def _open_checkpoint(raw: bytes, hub: HubIdentity) -> dict[str, Any] | None:
    try:
        return protocol.checkpoint_of(raw, keys.public_from_hex(hub.public_hex), origin=hub.origin)
    except (DossierError, ValueError):
        return None


def _alert_once(session: Session, kind: str, node_id: str, message: str, clock: Clock) -> None:
    """One open alert of ``kind`` per node, not one per request."""
    open_alert = session.scalars(
        select(Alert.id).where(
            Alert.kind == kind, Alert.node_id == node_id, Alert.acknowledged.is_(False)
        )
    ).first()
    if open_alert is None:
        nodes.alert(session, kind, node_id, message, clock())
