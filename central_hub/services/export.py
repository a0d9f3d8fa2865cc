"""The audit export: one bundle file (``common.audit.bundle_format``, ``docs/audit.md``) that
lets an auditor check, offline and without trusting the hub, every record of some communes
stored in a period.

What goes in, for a period ``[since, until)`` and a set of communes (all when none given):

* **The period in log terms**: ``start`` = size of the last checkpoint made before
  ``since`` (0 without ``since``), ``end`` = size of the last checkpoint made before
  ``until`` (the latest without ``until``). The period's records are the leaves
  ``start .. end-1``.
* **Chains**: every record of the communes' nodes in the period, plus, per node, the record
  just before (it shows the chain enters the period there) and just after (it shows it
  leaves). The hub's own chain is *complete* when every commune is exported; otherwise it
  is *partial*: only the hub records that concern the communes (events on their dossiers,
  the catalogue and calendar it published in the period, and every revocation of their
  keys).
* **Key history**: every key of those nodes, each with its evidence (the ``key.rotated``
  record that made it, the hub's ``key.revoked`` record), and those evidence records in
  the log part too.
* **Checkpoints**: every checkpoint in the period, the one before it (``start``) and the
  first after it, the latest, any asked for (``checkpoint_sizes``: the size of a checkpoint
  the auditor holds), every checkpoint named by an exported record's anchor, and the first
  checkpoint including each exported record; each linked to the previous one by a
  consistency proof, with the cosignatures of the nodes the bundle declares.
* Each record proven included in the first exported checkpoint that includes it.

Everything is read by size or leaf below the latest checkpoint at planning time, streamed
with ``yield_per`` and written line by line; memory holds sets of leaf numbers and sizes,
never the records. Run it in one snapshot transaction (REPEATABLE READ on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_hub.models import Cosignature, NodeKey
from central_hub.services import logbreak
from central_hub.services.export_plan import CHUNK, ExportPlan, checkpoints, plan_export, records
from central_hub.services.identity import Clock, HubIdentity, system_clock
from central_hub.services.translog import DbNodes
from common import cosignature, keys, merkle, record_fast
from common.audit import bundle_format as bf
from common.errors import DossierError

__all__ = ["ExportPlan", "export_bundle", "plan_export"]


def _signer(cosig: Cosignature) -> str | None:
    """The key a cosignature names (a hint on its line; the verifier checks it)."""
    try:
        body = record_fast.decode(cosig.signed[len(cosignature.prefix_of(cosig.signed)) : -64])
    except DossierError:
        return None
    key = body.get("key") if isinstance(body, dict) else None
    return key if isinstance(key, str) and len(key) == 32 else None


def _cosignatures(session: Session, plan: ExportPlan, size: int) -> Iterator[Cosignature]:
    """The cosignatures of one checkpoint by the nodes the bundle declares (the verifier
    cannot check a cosignature by a node whose keys the bundle does not hold)."""
    stmt = select(Cosignature).where(Cosignature.size == size)
    if not plan.all_nodes:
        stmt = stmt.where(Cosignature.node_id.in_(plan.node_ids))
    yield from session.scalars(stmt.order_by(Cosignature.node_id))


# ------------------------------------------------------------------ writing


class _NodeCache:
    """Merkle nodes read in batches for one checkpoint's proofs."""

    def __init__(self, session: Session) -> None:
        self.db = DbNodes(session)
        self.nodes: dict[merkle.NodeKey, bytes] = {}

    def load(self, wanted: Iterable[merkle.NodeKey]) -> None:
        missing = sorted({k for k in wanted if k not in self.nodes})
        for i in range(0, len(missing), CHUNK):
            self.nodes.update(self.db.get_many(missing[i : i + CHUNK]))

    def get(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]


def _key_lines(session: Session, plan: ExportPlan) -> Iterator[bytes]:
    yield bf.key_line(
        node=plan.hub.hub_id,
        key=plan.hub.hub_id,
        public=keys.public_bytes(plan.hub.key),
        first_seq=1,
        last_valid_seq=None,
    )
    by_node = {n.node_id: n for n in plan.nodes}
    ids = plan.node_ids
    for chunk in [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]:
        stmt = (
            select(NodeKey)
            .where(NodeKey.node_id.in_(chunk))
            .order_by(NodeKey.node_id, NodeKey.first_seq)
        )
        for k in session.scalars(stmt):
            if k.first_seq > by_node[k.node_id].head + 1:
                continue  # a key announced after the export's latest checkpoint
            yield bf.key_line(
                node=k.node_id,
                key=k.key_id,
                public=bytes.fromhex(k.public_key),
                first_seq=k.first_seq,
                last_valid_seq=k.last_valid_seq,
                revoked_at=k.revoked_at,
                reason=k.reason,
                rotation=plan.successions.get((k.node_id, k.key_id))
                or plan.rotations.get((k.node_id, k.first_seq - 1)),
                revocation=plan.revocations.get((k.node_id, k.key_id)),
            )


