"""Rebuilding the transparency log from the communes after the hub's database was put back
from an older backup.

The communes witnessed checkpoints the restored hub no longer holds. The hub must not sign
new leaves, hub records or feed items over the lost range: that would be two different logs
under one key. So, while a recovery is open:

1. Every signed request reports the size of the newest checkpoint the node verified
   (``known``). A size larger than the log opens the recovery (:func:`note_witness`); the
   largest size reported is the target the log must reach again.
2. Nodes give back (``POST /sync/v1/refill``, :func:`offer`) what they hold of the lost
   range: their own records, each pinned to its leaf by the proof their receipt kept (the
   log's frontier there and the hub-signed checkpoint, verified on arrival), the hub's
   records they pulled, and their own records whose receipt they never got. The roots
   those proofs establish are kept (``RefillRoot``).
3. :func:`rebuild` appends the records in their original order: pinned records at their
   leaves; a gap between them is filled from the unpinned records (each writer's next one)
   only when the witnessed roots confirm the result. Each record takes the path it took
   the first time — :mod:`ingest` for a node's, :func:`feed.replay` for the hub's — so
   dossier states, dead letters, receipts and feed items come back as they were.
4. The recovery closes when the log has reached every size a node reported and every
   active node has reported since it opened; or when the administrator closes it
   (``central-hub log-recovery --close``), accepting that a node whose records are still
   missing will find the log forked and stop with an alarm.

Until then the hub refuses pushes and new records of its own with ``log_recovering``
(retryable): the nodes keep everything and send it once the log is whole again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from central_hub.models import Alert, HubSetting, LogRecord, Node, RefillRecord, RefillRoot
from central_hub.services import feed, ingest, nodes, translog
from central_hub.services.identity import Clock, HubIdentity
from common import keys, merkle, protocol, record, refill_order
from common.errors import DossierError

SETTING = "log_recovery"
MAX_RANGES = 200
MAX_RECORDS = 2000


class LogRecovering(protocol.ProtocolError):
    code = "log_recovering"
    status = 409
    retryable = True
    en = (
        "The hub is rebuilding its log from the communes after a restore; records wait on "
        "the node and are sent when it is done."
    )
    vi = (
        "Cấp trên đang dựng lại nhật ký từ dữ liệu của các xã sau khi khôi phục; hồ sơ được "
        "giữ trên máy và sẽ tự gửi khi xong."
    )


@dataclass
class Recovery:
    opened_at: str
    target: int
    reported: dict[str, int] = field(default_factory=dict)


def current(session: Session, *, lock: bool = False) -> Recovery | None:
    stmt = select(HubSetting).where(HubSetting.key == SETTING)
    row = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if row is None or not row.value:
        return None
    raw = json.loads(row.value)
    return Recovery(str(raw["opened_at"]), int(raw["target"]), dict(raw.get("reported", {})))


def _save(session: Session, rec: Recovery | None) -> None:
    row = session.get(HubSetting, SETTING)
    if rec is None:
        if row is not None:
            session.delete(row)
        return
    value = json.dumps(rec.__dict__, sort_keys=True)
    if row is None:
        session.add(HubSetting(key=SETTING, value=value))
    else:
        row.value = value


def guard(session: Session) -> None:
    """Refuse a new leaf while the log is being rebuilt."""
    if current(session) is not None:
        raise LogRecovering()


def note_witness(session: Session, *, node_id: str, known: int, clock: Clock) -> Recovery | None:
    """Every signed request: a node reports the newest checkpoint size it verified. Larger
    than the log opens a recovery; during one, the node counts as having reported."""
    size = translog.current_size(session)
    if known <= size and current(session) is None:
        return None  # the common case: no lock, no write
    rec = current(session, lock=True)
    if rec is None:
        if known <= size:
            return None
        rec = Recovery(opened_at=clock().isoformat(timespec="seconds"), target=known)
        nodes.alert(
            session,
            "log_recovery",
            None,
            f"A commune has verified a checkpoint of {known} records, but this hub's log holds "
            f"{size}: the database is older than what communes witnessed (restored from a "
            "backup?). The hub now rebuilds the log from the communes' copies and accepts no "
            "new records until every active commune has reported. See `central-hub "
            "log-recovery` and docs/reliability.md (hub restored from a backup).",
            clock(),
        )
    rec.target = max(rec.target, known)
    rec.reported[node_id] = max(known, rec.reported.get(node_id, 0))
    _save(session, rec)
    return maybe_close(session, rec, clock=clock)


def check_log_head(session: Session, head: bytes | None, *, hub: HubIdentity, clock: Clock) -> None:
    """Compare the log head file (``central_hub/loghead.py``) with the database: a head
    ahead of the log means the database was put back from an older backup. Open the
    recovery now, before any new record can take a lost leaf; its root is the one the
    rebuilt log must reach."""
    if head is None:
        return
    try:
        cp = protocol.checkpoint_of(head, keys.public_from_hex(hub.public_hex), origin=hub.origin)
    except DossierError:
        return  # not this hub's (another key or origin): nothing to compare
    size, root = int(cp["size"]), str(cp["root"])
    if size <= translog.current_size(session):
        return
    rec = current(session, lock=True)
    if rec is None:
        rec = Recovery(opened_at=clock().isoformat(timespec="seconds"), target=size)
        nodes.alert(
            session,
            "log_recovery",
            None,
            f"This hub signed a checkpoint of {size} records, but its database holds "
            f"{translog.current_size(session)}: the database was put back from an older "
            "backup. The hub rebuilds the log from the communes' copies and accepts no new "
            "records until every active commune has reported. See `central-hub "
            "log-recovery` and docs/reliability.md (hub restored from a backup).",
            clock(),
        )
    rec.target = max(rec.target, size)
    _save(session, rec)
    _proven_root(session, size, bytes.fromhex(root))


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


def waiting_for(session: Session, rec: Recovery) -> list[str]:
    """Active nodes that have not reported since the recovery opened."""
    active = session.scalars(select(Node.node_id).where(Node.state == "active"))
    return sorted(n for n in active if n not in rec.reported)


def maybe_close(session: Session, rec: Recovery, *, clock: Clock) -> Recovery | None:
    if translog.current_size(session) < rec.target or waiting_for(session, rec):
        return rec
    close(session, clock=clock, why="every commune has reported and the log is whole again")
    return None


def close(session: Session, *, clock: Clock, why: str) -> None:
    session.execute(delete(RefillRecord))
    session.execute(delete(RefillRoot))
    _save(session, None)
    size = translog.current_size(session)
    nodes.alert(
        session, "log_recovered", None, f"Log recovery closed at {size} records: {why}.", clock()
    )


# ------------------------------------------------------------------ what nodes give back


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


def _proven_root(session: Session, size: int, root: bytes) -> None:
    if size > translog.current_size(session) and session.get(RefillRoot, size) is None:
        session.add(RefillRoot(size=size, root=root.hex()))


def offer(
    session: Session, offer: Offer, *, node_id: str, hub: HubIdentity, clock: Clock
) -> dict[str, Any]:
    """Stage what a node gives back (checking every proof), rebuild what can be rebuilt, and
    answer where the log stands. Outside a recovery nothing is staged."""
    rec = current(session, lock=True)
    if rec is not None:
        _stage(session, offer, node_id=node_id, hub=hub, clock=clock)
        session.flush()
        rebuild(session, hub=hub, clock=clock)
        rec = maybe_close(session, rec, clock=clock)
    return status(session, rec)


def status(session: Session, rec: Recovery | None) -> dict[str, Any]:
    size = translog.current_size(session)
    if rec is None:
        return {"recovering": False, "size": size}
    return {
        "recovering": True,
        "size": size,
        "target": rec.target,
        "waiting_for": len(waiting_for(session, rec)),
        "staged": session.scalar(select(func.count()).select_from(RefillRecord)) or 0,
    }


def staged_up_to(session: Session, writer: str) -> int:
    """The highest seq of ``writer``'s records staged so far (0: none)."""
    top = session.scalar(select(func.max(RefillRecord.seq)).where(RefillRecord.writer == writer))
    return int(top or 0)


