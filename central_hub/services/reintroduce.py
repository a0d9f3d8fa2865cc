"""A commune the hub no longer knows: its database was put back from a backup older than
the commune's enrolment. The node kept the enrolment this hub signed
(:func:`statement`, given at enrolment and on request); presented back with the node key's
proof, the hub checks its own signature, re-creates the node and its first key, and tells
the administrator. The node then gives back its records through the usual paths (push,
or refill while a log recovery is open). docs/operations.md, "A commune the restored hub
does not know".

A commune may no longer hold the key its enrolment names: it rotated its key (the old one
is deleted once the hub acknowledged), or a new laptop continues it (``central-hub node
replace``). It then shows evidence with the enrolment: the ``key.replaced`` record this hub
signed for its new laptop, and its own ``key.rotated`` records, from the enrolled key to
the key that signs the proof (:func:`proven_keys`). A hub put back from a backup older than
the new laptop (it knows the commune, not the laptop) learns the new laptop's key the same
way, and the keys it replaced are retired again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_hub.models import Node, NodeKey
from central_hub.services import nodes
from central_hub.services.identity import Clock, HubIdentity
from common import keys, protocol, record
from common.errors import DossierError, SignatureError

MAX_EVIDENCE = 20  # key.replaced and key.rotated records a re-introduction may carry


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


def proven_keys(
    node_id: str, first_key: str, evidence: Sequence[bytes], *, hub: HubIdentity
) -> tuple[dict[str, keys.PublicKey], list[dict[str, Any]]]:
    """The keys of ``node_id`` the evidence proves, starting from its enrolled key
    ``first_key`` (hex): a new laptop's key from a ``key.replaced`` record this hub signed,
    a key a ``key.rotated`` record hands on to (signed by a key proven before it, proving
    possession of the new one). Keys a new laptop replaced (those it names, and any first
    used before it) are left out. (key id → public key, the ``key.replaced`` data shown)"""
    from central_hub.services.ingest import rotation_problem

    ring: dict[str, tuple[keys.PublicKey, int]] = {node_id: (keys.public_from_hex(first_key), 1)}
    hub_public = keys.public_from_hex(hub.public_hex)
    retired: set[str] = set()
    replacements: list[dict[str, Any]] = []
    for raw in evidence[:MAX_EVIDENCE]:
        try:
            rec = record.parse(raw)
            if rec.node == hub.hub_id and rec.type == "key.replaced":
                rec.verify(hub_public)
                data = dict(rec.data)
                public = keys.public_from_hex(str(data["public_key"]))
                if data.get("node") != node_id or keys.key_id(public) != data.get("key"):
                    continue
                ring[str(data["key"])] = (public, int(data["first_seq"]))
                retired.update(str(k) for k in data.get("replaces", []))
                replacements.append(data)
            elif rec.node == node_id and rec.type == "key.rotated" and rec.key in ring:
                rec.verify(ring[rec.key][0])
                if rotation_problem(rec) is None:
                    new = keys.public_from_hex(str(rec.data["new_key"]))
                    ring[keys.key_id(new)] = (new, rec.seq + 1)
        except (DossierError, KeyError, TypeError, ValueError):
            continue
    since = max((int(d["first_seq"]) for d in replacements), default=1)
    usable = {k: pub for k, (pub, first) in ring.items() if k not in retired and first >= since}
    return usable, replacements


def reintroduce(
    session: Session,
    *,
    enrolment: bytes,
    proof: bytes,
    hub: HubIdentity,
    clock: Clock,
    evidence: Sequence[bytes] = (),
) -> Node:
    """Re-create a node from the enrolment this hub signed (idempotent: a node the hub knows
    is returned as it is, but learns a new laptop's key it shows evidence for). Refused with
    ``enrol_refused`` when the statement is not this hub's, the node does not prove it holds
    a key the enrolment and the evidence prove, or the agency code is another node's."""
    try:
        body = protocol.enrolment_of(
            enrolment, keys.public_from_hex(hub.public_hex), origin=hub.origin
        )
    except DossierError as exc:
        raise nodes.EnrolError(
            f"The enrolment is not one this hub signed: {exc.en}",
            vi="Bản đăng ký không phải do cấp trên này ký.",
        ) from exc
    node_id = str(body["node"])
    usable, replacements = proven_keys(node_id, body["public_key"], evidence, hub=hub)
    if not any(_signed(public, proof, enrolment) for public in usable.values()):
        raise nodes.EnrolError(
            "The node did not prove it holds the enrolled key.",
            vi="Nút không chứng minh được quyền giữ khoá đã đăng ký.",
        )
    known = session.get(Node, node_id)
    if known is not None:
        for data in replacements:
            _replaced(session, known, data, clock())
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
    session.flush()
    for data in replacements:
        _replaced(session, node, data, now)
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


def _signed(public: keys.PublicKey, proof: bytes, enrolment: bytes) -> bool:
    try:
        keys.verify(public, proof, protocol.reintroduce_message(enrolment))
    except SignatureError:
        return False
    return True


def _replaced(session: Session, node: Node, data: dict[str, Any], now: datetime) -> None:
    """What ``central-hub node replace`` and the new laptop's enrolment had recorded, and a
    restore lost: the new laptop's key from its first seq; every key first used before it
    retired (refused ``node_replaced``) after the record before that seq."""
    key_id, first = str(data["key"]), int(data["first_seq"])
    if session.get(NodeKey, key_id) is not None:
        return
    for old in session.scalars(
        select(NodeKey).where(NodeKey.node_id == node.node_id, NodeKey.first_seq < first)
    ):
        old.replaced_by = old.replaced_by or key_id
        if old.revoked_at is None:
            end = first - 1 if old.last_valid_seq is None else min(old.last_valid_seq, first - 1)
            old.last_valid_seq = end
            old.revoked_at = now
            old.reason = "laptop replaced (shown again by the new laptop after a restore)"
    session.add(
        NodeKey(
            key_id=key_id,
            node_id=node.node_id,
            public_key=str(data["public_key"]),
            first_seq=first,
            created_at=now,
        )
    )
    nodes.alert(
        session,
        "node_replaced",
        node.node_id,
        f"The new laptop of {node.commune_name} ({node.agency_code}, key {key_id}, from record "
        f"{first}) was not in this hub's database (put back from an older backup); it showed "
        "the replacement this hub had signed and is known again. Its old laptop stays retired.",
        now,
    )
