"""The transparency log: append records as leaves, keep perfect-subtree hashes, sign
checkpoints, serve proofs. RFC 9162 maths from common.merkle; storage here.

Appends are serialised by the caller's write transaction (SQLite: BEGIN IMMEDIATE; on
PostgreSQL the ``log_size`` settings row is locked FOR UPDATE), so leaf numbers are dense
and in commit order. The hub never signs two checkpoints of the same size with different
roots, because a checkpoint is signed only for the size its own transaction appended.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from central_hub import loghead
from central_hub.models import Checkpoint, HubSetting, LogBreak, MerkleNode
from central_hub.services.identity import HubIdentity
from common import merkle, protocol
from common_io.database import insert_rows


class DbNodes:
    """A common.merkle reader over the merkle_node table (batched lookups)."""

    def __init__(self, session: Session, pending: Mapping[merkle.NodeKey, bytes] | None = None):
        self.session = session
        self.pending = dict(pending or {})

    def get(self, level: int, index: int) -> bytes:
        return self.get_many([(level, index)])[(level, index)]

    def get_many(self, keys: Sequence[merkle.NodeKey]) -> dict[merkle.NodeKey, bytes]:
        out = {k: self.pending[k] for k in keys if k in self.pending}
        missing = [k for k in keys if k not in out]
        if missing:
            stmt = select(MerkleNode).where(tuple_(MerkleNode.level, MerkleNode.index).in_(missing))
            for row in self.session.scalars(stmt):
                out[(row.level, row.index)] = row.hash
        return out


def current_size(session: Session) -> int:
    """Current log size, read without a lock (what a reader may compare against)."""
    row = session.get(HubSetting, "log_size")
    return int(row.value) if row is not None else 0


def lock_size(session: Session) -> int:
    """Current log size, with the row locked for this transaction where the database can."""
    row = session.scalars(
        select(HubSetting).where(HubSetting.key == "log_size").with_for_update()
    ).first()
    if row is None:
        session.add(HubSetting(key="log_size", value="0"))
        session.flush()
        return 0
    return int(row.value)


class Appender:
    """Stage appends within one transaction; :meth:`finish` writes nodes and a checkpoint."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.start = lock_size(session)
        self.range = merkle.CompactRange.from_nodes(self.start, DbNodes(session))
        self.nodes: list[merkle.Node] = []

    @property
    def size(self) -> int:
        return self.range.size

    def append(self, raw: bytes) -> int:
        leaf = self.range.size
        self.nodes.extend(self.range.append(merkle.leaf_hash(raw)))
        return leaf

    def finish(self, *, hub: HubIdentity, now: datetime) -> Checkpoint | None:
        if self.range.size == self.start:
            return None
        nodes = [{"level": lv, "index": ix, "hash": h} for lv, ix, h in self.nodes]
        insert_rows(self.session, MerkleNode, nodes)
        row = self.session.get(HubSetting, "log_size")
        assert row is not None
        row.value = str(self.range.size)
        return sign_checkpoint(
            self.session, hub=hub, size=self.range.size, root=self.range.root(), now=now
        )


def checkpoint_body(*, origin: str, size: int, root: bytes, now: datetime) -> dict[str, object]:
    return {
        "origin": origin,
        "root": root.hex(),
        "size": size,
        "time": now.isoformat(timespec="seconds"),
    }


def later_than_breaks(session: Session, now: datetime) -> datetime:
    """``now``, or a second after the latest break when ``now`` is not later than it (a
    checkpoint signed after a break must never look covered by it)."""
    last = session.scalar(select(func.max(LogBreak.at)))
    if last is None:
        return now
    floor = last.replace(microsecond=0) + timedelta(seconds=1)
    return now if now >= floor else floor


def sign_checkpoint(
    session: Session, *, hub: HubIdentity, size: int, root: bytes, now: datetime
) -> Checkpoint:
    now = later_than_breaks(session, now)
    body = checkpoint_body(origin=hub.origin, size=size, root=root, now=now)
    signed = protocol.sign_statement(protocol.CHECKPOINT_PREFIX, body, hub.key)
    cp = Checkpoint(size=size, root=root.hex(), signed=signed, created_at=now)
    session.add(cp)
    loghead.note(session, size, signed)  # written outside the database once committed
    return cp


def latest_checkpoint(session: Session) -> Checkpoint | None:
    return session.scalars(select(Checkpoint).order_by(Checkpoint.size.desc()).limit(1)).first()


def inclusion_proof(session: Session, leaf: int, size: int) -> list[bytes]:
    return merkle.inclusion_proof(DbNodes(session), leaf, size)


def consistency_proof(session: Session, old_size: int, new_size: int) -> list[bytes]:
    return merkle.consistency_proof(DbNodes(session), old_size, new_size)
