"""Planning an audit export: which records, keys and checkpoints go into the bundle, and
the streams that read them in log order (rules: ``central_hub.services.export``).

Planning reads leaf numbers, sizes and the few evidence records (rotations, revocations);
the streams read records and checkpoints with ``yield_per``, merged with the planned extra
leaves and sizes, so memory never holds the records themselves.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central_hub.models import Checkpoint, LogRecord, Node
from central_hub.services.identity import HubIdentity
from common import record
from common.errors import NotFound

CHUNK = 500
_ANCHOR = re.compile(rb'"anchor":\{"root":"[0-9a-f]{64}","size":(\d{1,18})\}')
PUBLICATIONS = ("catalogue.published", "calendar.published")


@dataclass
class Scope:
    node_id: str
    agency_code: str | None
    name: str
    complete: bool
    head: int = 0


@dataclass
class ExportPlan:
    """What an export will write; :func:`plan_export` makes it, :func:`export_bundle` writes."""

    hub: HubIdentity
    since: datetime | None
    until: datetime | None
    start: int
    end: int
    latest: int
    nodes: list[Scope]
    all_nodes: bool
    extra_leaves: set[int] = field(default_factory=set)
    extra_sizes: set[int] = field(default_factory=set)
    rotations: dict[tuple[str, int], bytes] = field(default_factory=dict)  # (node, seq) -> raw
    successions: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (node, key) -> raw
    revocations: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (node, key)
    record_count: int = 0

    @property
    def node_ids(self) -> list[str]:
        return [n.node_id for n in self.nodes if n.node_id != self.hub.hub_id]


def _rows(session: Session, stmt: Any) -> Iterator[Any]:
    yield from session.execute(stmt.execution_options(yield_per=CHUNK))


def chunks(values: Iterable[int]) -> Iterator[list[int]]:
    ordered = sorted(values)
    for i in range(0, len(ordered), CHUNK):
        yield ordered[i : i + CHUNK]


def _leaf_of(session: Session, node_id: str, seq: int) -> int | None:
    return session.scalar(
        select(LogRecord.leaf).where(LogRecord.node_id == node_id, LogRecord.seq == seq)
    )


def _at_or_below(session: Session, node_id: str, seq: int) -> tuple[int, int] | None:
    """The node's stored record at ``seq``, or the nearest one below it (the seqs a declared
    chain break gave up are absent): (seq, leaf)."""
    row = session.execute(
        select(LogRecord.seq, LogRecord.leaf)
        .where(LogRecord.node_id == node_id, LogRecord.seq <= seq)
        .order_by(LogRecord.seq.desc())
        .limit(1)
    ).first()
    return (int(row[0]), int(row[1])) if row is not None else None


def _head_at(session: Session, node_id: str, size: int) -> int:
    """The node's last seq among leaves below ``size`` (binary search on the seq index)."""
    top = session.scalar(select(func.max(LogRecord.seq)).where(LogRecord.node_id == node_id))
    lo, hi = 0, top or 0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        found = _at_or_below(session, node_id, mid)
        if found is not None and found[1] < size:
            lo = mid
        else:
            hi = mid - 1
    found = _at_or_below(session, node_id, lo) if lo else None
    return found[0] if found is not None else 0


def _size_before(session: Session, when: datetime, latest: int) -> int:
    got = session.scalar(
        select(func.max(Checkpoint.size)).where(
            Checkpoint.created_at < when, Checkpoint.size <= latest
        )
    )
    return int(got or 0)


def _resolve(session: Session, communes: Sequence[str] | None) -> list[Node]:
    if communes is None:
        return list(session.scalars(select(Node).order_by(Node.agency_code)))
    out: list[Node] = []
    for code in communes:
        node = session.scalar(
            select(Node).where((Node.agency_code == code) | (Node.node_id == code))
        )
        if node is None:
            raise NotFound(f"no commune node {code}", vi=f"Không có nút xã {code}")
        if node not in out:
            out.append(node)
    return out


