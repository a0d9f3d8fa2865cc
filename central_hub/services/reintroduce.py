"""A commune the hub no longer knows: its database was put back from a backup older than
the commune's enrolment. The node kept the enrolment this hub signed
(:func:`statement`, given at enrolment and on request); presented back with the node key's
proof, the hub checks its own signature, re-creates the node and its first key, and tells
the administrator. The node then gives back its records through the usual paths (push,
or refill while a log recovery is open). docs/operations.md, "A commune the restored hub
does not know"."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_hub.models import Node, NodeKey
from central_hub.services import nodes
from central_hub.services.identity import Clock, HubIdentity
from common import keys, protocol
from common.errors import DossierError, SignatureError


def statement(node: Node, key: NodeKey, *, hub: HubIdentity) -> bytes:
    """The hub's signed enrolment of ``node`` with its first key."""
    body = protocol.enrolment_body(
        origin=hub.origin,
        node=node.node_id,
        public_key=key.public_key,
        agency_code=node.agency_code,
        commune_name=node.commune_name,
        time=node.enrolled_at.isoformat(timespec="seconds"),
    )
    return protocol.sign_statement(protocol.ENROLMENT_PREFIX, body, hub.key)


def of_node(session: Session, node_id: str, *, hub: HubIdentity) -> bytes:
    node = nodes.get_node(session, node_id)
    key = session.get(NodeKey, node_id)  # a node's first key has the node's id
    if key is None:
        raise DossierError("the node's first key is not known")
    return statement(node, key, hub=hub)


def reintroduce(
    session: Session, *, enrolment: bytes, proof: bytes, hub: HubIdentity, clock: Clock
) -> Node:
    """Re-create a node from the enrolment this hub signed (idempotent: a node the hub knows
    is returned as it is). Refused with ``enrol_refused`` when the statement is not this
    hub's, the node does not prove it holds the key, or the agency code is another node's."""
    try:
        body = protocol.enrolment_of(
            enrolment, keys.public_from_hex(hub.public_hex), origin=hub.origin
        )
    except DossierError as exc:
        raise nodes.EnrolError(
            f"The enrolment is not one this hub signed: {exc.en}",
            vi="Bản đăng ký không phải do cấp trên này ký.",
        ) from exc
    public = keys.public_from_hex(body["public_key"])
    try:
        keys.verify(public, proof, protocol.reintroduce_message(enrolment))
    except SignatureError as exc:
        raise nodes.EnrolError(
            "The node did not prove it holds the enrolled key.",
            vi="Nút không chứng minh được quyền giữ khoá đã đăng ký.",
        ) from exc
    node_id = str(body["node"])
    known = session.get(Node, node_id)
    if known is not None:
        return known
    taken = session.scalar(select(Node).where(Node.agency_code == body["agency_code"]))
    if taken is not None:
        raise nodes.EnrolError(
            f"Agency code {body['agency_code']} is already used by another node.",
            vi=f"Mã cơ quan {body['agency_code']} đã thuộc nút khác.",
        )
    now = clock()
    node = Node(
        node_id=node_id,
        commune_name=str(body["commune_name"]),
        agency_code=str(body["agency_code"]),
        enrolled_at=now,
        state="active",
        head_seq=0,
    )
    key = NodeKey(
        key_id=node_id, node_id=node_id, public_key=body["public_key"], first_seq=1, created_at=now
    )
    session.add_all([node, key])
    nodes.alert(
        session,
        "node_reintroduced",
        node_id,
        f"Commune {body['commune_name']} ({body['agency_code']}) was not in this hub's "
        "database (put back from a backup older than its enrolment of "
        f"{body['time']}); it presented the enrolment this hub signed and was re-created. It "
        "now gives back its records. Nothing to do unless you did not expect it.",
        now,
    )
    return node
