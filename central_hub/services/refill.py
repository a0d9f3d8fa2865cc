"""What the communes give back to a hub restored from a backup, and the log rebuilt from it
(the recovery's state, opening and closing are in :mod:`recovery`; docs/sync-protocol.md,
"Refill").

* :func:`parse_offer` and :func:`offer` — a node's refill request: every pinned range is
  checked as the node once checked it (frontier + records → the hub-signed checkpoint), the
  roots it proves are kept, its records staged (``RefillRecord``); records without a proof
  are staged unpinned. :func:`stage_hub_records` does the same for the hub's own journal.
* :func:`rebuild` — the staged records appended in their original order as far as the
  evidence goes (:mod:`common.refill_order`), each through the path it took the first time:
  :mod:`ingest` for a node's records, :func:`feed.replay` for the hub's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central_hub.models import Alert, LogRecord, Node, RefillRecord, RefillRoot
from central_hub.services import feed, ingest, logbreak, nodes, recovery, translog
from central_hub.services.identity import Clock, HubIdentity
from common import keys, merkle, protocol, record, refill_order
from common.errors import DossierError

MAX_RANGES = 200
MAX_RECORDS = 2000


@dataclass
class Offer:
    """A parsed refill request (bounded): pinned ranges and unpinned records."""

    anchor: bytes | None
    ranges: list[tuple[bytes, int, list[bytes], list[bytes]]]  # checkpoint, first, frontier, raws
    records: list[bytes]


def parse_offer(body: Any) -> Offer:
    def bad(en: str) -> protocol.ProtocolError:
        err = protocol.ProtocolError(en, vi=f"Dữ liệu gửi lại không hợp lệ: {en}")
        err.code = "bad_refill"
        return err

    if not isinstance(body, dict):
        raise bad("send a JSON object with anchor, ranges and records")
    ranges_in, records_in = body.get("ranges", []), body.get("records", [])
    if not isinstance(ranges_in, list) or len(ranges_in) > MAX_RANGES:
        raise bad(f"ranges: a list of at most {MAX_RANGES}")
    if not isinstance(records_in, list):
        raise bad("records: a list")
    anchor = body.get("anchor")
    ranges = []
    total = len(records_in)
    for i, r in enumerate(ranges_in):
        if not isinstance(r, dict):
            raise bad(f"ranges[{i}]: an object")
        first, frontier, raws = r.get("first_leaf"), r.get("frontier"), r.get("records")
        if not isinstance(first, int) or isinstance(first, bool) or not 0 <= first < 2**53:
            raise bad(f"ranges[{i}].first_leaf: a whole number")
        if not isinstance(frontier, list) or len(frontier) > 64:
            raise bad(f"ranges[{i}].frontier: a list of at most 64 hashes")
        if not isinstance(raws, list) or not raws:
            raise bad(f"ranges[{i}].records: a non-empty list")
        total += len(raws)
        try:
            hashes = [bytes.fromhex(h) for h in frontier if isinstance(h, str)]
        except ValueError as exc:
            raise bad(f"ranges[{i}].frontier: hex hashes") from exc
        if len(hashes) != len(frontier) or any(len(h) != 32 for h in hashes):
            raise bad(f"ranges[{i}].frontier: 32-byte hex hashes")
        cp = protocol.unb64(r.get("checkpoint"), f"ranges[{i}].checkpoint")
        ranges.append(
            (cp, first, hashes, [protocol.unb64(x, f"ranges[{i}].records") for x in raws])
        )
    if total > MAX_RECORDS:
        raise bad(f"at most {MAX_RECORDS} records per request")
    return Offer(
        protocol.unb64(anchor, "anchor") if anchor else None,
        ranges,
        [protocol.unb64(x, "records") for x in records_in],
    )


def offer(
    session: Session, offer: Offer, *, node_id: str, hub: HubIdentity, clock: Clock
) -> dict[str, Any]:
    """Stage what a node gives back (checking every proof), rebuild what can be rebuilt, and
    answer where the log stands. Outside a recovery nothing is staged."""
    rec = recovery.current(session, lock=True)
    if rec is not None:
        _stage(session, offer, node_id=node_id, hub=hub, clock=clock)
        session.flush()
        rebuild(session, hub=hub, clock=clock)
        rec = recovery.maybe_close(session, rec, clock=clock)
    return recovery.status(session, rec)


def stage_hub_records(
    session: Session, raws: Iterable[bytes], *, hub: HubIdentity, clock: Clock
) -> int:
    """Offer the hub's own journal (``central_hub/journal.py``) to an open recovery: each
    record the hub signed after its chain's head in the database, placed only where the
    witnessed roots confirm it. Returns how many were staged."""
    head = _head(session, hub.hub_id, hub)[0]
    public = keys.public_from_hex(hub.public_hex)
    now, staged = clock(), 0
    for raw in raws:
        try:
            r = record.parse(raw)
            if r.node != hub.hub_id or r.seq <= head:
                continue
            r.verify(public)
        except DossierError:
            continue
        _keep(session, r, leaf=None, by=hub.hub_id, now=now)
        staged += 1
    session.flush()
    rebuild(session, hub=hub, clock=clock)
    return staged


def staged_up_to(session: Session, writer: str) -> int:
    """The highest seq of ``writer``'s records staged so far (0: none)."""
    top = session.scalar(select(func.max(RefillRecord.seq)).where(RefillRecord.writer == writer))
    return int(top or 0)