def plan_export(
    session: Session,
    *,
    hub: HubIdentity,
    communes: Sequence[str] | None,
    since: datetime | None,
    until: datetime | None,
    checkpoint_sizes: Sequence[int] = (),
) -> ExportPlan:
    """Decide what the bundle holds (rules in the module docstring); reads, writes nothing."""
    latest_cp = session.scalars(
        select(Checkpoint).order_by(Checkpoint.size.desc()).limit(1)
    ).first()
    latest = latest_cp.size if latest_cp else 0
    start = _size_before(session, since, latest) if since else 0
    end = _size_before(session, until, latest) if until else latest
    start = min(start, end)
    all_nodes = communes is None
    nodes = [
        Scope(n.node_id, n.agency_code, n.commune_name, True) for n in _resolve(session, communes)
    ]
    nodes.append(Scope(hub.hub_id, None, hub.name, all_nodes))
    plan = ExportPlan(hub, since, until, start, end, latest, nodes, all_nodes)
    for scope in nodes:
        scope.head = _head_at(session, scope.node_id, latest)
    _boundaries(session, plan)
    _evidence(session, plan)
    _sizes(session, plan, checkpoint_sizes)
    return plan


def _complete_ids(plan: ExportPlan) -> list[str]:
    return [n.node_id for n in plan.nodes if n.complete]


def _boundaries(session: Session, plan: ExportPlan) -> None:
    """Per complete chain: its first and last seq in the period, the records around them."""
    ids = _complete_ids(plan)
    found: dict[str, tuple[int, int, int]] = {}
    for chunk in [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]:
        stmt = (
            select(
                LogRecord.node_id, func.min(LogRecord.seq), func.max(LogRecord.seq), func.count()
            )
            .where(LogRecord.leaf >= plan.start, LogRecord.leaf < plan.end)
            .where(LogRecord.node_id.in_(chunk))
            .group_by(LogRecord.node_id)
        )
        for node_id, first, last, count in session.execute(stmt):
            found[node_id] = (first, last, count)
    for scope in plan.nodes:
        if not scope.complete:
            continue
        if scope.node_id in found:
            first, last, count = found[scope.node_id]
            plan.record_count += count
            around = [first - 1, last + 1]
        else:
            before = _head_at(session, scope.node_id, plan.start)
            around = [before, before + 1]
        for seq in around:
            if 1 <= seq <= scope.head:
                leaf = _leaf_of(session, scope.node_id, seq)
                if leaf is not None and leaf < plan.latest:
                    plan.extra_leaves.add(leaf)


def _evidence(session: Session, plan: ExportPlan) -> None:
    """Key evidence (rotations, revocations) and, for a partial hub chain, its relevant records."""
    ids = plan.node_ids
    for chunk in [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]:
        stmt = select(LogRecord.leaf, LogRecord.node_id, LogRecord.seq, LogRecord.raw).where(
            LogRecord.node_id.in_(chunk),
            LogRecord.type == "key.rotated",
            LogRecord.leaf < plan.latest,
        )
        for leaf, node_id, seq, raw in session.execute(stmt):
            plan.rotations[(node_id, seq)] = raw
            plan.extra_leaves.add(leaf)
    wanted = set(ids)
    revoked = (
        select(LogRecord.leaf, LogRecord.raw)
        .where(LogRecord.node_id == plan.hub.hub_id, LogRecord.type == "key.revoked")
        .where(LogRecord.leaf < plan.latest)
        .order_by(LogRecord.leaf)
    )
    for leaf, raw in session.execute(revoked):
        data = record.parse(raw).data
        if data.get("node") in wanted:
            plan.revocations[(str(data["node"]), str(data.get("key")))] = raw  # latest wins
            plan.extra_leaves.add(leaf)
    replaced = (
        select(LogRecord.leaf, LogRecord.raw)
        .where(LogRecord.node_id == plan.hub.hub_id, LogRecord.type == "key.replaced")
        .where(LogRecord.leaf < plan.latest)
    )
    for leaf, raw in session.execute(replaced):  # a new laptop's key (central-hub node replace)
        data = record.parse(raw).data
        if data.get("node") in wanted:
            plan.successions[(str(data["node"]), str(data.get("key")))] = raw
            plan.extra_leaves.add(leaf)
    if plan.all_nodes:
        return
    agencies = {n.agency_code for n in plan.nodes if n.agency_code}
    hub_records = (
        select(LogRecord.leaf, LogRecord.type, LogRecord.dossier_code)
        .where(LogRecord.node_id == plan.hub.hub_id)
        .where(LogRecord.leaf >= plan.start, LogRecord.leaf < plan.end)
    )
    for leaf, type_, code in _rows(session, hub_records):
        if type_ in PUBLICATIONS or (code and code.rsplit("-", 2)[0] in agencies):
            plan.extra_leaves.add(leaf)
            plan.record_count += 1


