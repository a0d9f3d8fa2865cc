"""The node's keys over time: rotating the signing key, which key signs what, and forgetting
a replaced key once the hub holds its replacement.

* **Rotation**: the current key signs a ``key.rotated`` record naming the new key, and the
  new key proves possession by signing the rotation statement. The new key is saved as
  ``node_key.<id>.pem`` before the record commits; the setting ``key_id`` names it in the
  same transaction. From then on the new key signs every record and every cosignature — a
  node process that is already running reads ``key_id`` and picks the new key up at once.
* **Requests** to the hub are signed by the newest key the hub is known to hold: the key
  brought in by the last rotation a receipt covers (or that the hub named when it refused a
  replaced key with ``key_succeeded``). Before that the hub cannot know the new key.
* **Forgetting**: once a receipt covers a rotation record, the hub holds it and refuses the
  replaced key for everything; its private key file is deleted, so a stolen laptop carries
  only the key the hub administrator revokes.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import keys, protocol, record
from common_io.database import Database
from common_io.keyfile import save_private_key
from commune_node.models import Event
from commune_node.services import eventlog
from commune_node.services.identity import (
    Clock,
    NodeIdentity,
    current_key_id,
    get_setting,
    head_setting,
    key_files,
    key_path,
    load_identity,
    load_key,
    set_setting,
)

HUB_HOLDS = "hub_rotation_seq"  # the highest rotation seq the hub said it holds


@dataclass(frozen=True)
class Rotation:
    seq: int
    old: str  # key id
    new: str  # key id


MAX_CHAIN = 16  # the hub reads at most this many rotation records from a request


def chain_header(session: Session) -> str:
    """The ``X-Key-Chain`` request header: this node's newest rotation records (base64,
    comma-separated, oldest first). A hub that lost a rotation it had acknowledged (restored
    from an older backup) checks each with a key it holds and so learns the key that signs
    the request; empty without a rotation."""
    raws = list(
        session.scalars(
            select(Event.record)
            .where(Event.type == "key.rotated")
            .order_by(Event.seq.desc())
            .limit(MAX_CHAIN)
        )
    )
    return ",".join(base64.b64encode(raw).decode() for raw in reversed(raws))


def rotations(session: Session) -> list[Rotation]:
    """The rotations in this node's chain, oldest first."""
    out = []
    for raw in session.scalars(
        select(Event.record).where(Event.type == "key.rotated").order_by(Event.seq)
    ):
        rec = record.parse(raw)
        out.append(Rotation(rec.seq, rec.key, keys.key_id(bytes.fromhex(rec.data["new_key"]))))
    return out


def rotate(
    session: Session, instance: Path, *, identity: NodeIdentity, clock: Clock, actor: str
) -> tuple[NodeIdentity, record.Record]:
    """Write the rotation record and make the new key current; returns the new identity.

    The new key file is written (mode 0600, fsynced) before the record; the record, the
    ``key_id`` setting and the re-signed pending cosignature commit in the caller's
    transaction. A failure before the commit leaves the old key current and an unused key
    file (the caller removes it); after it, the new key is current — never a record naming
    a key the node does not have."""
    new_key = keys.generate()
    new_identity = NodeIdentity(
        identity.node_id, new_key, identity.commune_name, identity.agency_code
    )
    save_private_key(instance / f"node_key.{new_identity.key_id}.pem", new_key)
    last = eventlog.head(session)
    seq = last.seq + 1 if last else 1
    proof = keys.sign(new_key, protocol.rotation_message(identity.node_id, identity.key_id, seq))
    rec = eventlog.append(
        session,
        identity=identity,
        clock=clock,
        dossier=None,
        type="key.rotated",
        actor=actor,
        data={"new_key": keys.public_bytes(new_key).hex(), "proof": proof.hex()},
    )
    set_setting(session, "key_id", new_identity.key_id)
    _resign_pending_cosignature(session, new_identity)
    return new_identity, rec


def rotate_now(
    database: Database, instance: Path, *, clock: Clock, actor: str
) -> tuple[NodeIdentity, NodeIdentity, record.Record]:
    """Rotate the key in a transaction of its own (``commune-node rotate-key``): the key
    current when the transaction begins signs the rotation. If it does not commit, its new
    key file is removed. (old identity, new identity, the rotation record)"""
    before = set(key_files(instance))
    try:
        with database.write() as session:
            old = load_identity(session, instance)
            new, rec = rotate(session, instance, identity=old, clock=clock, actor=actor)
    except BaseException:
        for path in set(key_files(instance)) - before:
            path.unlink()
        raise
    return old, new, rec


def _resign_pending_cosignature(session: Session, identity: NodeIdentity) -> None:
    """A cosignature waiting to ride on the next request is signed again by the new key, so
    the replaced key signs nothing the hub receives after it holds the rotation."""
    pending = get_setting(session, "pending_cosignature")
    signed = get_setting(session, "anchor_checkpoint")
    if not pending or not signed:
        return
    raw = protocol.unb64(signed, "anchor_checkpoint")
    body = protocol.statement_claims(protocol.CHECKPOINT_PREFIX, raw)
    cosig = protocol.sign_statement(
        protocol.COSIGNATURE_PREFIX,
        protocol.cosignature_body(
            body, node=identity.node_id, key=identity.key_id, head=head_setting(session)
        ),
        identity.key,
    )
    set_setting(session, "pending_cosignature", protocol.b64(cosig))


def hub_key_id(session: Session, node_id: str) -> str:
    """The newest key the hub is known to hold: brought in by the last rotation a receipt
    covers, or that the hub named in a ``key_succeeded`` refusal."""
    held = max(
        int(get_setting(session, "acked_seq", "0") or 0),
        int(get_setting(session, HUB_HOLDS, "0") or 0),
    )
    key_id, first = node_id, 0
    replacement = get_setting(session, "replacement")
    if replacement:  # a laptop that replaced a lost one: its own key, from its first seq
        taken = json.loads(replacement)
        key_id, first = str(taken["key"]), int(taken["first_seq"])
    for rot in rotations(session):
        if first <= rot.seq <= held:
            key_id = rot.new
    return key_id


def request_key(session: Session, instance: Path, identity: NodeIdentity) -> keys.PrivateKey:
    """The key that signs the next request to the hub (read per request)."""
    key_id = hub_key_id(session, identity.node_id)
    if key_id == identity.key_id:
        return identity.key
    return load_key(instance, key_id)


def hub_holds(session: Session, successor: str) -> bool:
    """The hub refused a key as replaced by ``successor``: note that it holds the rotation
    that brought ``successor`` in. True when that moves the request key on."""
    before = int(get_setting(session, HUB_HOLDS, "0") or 0)
    for rot in rotations(session):
        if rot.new == successor and rot.seq > before:
            set_setting(session, HUB_HOLDS, str(rot.seq))
            return True
    return False


def forget_replaced(session: Session, instance: Path) -> list[str]:
    """Delete the private key file of every key whose rotation record a receipt covers (the
    hub holds it and refuses that key from now on). Returns the ids forgotten."""
    acked = int(get_setting(session, "acked_seq", "0") or 0)
    current = current_key_id(session)
    gone = []
    for rot in rotations(session):
        if rot.seq > acked or rot.old == current:
            continue
        path = key_path(instance, rot.old)
        if path is not None:
            path.unlink()
            gone.append(rot.old)
    if gone:
        fd = os.open(instance, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return gone