def export_bundle(
    session: Session,
    out: BinaryIO,
    *,
    hub: HubIdentity,
    communes: Sequence[str] | None,
    since: datetime | None,
    until: datetime | None,
    progress: Callable[[int], None] | None = None,
    checkpoint_sizes: Sequence[int] = (),
    plan: ExportPlan | None = None,
    clock: Clock = system_clock,
    disclosures: Sequence[Sequence[Any]] = (),
) -> dict[str, int]:
    """Write the audit bundle to ``out``; returns the number of lines of each kind.

    The bundle carries no personal data beyond what version 1 records hold in clear;
    ``disclosures`` (``[record id, salt, path, value]`` rows from
    :func:`central_hub.services.disclosures.export`, logged there) adds a dossier's.

    ``progress`` is called with the number of records just written (for a progress bar of
    ``plan.record_count``, which counts the period's records). Give a ``plan`` made by
    :func:`plan_export` in the same transaction to avoid planning twice.
    """
    plan = plan or plan_export(
        session,
        hub=hub,
        communes=communes,
        since=since,
        until=until,
        checkpoint_sizes=checkpoint_sizes,
    )
    counts = {
        k: 0 for k in ("node", "key", "disclosure", "break", "checkpoint", "cosignature", "record")
    }

    def put(kind: str, line: bytes) -> None:
        counts[kind] += 1
        out.write(line)

    out.write(
        bf.header_line(
            origin=hub.origin,
            hub_id=hub.hub_id,
            hub_key=keys.public_bytes(hub.key),
            hub_name=hub.name,
            hub_level=hub.level,
            since=since,
            until=until,
            start=plan.start,
            end=plan.end,
            created_at=clock(),
        )
    )
    for n in plan.nodes:
        chain = "complete" if n.complete else "partial"
        put(
            "node",
            bf.node_line(
                node=n.node_id, agency_code=n.agency_code, name=n.name, chain=chain, head_seq=n.head
            ),
        )
    for line in _key_lines(session, plan):
        put("key", line)
    for rid, salt, path, value in disclosures:
        put("disclosure", bf.disclosure_line(rid, salt, path, value))
    for brk in logbreak.all_breaks(session):  # declared, so the auditor tells them from forks
        put("break", bf.break_line(brk.signed))
    _write_log(session, plan, put, progress)
    # a bundle without a break reads as before, by a verifier that knows no break lines
    # a bundle without breaks or disclosures reads as before, by a verifier that knows
    # neither kind of line
    out.write(
        bf.end_line({k: v for k, v in counts.items() if v or k not in ("break", "disclosure")})
    )
    return counts


def _write_log(
    session: Session,
    plan: ExportPlan,
    put: Callable[[str, bytes], None],
    progress: Callable[[int], None] | None,
) -> None:
    stream = records(session, plan)
    pending = next(stream, None)
    prev: int | None = None
    batch: list[tuple[int, bytes]] = []
    for size, signed in checkpoints(session, plan):
        proof = merkle.consistency_proof(DbNodes(session), prev, size) if prev else []
        put("checkpoint", bf.checkpoint_line(signed, previous_size=prev, proof=proof))
        for cosig in _cosignatures(session, plan, size):
            line = bf.cosignature_line(node=cosig.node_id, signed=cosig.signed, key=_signer(cosig))
            put("cosignature", line)
        batch.clear()
        while pending is not None and pending[0] < size:
            batch.append(pending)
            pending = next(stream, None)
        cache = _NodeCache(session)
        for i in range(0, len(batch), CHUNK):
            part = batch[i : i + CHUNK]
            cache.load(k for leaf, _ in part for k in merkle.inclusion_proof_keys(leaf, size))
            for leaf, raw in part:
                path = merkle.inclusion_proof(cache, leaf, size)
                put("record", bf.record_line(leaf, raw, size=size, proof=path))
            if progress is not None:
                progress(len(part))
        prev = size
    while pending is not None:  # never expected: every stored record has a checkpoint
        put("record", bf.record_line(pending[0], pending[1], size=None))
        pending = next(stream, None)