def _sizes(session: Session, plan: ExportPlan, asked: Sequence[int]) -> None:
    """Checkpoints to export besides the period's own ``(start, end]``."""
    for size in asked:
        if size > plan.latest or session.get(Checkpoint, size) is None:
            raise NotFound(f"no checkpoint of size {size}", vi=f"Không có điểm kiểm tra cỡ {size}")
        plan.extra_sizes.add(size)
    if plan.latest:
        plan.extra_sizes.add(plan.latest)
    if plan.start:
        plan.extra_sizes.add(plan.start)
    after = session.scalar(
        select(func.min(Checkpoint.size)).where(
            Checkpoint.size > plan.end, Checkpoint.size <= plan.latest
        )
    )
    if after is not None:
        plan.extra_sizes.add(after)
    for leaf in plan.extra_leaves:
        if not plan.start <= leaf < plan.end:
            first = session.scalar(select(func.min(Checkpoint.size)).where(Checkpoint.size > leaf))
            if first is not None:
                plan.extra_sizes.add(first)
    for raw in (row[1] for row in records(session, plan)):
        m = _ANCHOR.search(raw)
        size = int(m.group(1)) if m else 0
        outside = size and not plan.start < size <= plan.end and size <= plan.latest
        if outside and session.get(Checkpoint, size) is not None:
            plan.extra_sizes.add(size)


# ------------------------------------------------------------------ streams in log order


Pair = tuple[int, bytes]


def _merge(*streams: Iterable[Pair]) -> Iterator[Pair]:
    """Merge streams sorted by their first item, dropping repeats of that item."""
    last = None
    for row in heapq.merge(*streams, key=lambda r: r[0]):
        if row[0] != last:
            last = row[0]
            yield row


def _pairs(rows: Iterable[Any]) -> Iterator[Pair]:
    for r in rows:
        yield int(r[0]), bytes(r[1])


def records(session: Session, plan: ExportPlan) -> Iterator[Pair]:
    """(leaf, raw) of every record to export, in log order."""
    cols = (LogRecord.leaf, LogRecord.raw)
    period = select(*cols).where(LogRecord.leaf >= plan.start, LogRecord.leaf < plan.end)
    if not plan.all_nodes:
        period = period.where(LogRecord.node_id.in_(plan.node_ids))

    def extra() -> Iterator[Pair]:
        for chunk in chunks(plan.extra_leaves):
            stmt = select(*cols).where(LogRecord.leaf.in_(chunk)).order_by(LogRecord.leaf)
            yield from _pairs(session.execute(stmt))

    yield from _merge(_pairs(_rows(session, period.order_by(LogRecord.leaf))), extra())


def checkpoints(session: Session, plan: ExportPlan) -> Iterator[Pair]:
    """(size, signed) of every checkpoint to export, in size order."""
    cols = (Checkpoint.size, Checkpoint.signed)
    period = (
        select(*cols)
        .where(Checkpoint.size > plan.start, Checkpoint.size <= plan.end)
        .order_by(Checkpoint.size)
    )

    def extra() -> Iterator[Pair]:
        for chunk in chunks(plan.extra_sizes):
            stmt = select(*cols).where(Checkpoint.size.in_(chunk)).order_by(Checkpoint.size)
            yield from _pairs(session.execute(stmt))

    yield from _merge(_pairs(_rows(session, period)), extra())
