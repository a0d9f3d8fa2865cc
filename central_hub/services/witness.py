"""Nodes as witnesses: a node that verified a checkpoint signs it (a cosignature); the hub
keeps the cosignatures, which auditors count. A hub that showed two nodes different
histories would need both to cosign inconsistent checkpoints — and they check consistency
before they sign."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_hub.models import Alert, Checkpoint, Cosignature, NodeKey
from central_hub.services import nodes, translog
from central_hub.services.identity import Clock
from common import canonical, cosignature, keys, protocol
from common.errors import DossierError


def accept_cosignature(
    session: Session, *, node_id: str, raw: bytes, clock: Clock
) -> Cosignature | None:
    """Verify and store one cosignature (version 1 or 2, ``common.cosignature``); an invalid
    one is refused with ``bad_cosignature``. The statement names the signing key; it must be
    one of this node's keys."""
    try:
        prefix = cosignature.prefix_of(raw)
        named = canonical.decode(raw[len(prefix) : -64])
        key = session.get(NodeKey, named.get("key")) if isinstance(named, dict) else None
        if key is None or key.node_id != node_id:
            raise _bad("cosignature by a key this node does not have")
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


def check_witnessed_size(session: Session, *, node_id: str, known: int, clock: Clock) -> bool:
    """A node reports the size of the newest checkpoint it verified. If that is larger than
    this hub's log, the database is older than what communes have witnessed (restored from
    a backup, most often); :mod:`recovery` then rebuilds the log from the communes' copies.
    The administrator must know at once which communes saw more: one alert per node until
    it is acknowledged. Returns whether the log is behind."""
    size = translog.current_size(session)
    if known <= size:
        return False
    open_alert = session.scalars(
        select(Alert.id).where(
            Alert.kind == LOG_BEHIND, Alert.node_id == node_id, Alert.acknowledged.is_(False)
        )
    ).first()
    if open_alert is None:
        nodes.alert(
            session,
            LOG_BEHIND,
            node_id,
            f"This node has verified a checkpoint of {known} records, but this hub's log holds "
            f"{size}: the hub's database is older than what communes have witnessed (restored "
            "from a backup?). The hub takes the lost records back from the communes before it "
            "accepts new ones (central-hub log-recovery; docs/reliability.md, hub restored "
            "from a backup).",
            clock(),
        )
    return True
