"""Nodes as witnesses: a node that verified a checkpoint signs it (a cosignature); the hub
keeps the cosignatures, which auditors count. A hub that showed two nodes different
histories would need both to cosign inconsistent checkpoints — and they check consistency
before they sign."""

from __future__ import annotations

from sqlalchemy.orm import Session

from central_hub.models import Checkpoint, Cosignature, NodeKey
from central_hub.services.identity import Clock
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
    cp = session.get(Checkpoint, body.get("size"))
    if body.get("node") != node_id or cp is None or cp.root != body.get("root"):
        raise _bad("cosignature names another node or a checkpoint this hub never signed")
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