def _stage(session: Session, offer: Offer, *, node_id: str, hub: HubIdentity, clock: Clock) -> None:
    now = clock()
    size = translog.current_size(session)
    public = keys.public_from_hex(hub.public_hex)

    def checkpoint(raw: bytes) -> tuple[int, bytes] | None:
        """Size and root, or None for a checkpoint a declared break gave up (the log does
        not go back to it: what it held was sent again afterwards)."""
        cp = protocol.checkpoint_of(raw, public, origin=hub.origin)
        if logbreak.covering(session, cp) is not None:
            return None
        return int(cp["size"]), bytes.fromhex(str(cp["root"]))

    anchor = checkpoint(offer.anchor) if offer.anchor is not None else None
    if anchor is not None:
        recovery.proven_root(session, *anchor)
    for i, (cp_raw, first, frontier, raws) in enumerate(offer.ranges):
        proven = checkpoint(cp_raw)
        if proven is None:
            continue
        cp_size, root = proven
        try:
            protocol.verify_batch_inclusion(
                first_leaf=first, frontier=frontier, leaves=raws, root=root, size=cp_size
            )
        except merkle.ProofError as exc:
            err = protocol.ProtocolError(
                f"ranges[{i}]: {exc.en}", vi=f"Bằng chứng gửi lại thứ {i} không hợp lệ"
            )
            err.code = "bad_refill"
            raise err from exc
        recovery.proven_root(session, cp_size, root)
        if first:
            recovery.proven_root(session, first, protocol.frontier_root(first, frontier))
        for leaf, raw in enumerate(raws, start=first):
            if leaf >= size:
                _keep(session, record.parse(raw), leaf=leaf, by=node_id, now=now)
    ring = ingest.keyring(session, node_id)
    for r in _parsed_in_order(offer.records):
        try:
            if r.node == hub.hub_id:
                r.verify(public)
            elif r.node == node_id and r.key in ring:
                r.verify(ring[r.key].public)
                _learn_rotation(ring, r)
            else:
                continue  # neither the hub's nor this node's: not ours to place
        except DossierError:
            continue
        if r.seq > _head(session, r.node, hub)[0]:
            _keep(session, r, leaf=None, by=node_id, now=now)


def _parsed_in_order(raws: list[bytes]) -> list[record.Record]:
    """The offered records that parse, in seq order (a rotation before the records its new
    key signs)."""
    out = []
    for raw in raws:
        try:
            out.append(record.parse(raw))
        except DossierError:
            continue
    return sorted(out, key=lambda r: r.seq)


def _learn_rotation(ring: dict[str, ingest.KeyInfo], r: record.Record) -> None:
    """A rotation record the backup lost names a key the restored hub never registered: the
    node's records it signs are checked with it (the key is registered when the rotation
    record is appended again)."""
    if r.type != "key.rotated" or not isinstance(r.data.get("new_key"), str):
        return
    if not isinstance(r.data.get("proof"), str) or ingest.rotation_problem(r) is not None:
        return
    new = keys.public_from_hex(str(r.data["new_key"]))
    ring[keys.key_id(new)] = ingest.KeyInfo(new, r.seq + 1, None)


