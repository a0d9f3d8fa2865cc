"""Rotating the node's signing key: the old key signs a ``key.rotated`` record naming the
new key, and the new key proves possession by signing the rotation statement. Records after
that one are signed by the new key. Requests to the hub stay signed by the old key until
the hub has acknowledged the rotation record (it cannot know the new key before)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.orm import Session

from common import keys, protocol, record
from common_io.keyfile import load_private_key, save_private_key
from commune_node.services import eventlog
from commune_node.services.identity import KEY_FILE, Clock, NodeIdentity, get_setting, set_setting


def rotate(
    session: Session, instance: Path, *, identity: NodeIdentity, clock: Clock, actor: str
) -> tuple[NodeIdentity, record.Record]:
    """Write the rotation record and switch the key file; returns the new identity.

    The new key is saved first under a temporary name; the record and the settings commit in
    the caller's transaction; :func:`finish` then moves the files. A crash in between leaves
    the old key in place and the rotation record unwritten, or both written — never a record
    that names a key the node does not have."""
    new_key = keys.generate()
    pending = instance / f"{KEY_FILE}.next"
    if pending.exists():
        pending.unlink()
    save_private_key(pending, new_key)
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
    set_setting(session, "rotation_seq", str(rec.seq))
    set_setting(session, "previous_key_id", identity.key_id)
    new_identity = NodeIdentity(
        identity.node_id, new_key, identity.commune_name, identity.agency_code
    )
    return new_identity, rec


def finish(instance: Path, old_key_id: str) -> None:
    """After the commit: keep the old key (for requests until the hub knows the new one)."""
    current = instance / KEY_FILE
    os.replace(current, instance / f"node_key.{old_key_id}.pem")
    os.replace(instance / f"{KEY_FILE}.next", current)


def request_key(session: Session, instance: Path, identity: NodeIdentity) -> keys.PrivateKey:
    """The key that signs requests: the previous one until the hub acknowledged the rotation."""
    rotation = get_setting(session, "rotation_seq")
    if rotation is None:
        return identity.key
    acked = int(get_setting(session, "acked_seq", "0") or 0)
    if acked >= int(rotation):
        return identity.key
    old_id = get_setting(session, "previous_key_id")
    return load_private_key(instance / f"node_key.{old_id}.pem")