def _stage(session: Session, offer: Offer, *, node_id: str, hub: HubIdentity, clock: Clock) -> None:
    now = clock()
    size = translog.current_size(session)
    public = keys.public_from_hex(hub.public_hex)

    def checkpoint(raw: bytes) -> tuple[int, bytes]:
        cp = protocol.checkpoint_of(raw, public, origin=hub.origin)
        return int(cp["size"]), bytes.fromhex(str(cp["root"]))

    if offer.anchor is not None:
        _proven_root(session, *checkpoint(offer.anchor))
    for i, (cp_raw, first, frontier, raws) in enumerate(offer.ranges):
        cp_size, root = checkpoint(cp_raw)
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
        _proven_root(session, cp_size, root)
        if first:
            _proven_root(session, first, protocol.frontier_root(first, frontier))
        for leaf, raw in enumerate(raws, start=first):
            if leaf >= size:
                _keep(session, record.parse(raw), leaf=leaf, by=node_id, now=now)
    ring = ingest.keyring(session, node_id)
    for raw in offer.records:
        try:
            r = record.parse(raw)
            if r.node == hub.hub_id:
                r.verify(public)
            elif r.node == node_id and r.key in ring:
                r.verify(ring[r.key].public)
            else:
                continue  # neither the hub's nor this node's: not ours to place
        except DossierError:
            continue
        if r.seq > _head(session, r.node, hub)[0]:
            _keep(session, r, leaf=None, by=node_id, now=now)


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


# ------------------------------------------------------------------ rebuilding the log


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
