"""Accepting a node's pushed records: the hub's side of the push exchange.

Reading order of a push, as the code runs it:

1. :func:`verify_batch` — outside any transaction (CPU work): parse each record, check it
   is the pushing node's, that its key is known and valid at its sequence number, and its
   signature. The first record that fails stops the batch there (``bad_record``,
   ``foreign_record``, ``unknown_key``, ``key_revoked``, ``bad_signature``); the records
   before it still go on.
2. :func:`accept_batch` — one write transaction: for each record, in order:
   * ``seq <= head``: same bytes → a duplicate, acknowledged again, never stored twice;
     different bytes → **equivocation**: both kept as evidence, node quarantined, alert.
   * ``seq > head + 1``: a **gap**; refused with the sequence number the hub expects.
   * ``prev`` not the stored head's id: a **fork**; evidence kept, node quarantined.
   * otherwise the record is appended to the log. If its content is refused (payload,
     ownership, lifecycle rules) it is stored *dead* with the reason — the chain stays whole
     and the records behind it are not blocked — else it is applied to the projection.
3. A checkpoint over the new log size and a receipt naming the highest contiguous record
   stored are signed by the hub key, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from central_hub.models import Checkpoint, Equivocation, HubDossier, LogRecord, Node, NodeKey
from central_hub.services import disclosures, dossiers, nodes, portal_outbox, translog, witness
from central_hub.services.identity import Clock, HubIdentity
from common import chain_break, events, keys, lifecycle, protocol, record, record_fast
from common.errors import (
    DossierError,
    EncodingError,
    FieldProblem,
    SignatureError,
    TransitionError,
    ValidationError,
)
from common.lifecycle import Side
from common_io.database import insert_rows


def refusal(
    code: str, en: str, vi: str, status: int = 409, **detail: Any
) -> protocol.ProtocolError:
    err = protocol.ProtocolError(en, vi=vi, **detail)
    err.code = code
    err.status = status
    return err


@dataclass
class KeyInfo:
    public: keys.PublicKey
    first_seq: int
    last_valid_seq: int | None


def keyring(session: Session, node_id: str) -> dict[str, KeyInfo]:
    rows = session.scalars(select(NodeKey).where(NodeKey.node_id == node_id))
    return {
        r.key_id: KeyInfo(keys.public_from_hex(r.public_key), r.first_seq, r.last_valid_seq)
        for r in rows
    }


def verify_batch(
    raws: list[bytes], *, node_id: str, ring: dict[str, KeyInfo]
) -> tuple[list[record.Record], protocol.ProtocolError | None]:
    """Authentic records in order, and the refusal that stopped the batch (if any)."""
    ring = dict(ring)
    out: list[record.Record] = []
    for i, raw in enumerate(raws):
        try:
            rec = record_fast.parse(raw)
        except EncodingError as exc:
            return out, refusal(
                "bad_record",
                f"record {i} of the batch: {exc.en}",
                f"Bản ghi thứ {i} của gói: {exc.vi}",
                status=400,
            )
        if rec.node != node_id:
            return out, refusal(
                "foreign_record",
                f"seq {rec.seq} belongs to node {rec.node}",
                f"Bản ghi số {rec.seq} thuộc nút khác",
                status=403,
                seq=rec.seq,
            )
        key = ring.get(rec.key)
        if key is None:
            return out, refusal(
                "unknown_key",
                f"seq {rec.seq} is signed by an unknown key",
                f"Bản ghi số {rec.seq} ký bằng khoá không xác định",
                status=403,
                seq=rec.seq,
            )
        if rec.seq < key.first_seq or (
            key.last_valid_seq is not None and rec.seq > key.last_valid_seq
        ):
            return out, refusal(
                "key_revoked",
                f"seq {rec.seq} is signed by key {rec.key}, not valid at that seq",
                f"Bản ghi số {rec.seq} ký bằng khoá đã bị thu hồi",
                status=403,
                seq=rec.seq,
            )
        try:
            rec.verify(key.public)
        except SignatureError:
            return out, refusal(
                "bad_signature",
                f"seq {rec.seq}: signature does not verify",
                f"Bản ghi số {rec.seq}: chữ ký không hợp lệ",
                status=400,
                seq=rec.seq,
            )
        if rec.type == "key.rotated" and isinstance(rec.data.get("new_key"), str):
            try:
                new_pub = keys.public_from_hex(rec.data["new_key"])
            except (EncodingError, ValueError):
                new_pub = None
            if new_pub is not None:
                ring[keys.key_id(new_pub)] = KeyInfo(new_pub, rec.seq + 1, None)
                ring[rec.key] = KeyInfo(key.public, key.first_seq, rec.seq)
        out.append(rec)
    return out, None


@dataclass
class PushOutcome:
    node_id: str
    head_seq: int
    head_id: str | None
    stored: int = 0
    duplicates: int = 0
    dead: list[dict[str, Any]] = field(default_factory=list)
    error: protocol.ProtocolError | None = None
    checkpoint: Checkpoint | None = None
    receipt: bytes = b""
    leaves: dict[int, int] = field(default_factory=dict)  # seq -> leaf, for proofs
    first_leaf: int = 0  # where this batch's records start in the log
    frontier: list[bytes] = field(default_factory=list)  # the log's perfect subtrees there


def _content_problem(rec: record.Record, node: Node, *, creating: bool) -> DossierError | None:
    try:
        dossiers.check_owner(rec, agency_code=node.agency_code)
        events.check_payload(rec.type, rec.data, dossier=rec.dossier, creating=creating)
        if rec.type == chain_break.TYPE:
            found = chain_break.problems(rec.data, seq=rec.seq, prev=rec.prev)
            if rec.dossier is not None:
                found.append(FieldProblem("dossier", "invalid", "Phải để trống", "must be null"))
            if found:
                raise ValidationError(found)
        if rec.type in events.HUB_TYPES:
            raise ValidationError(
                [
                    FieldProblem(
                        "type",
                        "hub_only",
                        "Chỉ cấp trên được ghi loại bản ghi này",
                        f"only the hub writes {rec.type} records",
                    )
                ]
            )
    except DossierError as exc:
        return exc
    return None


def _creates(rec: record.Record) -> bool:
    """A record that opens a dossier (it carries the applicant and the procedure)."""
    return rec.dossier is not None and "applicant" in rec.data and "procedure" in rec.data


def _collision(session: Session, rec: record.Record, node: Node, now: datetime) -> DossierError:
    """A record opens a dossier under a code the hub already holds for another dossier (two
    citizens, one code: e.g. a laptop put back from a copy by hand). Neither overwrites the
    other: the record is a dead letter, the existing dossier is flagged, the administrator
    alerted; the node shows the dead letter to its officers."""
    assert rec.dossier is not None
    row = session.get(HubDossier, rec.dossier)  # (no name here: alerts hold no personal data)
    if row is not None:
        row.flag = (
            f"code_collision: record {node.node_id} seq {rec.seq} (record {rec.id[:12]}) opened "
            "another dossier under this code"
        )[:300]
    nodes.alert(
        session,
        "code_collision",
        node.node_id,
        f"Dossier code {rec.dossier} given twice: {node.commune_name} seq {rec.seq} opened a "
        f"second dossier (record {rec.id[:12]}) under a code the hub holds for another "
        "dossier. Both are kept; the second is a "
        "dead letter. Ask the commune to give that citizen a new code.",
        now,
    )
    err = TransitionError(
        f"dossier code {rec.dossier} is already held by another dossier at the "
        "hub; give this citizen a new code",
        vi=f"Mã hồ sơ {rec.dossier} đã thuộc một hồ sơ khác tại cấp trên; hãy cấp mã mới",
    )
    err.code = "code_collision"
    return err


def rotation_problem(rec: record.Record) -> DossierError | None:
    try:
        new_pub = keys.public_from_hex(rec.data["new_key"])
        keys.verify(
            new_pub,
            bytes.fromhex(rec.data["proof"]),
            protocol.rotation_message(rec.node, rec.key, rec.seq),
        )
    except (DossierError, ValueError) as exc:
        return exc if isinstance(exc, DossierError) else EncodingError(str(exc))
    return None


def _chunks(items: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class _Projection:
    """The hub's dossier rows a batch touches, replayed in memory and written in bulk.

    The same rules and columns as :func:`central_hub.services.dossiers.apply_record`: every
    dossier record goes through :func:`common.lifecycle.apply` in order; a record the rules
    refuse changes nothing. Rows are read with one query and written with one bulk insert
    and one bulk update at the end of the batch.
    """

    def __init__(self, session: Session, codes: set[str]) -> None:
        self.session = session
        self.states: dict[str, lifecycle.DossierState] = {}
        self.created: dict[str, dict[str, Any]] = {}  # code -> columns fixed at creation
        self.changed: dict[str, datetime] = {}  # code -> updated_at
        # every record applied, with the state before and after it (for the portal)
        self.changes: list[tuple[record.Record, lifecycle.DossierState | None,
                                 lifecycle.DossierState]] = []  # fmt: skip
        for chunk in _chunks(sorted(codes)):
            rows = session.execute(
                select(HubDossier.code, HubDossier.state).where(HubDossier.code.in_(chunk))
            )
            for code, state in rows:
                self.states[code] = lifecycle.state_from_dict(state)

    def exists(self, code: str) -> bool:
        return code in self.states

    def apply(self, rec: record.Record, *, now: datetime) -> None:
        """Replay one dossier record; raises (changing nothing) if the rules refuse it."""
        assert rec.dossier is not None
        new = lifecycle.apply(
            self.states.get(rec.dossier),
            event_type=rec.type,
            data=rec.data,
            at=rec.at_time,
            code=rec.dossier,
            side=Side.COMMUNE,
        )
        if rec.dossier not in self.states:
            self.created[rec.dossier] = {
                "code": rec.dossier,
                "node_id": rec.node,
                "procedure_code": new.procedure,
                "procedure_name": str(rec.data.get("procedure_name", ""))[:300],
                "applicant_name": "",  # personal data: only in ``disclosure`` (encrypted)
                # a version 1 record names the ID number; version 2's is indexed from its
                # disclosure once stored (disclosures.index_names)
                "id_digest": disclosures.id_digest(
                    self.session, str((rec.data.get("applicant") or {}).get("id_number", ""))
                ),
            }
        self.changes.append((rec, self.states.get(rec.dossier), new))
        self.states[rec.dossier] = new
        self.changed[rec.dossier] = now

    def write(self) -> None:
        inserts, updates = [], []
        for code, now in self.changed.items():
            new = self.states[code]
            values = {
                "code": code,
                "status": int(new.status),
                "forwarded": new.forwarded,
                "received_at": new.received_at,
                "due_at": new.due_at,
                "ended_at": new.ended_at,
                "updated_at": now,
                "state": lifecycle.state_to_dict(new),
            }
            if code in self.created:
                inserts.append({**self.created[code], **values})
            else:
                updates.append(values)
        if inserts:
            insert_rows(self.session, HubDossier, inserts)
        if updates:
            self.session.execute(update(HubDossier), updates)


def accept_batch(
    session: Session,
    node_id: str,
    records: list[record.Record],
    *,
    hub: HubIdentity,
    clock: Clock,
    stopped_by: protocol.ProtocolError | None = None,
    dead_letters_per_hour: int | None = None,
) -> PushOutcome:
    """Check the chain and content of verified records and store them (see the module's
    docstring). ``dead_letters_per_hour`` bounds the dead letters one node may have stored
    in an hour: the record that would pass it stops the batch with ``dead_letter_limit``
    (a push; a refill restores what was stored before, unbounded).

    Decisions are taken record by record in order, as before; the rows are
    written in bulk at the end, and the log (whose size row serialises every writer) is
    locked only then, for the appends, the Merkle nodes and the checkpoint."""
    now = clock()
    node = session.scalars(select(Node).where(Node.node_id == node_id).with_for_update()).one()
    out = PushOutcome(node_id, node.head_seq, node.head_id, error=stopped_by)
    if node.state == "quarantined":
        raise refusal(
            "node_quarantined",
            "this node is quarantined; contact the hub administrator",
            "Nút đang bị cách ly; liên hệ quản trị viên cấp trên",
            status=403,
        )
    known = _stored_raws(session, node_id, [r.seq for r in records if r.seq <= node.head_seq])
    projection = _Projection(session, {r.dossier for r in records if r.dossier is not None})
    accepted: list[tuple[record.Record, DossierError | None, bool]] = []
    for rec in records:
        if rec.seq <= node.head_seq:
            if known[rec.seq] == rec.raw:
                out.duplicates += 1
                continue
            session.add(
                Equivocation(
                    node_id=node_id,
                    seq=rec.seq,
                    stored_raw=known[rec.seq],
                    other_raw=rec.raw,
                    detected_at=now,
                )
            )
            why = f"equivocation: two different records signed at seq {rec.seq}"
            nodes.quarantine(session, node, why, now)
            out.error = refusal(
                "equivocation", why, f"Hai bản ghi khác nhau cùng số thứ tự {rec.seq}", seq=rec.seq
            )
            break
        want_seq, want_prev = node.head_seq + 1, node.head_id
        if rec.seq != want_seq or rec.prev != want_prev:  # perhaps after a declared break
            want_seq, want_prev = _after_head(session, node, known, want_seq, want_prev)
        if rec.seq != want_seq:
            out.error = refusal(
                "gap",
                f"expected seq {want_seq}, got {rec.seq}",
                f"Cần bản ghi số {want_seq}, nhận được số {rec.seq}",
                expected_seq=want_seq,
            )
            break
        if rec.prev != want_prev:
            head_raw = known.get(node.head_seq)
            if head_raw is None:
                head_raw = _stored_raws(session, node_id, [node.head_seq]).get(node.head_seq, b"")
            session.add(
                Equivocation(
                    node_id=node_id,
                    seq=rec.seq,
                    stored_raw=head_raw,
                    other_raw=rec.raw,
                    detected_at=now,
                )
            )
            why = f"fork: seq {rec.seq} does not follow the stored seq {node.head_seq}"
            nodes.quarantine(session, node, why, now)
            out.error = refusal("fork", why, f"Chuỗi bị rẽ nhánh tại số {rec.seq}", seq=rec.seq)
            break
        creating = rec.dossier is not None and not projection.exists(rec.dossier)
        problem = _content_problem(rec, node, creating=creating)
        if problem is None and not creating and _creates(rec):
            problem = _collision(session, rec, node, now)
        if problem is None and rec.type == "key.rotated":
            problem = rotation_problem(rec)
        if problem is None and rec.dossier is not None:
            try:
                projection.apply(rec, now=now)
            except DossierError as exc:
                problem = exc
        if problem is None and rec.type == "key.rotated":
            old = session.get(NodeKey, rec.key)
            assert old is not None
            new_key = nodes.add_rotated_key(
                session,
                node_id=node_id,
                new_key_hex=rec.data["new_key"],
                first_seq=rec.seq + 1,
                old=old,
                now=now,
            )
            session.flush()
            witness.resolve_set_aside(session, key=new_key, clock=clock)
        if problem is not None and not _dead_letter_room(node, now, dead_letters_per_hour):
            out.error = _dead_letter_limit(session, node, rec, dead_letters_per_hour, now)
            break
        if problem is None and rec.type == chain_break.TYPE:
            nodes.alert(
                session,
                "chain_break",
                node_id,
                f"seq {rec.seq}: the node declared records lost before they reached the hub "
                f"({chain_break.describe(rec.data)})",
                now,
            )
        if problem is not None:
            out.dead.append(
                {
                    "seq": rec.seq,
                    "code": problem.code,
                    "message": problem.en,
                    "message_vi": problem.vi,
                }
            )
            node.dead_count += 1
            nodes.alert(
                session,
                "dead_letter",
                node_id,
                f"seq {rec.seq} ({rec.type}) refused: {problem.en}",
                now,
            )
        accepted.append((rec, problem, _owns(node, rec)))
        known[rec.seq] = rec.raw
        node.head_seq, node.head_id = rec.seq, rec.id
        out.stored += 1
    projection.write()
    _check_clock(session, node, [rec for rec, _, _ in accepted], now)
    node.last_contact = now
    if out.stored:
        node.last_push = now
    out.head_seq, out.head_id = node.head_seq, node.head_id
    out.checkpoint = _append(session, out, accepted, hub=hub, now=now)
    portal_outbox.note(
        session,
        [portal_outbox.Change(r, b, a, out.leaves[r.seq]) for r, b, a in projection.changes],
        hub_id=hub.hub_id,
        now=now,
    )  # the portal hears of every status change in this same transaction
    out.receipt = sign_receipt(out, hub=hub, now=now)
    return out


def _owns(node: Node, rec: record.Record) -> bool:
    """The record names one of the node's own dossiers (or none): a dead letter naming
    another commune's dossier belongs to its sender's chain only, never to that dossier's
    history or records."""
    return rec.dossier is None or rec.dossier.startswith(node.agency_code + "-")


def _dead_letter_room(node: Node, now: datetime, per_hour: int | None) -> bool:
    """Count one more dead letter of ``node`` in its current hour; False when there is no
    room left (nothing counted then)."""
    if per_hour is None:
        return True
    start = node.dead_window_start
    if start is None or now - start >= timedelta(hours=1) or now < start:
        node.dead_window_start, node.dead_window_count = now, 0
    if node.dead_window_count >= per_hour:
        return False
    node.dead_window_count += 1
    return True


def _dead_letter_limit(
    session: Session, node: Node, rec: record.Record, per_hour: int | None, now: datetime
) -> protocol.ProtocolError:
    start = node.dead_window_start or now
    again = start + timedelta(hours=1)
    nodes.alert(
        session,
        "dead_letter_limit",
        node.node_id,
        f"seq {rec.seq} and after held back: more than {per_hour} refused records in an hour "
        f"(since {start.isoformat(timespec='seconds')})",
        now,
    )
    err = refusal(
        "dead_letter_limit",
        f"seq {rec.seq} would be refused, and this node has had {per_hour} refused records "
        f"stored this hour; the rest wait until {again.isoformat(timespec='seconds')}",
        f"Bản ghi số {rec.seq} bị từ chối và nút đã có {per_hour} bản ghi bị từ chối trong "
        "giờ này; phần còn lại gửi lại sau",
        status=429,
        seq=rec.seq,
        retry_at=again.isoformat(timespec="seconds"),
    )
    err.retryable = True
    return err


SKEW = timedelta(days=1)  # a record dated this far from what the hub knows: a wrong clock
BEFORE_ENROLMENT = timedelta(days=7)


def _check_clock(session: Session, node: Node, records: list[record.Record], now: datetime) -> None:
    """One ``clock_skew`` alert (until acknowledged) for a node whose records are dated a day
    or more after the hub received them, or before a checkpoint they say was already seen
    (before the node's enrolment, for a record with no anchor): its computer's clock is
    wrong. Checked on a batch's first and last records only."""
    for rec in {id(r): r for r in (records[:1] + records[-1:])}.values():
        at = rec.at_time
        if at > now + SKEW:
            why = f"dated {rec.at}, {(at - now).days} days after the hub received it"
        else:
            floor = node.enrolled_at - BEFORE_ENROLMENT
            if rec.anchor is not None and rec.anchor.size:
                seen = session.get(Checkpoint, rec.anchor.size)
                floor = seen.created_at if seen is not None else floor
            if at >= floor - SKEW:
                continue
            why = f"dated {rec.at}, before the hub checkpoint it had seen ({floor:%Y-%m-%d})"
        nodes.alert_once(
            session,
            "clock_skew",
            node.node_id,
            f"seq {rec.seq} {why}: the commune's computer clock is wrong; ask its IT officer to "
            "set the date (its desk warns on every page)",
            now,
        )
        return


def _after_head(
    session: Session, node: Node, known: dict[int, bytes], want_seq: int, want_prev: str | None
) -> tuple[int, str | None]:
    """The seq and prev the next record must have: after the head, or — when the head is a
    declared break (:mod:`common.chain_break`) — after the range it declares lost."""
    if not node.head_seq:
        return want_seq, want_prev
    raw = known.get(node.head_seq)
    if raw is None:
        raw = _stored_raws(session, node.node_id, [node.head_seq]).get(node.head_seq)
        if raw is not None:
            known[node.head_seq] = raw
    if raw is None:
        return want_seq, want_prev
    head = record_fast.parse(raw)
    if head.type != chain_break.TYPE or chain_break.problems(
        head.data, seq=head.seq, prev=head.prev
    ):
        return want_seq, want_prev
    return chain_break.successor(head.data, head.id)


def _stored_raws(session: Session, node_id: str, seqs: list[int]) -> dict[int, bytes]:
    """The stored bytes of this node's records at ``seqs``."""
    found: dict[int, bytes] = {}
    for chunk in _chunks(sorted(set(seqs))):
        stmt = select(LogRecord.seq, LogRecord.raw).where(
            LogRecord.node_id == node_id, LogRecord.seq.in_(chunk)
        )
        found.update({seq: raw for seq, raw in session.execute(stmt)})
    return found


def _append(
    session: Session,
    out: PushOutcome,
    accepted: list[tuple[record.Record, DossierError | None, bool]],
    *,
    hub: HubIdentity,
    now: datetime,
) -> Checkpoint | None:
    """Append the stored records to the log (one bulk insert) and sign the checkpoint."""
    if not accepted:
        return translog.latest_checkpoint(session)
    appender = translog.Appender(session)
    out.first_leaf = appender.start
    out.frontier = [h for _, _, h in appender.range.frontier()]
    rows = []
    for rec, problem, owned in accepted:
        leaf = appender.append(rec.raw)
        out.leaves[rec.seq] = leaf
        rows.append(
            {
                "leaf": leaf,
                "node_id": rec.node,
                "seq": rec.seq,
                "record_id": rec.id,
                "dossier_code": rec.dossier if owned or problem is None else None,
                "type": rec.type,
                "raw": rec.raw,
                "stored_at": now,
                "dead": problem is not None,
                "reason": f"{problem.code}: {problem.en}"[:500] if problem else None,
            }
        )
    insert_rows(session, LogRecord, rows)
    return appender.finish(hub=hub, now=now)


def receipt_body(out: PushOutcome, *, hub: HubIdentity, now: datetime) -> dict[str, Any]:
    cp = out.checkpoint
    return {
        "checkpoint": {"root": cp.root, "size": cp.size} if cp else None,
        "dead": [d["seq"] for d in out.dead],
        "hub": hub.hub_id,
        "id": out.head_id,
        "node": out.node_id,
        "seq": out.head_seq,
        "time": now.isoformat(timespec="seconds"),
    }


def sign_receipt(out: PushOutcome, *, hub: HubIdentity, now: datetime) -> bytes:
    return protocol.sign_statement(
        protocol.RECEIPT_PREFIX, receipt_body(out, hub=hub, now=now), hub.key
    )
