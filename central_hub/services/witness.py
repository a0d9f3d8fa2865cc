"""Nodes as witnesses: a node that verified a checkpoint signs it (a cosignature); the hub
keeps the cosignatures, which auditors count. A hub that showed two nodes different
histories would need both to cosign inconsistent checkpoints — and they check consistency
before they sign."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_hub.models import Alert, Checkpoint, Cosignature, LogBreak, NodeKey
from central_hub.services import logbreak, nodes, recovery, translog
from central_hub.services.identity import Clock, HubIdentity
from common import canonical, keys, protocol
from common.errors import DossierError


def accept_cosignature(
    session: Session, *, node_id: str, raw: bytes, clock: Clock
) -> Cosignature | None:
    """Verify and store one cosignature; an invalid one is refused with ``bad_cosignature``.
    The statement names the signing key; it must be one of this node's keys."""
    try:
        named = canonical.decode(raw[len(protocol.COSIGNATURE_PREFIX) : -64])
        key = session.get(NodeKey, named.get("key")) if isinstance(named, dict) else None
        if key is None or key.node_id != node_id:
            raise _bad("cosignature by a key this node does not have")
        body = protocol.open_statement(
            protocol.COSIGNATURE_PREFIX, raw, keys.public_from_hex(key.public_key)
        )
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