def _keep(session: Session, r: record.Record, *, leaf: int | None, by: str, now: Any) -> None:
    row = session.get(RefillRecord, (r.node, r.seq))
    if row is None:
        if leaf is not None and session.scalar(
            select(RefillRecord.writer).where(RefillRecord.leaf == leaf)
        ):
            return
        session.add(
            RefillRecord(
                writer=r.node, seq=r.seq, leaf=leaf, raw=r.raw, offered_by=by, offered_at=now
            )
        )
    elif leaf is not None and row.leaf is None:
        row.leaf, row.raw = leaf, r.raw  # a proof pins it: its bytes are the log's


def _head(session: Session, writer: str, hub: HubIdentity) -> tuple[int, str | None]:
    if writer != hub.hub_id:
        node = session.get(Node, writer)
        return (node.head_seq, node.head_id) if node else (0, None)
    row = session.execute(
        select(LogRecord.seq, LogRecord.record_id)
        .where(LogRecord.node_id == writer)
        .order_by(LogRecord.seq.desc())
        .limit(1)
    ).first()
    return (int(row[0]), str(row[1])) if row else (0, None)


def rebuild(session: Session, *, hub: HubIdentity, clock: Clock) -> int:
    """Append staged records in their original order as far as the evidence allows; returns
    how many were appended. A replay the ingest rules refuse leaves everything staged."""
    start = translog.current_size(session)
    rows = list(session.scalars(select(RefillRecord)))
    if not rows:
        return 0
    pinned = {r.leaf: record.parse(r.raw) for r in rows if r.leaf is not None and r.leaf >= start}
    loose: dict[str, dict[int, record.Record]] = {}
    for r in rows:
        if r.leaf is None:
            loose.setdefault(r.writer, {})[r.seq] = record.parse(r.raw)
    roots = {
        size: bytes.fromhex(root)
        for size, root in session.execute(select(RefillRoot.size, RefillRoot.root))
        if size > start
    }
    writers = {r.writer for r in rows}
    tree = merkle.CompactRange.from_nodes(start, translog.DbNodes(session))
    heads = {w: _head(session, w, hub) for w in writers}
    order: list[record.Record] = []
    try:
        order = refill_order.plan(tree, heads=heads, pinned=pinned, loose=loose, roots=roots)
        if not order:
            return 0
        with session.begin_nested():
            _replay(session, order, start=start, hub=hub, clock=clock)
    except (DossierError, refill_order.OrderError, AssertionError) as exc:
        _alert_once(session, f"Rebuilding the log stopped at {start + len(order)}: {exc}", clock)
        return 0
    ids = [(r.node, r.seq) for r in order]
    for writer, seq in ids:
        row = session.get(RefillRecord, (writer, seq))
        if row is not None:
            session.delete(row)
    return len(ids)


def _alert_once(session: Session, message: str, clock: Clock) -> None:
    open_alert = session.scalar(
        select(Alert.id).where(
            Alert.kind == "log_recovery",
            Alert.message == message[:1000],
            Alert.acknowledged.is_(False),
        )
    )
    if open_alert is None:
        nodes.alert(session, "log_recovery", None, message, clock())


def _replay(
    session: Session, order: list[record.Record], *, start: int, hub: HubIdentity, clock: Clock
) -> None:
    """Append ``order`` to the log through the paths the records took the first time."""
    expected = start
    i = 0
    while i < len(order):
        writer = order[i].node
        j = i
        while j < len(order) and order[j].node == writer:
            j += 1
        group = order[i:j]
        if writer == hub.hub_id:
            for r in group:
                feed.replay(session, r, hub=hub, clock=clock)
        else:
            ring = ingest.keyring(session, writer)
            checked, stopped = ingest.verify_batch(
                [r.raw for r in group], node_id=writer, ring=ring
            )
            if stopped is not None:
                raise stopped
            out = ingest.accept_batch(session, writer, checked, hub=hub, clock=clock)
            if out.error is not None or out.stored != len(group):
                raise AssertionError(
                    f"records {group[0].seq}..{group[-1].seq} of {writer} were not taken back "
                    f"as they were: {out.error.en if out.error else 'partly stored'}"
                )
        expected += len(group)
        session.flush()
        if translog.current_size(session) != expected:
            raise AssertionError(f"the log is at {translog.current_size(session)}, not {expected}")
        i = j
