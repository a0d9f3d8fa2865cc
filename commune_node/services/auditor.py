"""What a commune node gives an inspector, through a channel other than the hub: the hub's
public key with its fingerprint, and the checkpoint file ``dossier-audit verify
--checkpoint`` reads — the newest checkpoint this node verified, with this node's
cosignature of it, which names the node's own head in it, and the hub's signed enrolment of
this node (agency code and commune name) when the node kept one (docs/audit.md §6)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from common import keys, protocol
from common.audit.bundle_read import CHECKPOINT_FILE_FORMAT
from common.errors import NotFound
from commune_node.services.identity import NodeIdentity, get_setting, head_setting


@dataclass(frozen=True)
class HubKey:
    public_hex: str
    fingerprint: str
    hub_id: str
    origin: str


def hub_key(session: Session) -> HubKey | None:
    """The hub key this node pinned at enrolment, or None before enrolment."""
    public = get_setting(session, "hub_public_key")
    if not public:
        return None
    return HubKey(
        public,
        keys.fingerprint(bytes.fromhex(public)),
        get_setting(session, "hub_id") or "",
        get_setting(session, "origin") or "",
    )


def checkpoint_file(session: Session, *, identity: NodeIdentity) -> dict[str, Any]:
    """The checkpoint file: the newest checkpoint this node verified and a fresh
    cosignature of it naming our newest record proven in the log. Raises NotFound when the
    node has verified no checkpoint yet."""
    pinned = hub_key(session)
    signed_b64 = get_setting(session, "anchor_checkpoint")
    if pinned is None or not signed_b64:
        raise NotFound(
            "this node has not verified a checkpoint of the hub yet: sync first",
            vi="Nút chưa xác minh điểm kiểm tra nào của cấp trên: hãy đồng bộ trước",
        )
    signed = protocol.unb64(signed_b64, "checkpoint")
    cp = protocol.checkpoint_of(
        signed, keys.public_from_hex(pinned.public_hex), origin=pinned.origin
    )
    head = head_setting(session)
    cosig = protocol.sign_statement(
        protocol.COSIGNATURE_PREFIX,
        protocol.cosignature_body(cp, node=identity.node_id, key=identity.key_id, head=head),
        identity.key,
    )
    enrolment = get_setting(session, "enrolment")
    return {
        "format": CHECKPOINT_FILE_FORMAT,
        "enrolment": enrolment or None,
        "checkpoint": {"signed": signed_b64, "size": cp["size"], "root": cp["root"]},
        "cosignature": {"node": identity.node_id, "signed": protocol.b64(cosig)},
        "hub": {"id": pinned.hub_id, "key": pinned.public_hex, "fingerprint": pinned.fingerprint},
    }
