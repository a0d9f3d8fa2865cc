"""Records of the node's own chain damaged on its disk, found and repaired.

A flipped bit in a stored record makes its signature fail: the node can no longer prove
what it wrote, and the hub refuses it. :func:`scan` reads the whole chain and names every
damaged record (never stopping at the first, never raising on bad bytes). Repair then
depends on whether the hub holds the record:

* **the hub has it** (``seq`` at or below the hub's head for this node): its copy is fetched
  (``GET /sync/v1/records``) and put back only if it is this node's record at that ``seq``,
  signed by this node's key and linked to its neighbours in the chain (:func:`restore`);
* **the hub never had it**: its content is lost. The damaged bytes are kept as found
  (``damaged_record``, a dead letter at the node), and a signed ``chain.break`` record takes
  its place, declaring the lost range, why, and the last good record
  (:mod:`common.chain_break`), so the records after it still go (:func:`declare_lost`).

Either way the officers get an alarm saying what happened and what it means.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from common import chain_break, keys, protocol, record
from common.errors import DossierError
from common_io.keyfile import load_private_key
from commune_node.models import DamagedRecord, DeadLetter, Event
from commune_node.services import inbound
from commune_node.services.identity import get_setting, key_files, latest_anchor, load_key

BATCH = 2000


@dataclass(frozen=True)
class Damage:
    seq: int
    problem: str


@dataclass
class ScanResult:
    checked: int = 0
    damaged: list[Damage] | None = None
    links: list[Damage] | None = None  # intact records that do not follow the one before

    def __post_init__(self) -> None:
        self.damaged = self.damaged or []
        self.links = self.links or []


def known_keys(session: Session, instance: Path) -> dict[str, keys.PublicKey]:
    """Every public key this node's records may be signed with: its key files, the key its
    enrolment names, and each key a rotation record announced."""
    found: dict[str, keys.PublicKey] = {}
    for path in key_files(instance):
        try:
            public = load_private_key(path).public_key()
        except (DossierError, ValueError, OSError):
            continue
        found[keys.key_id(public)] = public
    statement = get_setting(session, "enrolment")
    hub_public = get_setting(session, "hub_public_key")
    if statement and hub_public:
        try:
            body = protocol.enrolment_of(
                protocol.unb64(statement, "enrolment"),
                keys.public_from_hex(hub_public),
                origin=get_setting(session, "origin") or "",
            )
            public = keys.public_from_hex(body["public_key"])
            found[keys.key_id(public)] = public
        except (DossierError, ValueError):
            pass
    for raw in session.scalars(select(Event.record).where(Event.type == "key.rotated")):
        try:
            public = keys.public_from_hex(record.parse(raw).data["new_key"])
        except (DossierError, ValueError, KeyError, TypeError):
            continue
        found[keys.key_id(public)] = public
    return found


def check_one(
    raw: bytes, *, seq: int, record_id: str | None, node_id: str, ring: dict[str, keys.PublicKey]
) -> tuple[record.Record | None, str | None]:
    """The record if its bytes are sound, else the problem."""
    try:
        rec = record.parse(raw)
    except DossierError as exc:
        return None, f"the bytes do not parse: {exc.en}"
    except Exception as exc:
        return None, f"the bytes do not parse: {exc}"
    if rec.seq != seq or rec.node != node_id:
        return None, f"the bytes name seq {rec.seq} of node {rec.node}"
    public = ring.get(rec.key)
    if public is None:
        return None, f"signed by key {rec.key}, which is not one of this node's keys"
    try:
        rec.verify(public)
    except DossierError:
        return None, "the signature does not verify (the bytes changed since they were signed)"
    if record_id is not None and rec.id != record_id:
        return None, "the record's hash differs from the one stored with it"
    return rec, None


def scan(session: Session, instance: Path, *, after: int = 0) -> ScanResult:
    """Check every record after ``after``: its own bytes (form, writer, key, signature, the
    hash stored beside it) and its link to the record before it."""
    node_id = get_setting(session, "node_id") or ""
    ring = known_keys(session, instance)
    out = ScanResult()
    assert out.damaged is not None and out.links is not None
    previous: record.Record | None = None
    if after:
        previous = _good(session, after)
    last_seq = after
    while True:
        rows = session.execute(
            select(Event.seq, Event.record)
            .where(Event.seq > last_seq)
            .order_by(Event.seq)
            .limit(BATCH)
        ).all()
        if not rows:
            return out
        for seq, raw in rows:
            out.checked += 1
            rec, problem = check_one(raw, seq=seq, record_id=None, node_id=node_id, ring=ring)
            if rec is None:
                out.damaged.append(Damage(seq, problem or "damaged"))
                previous = None
                continue
            if previous is not None or seq == 1:
                try:
                    record.check_follows(previous, rec)
                except DossierError as exc:
                    out.links.append(Damage(seq, exc.en))
            previous = rec
        last_seq = rows[-1][0]


def runs(seqs: list[int]) -> list[tuple[int, int]]:
    """Contiguous ranges of sorted sequence numbers."""
    out: list[tuple[int, int]] = []
    for s in seqs:
        if out and out[-1][1] == s - 1:
            out[-1] = (out[-1][0], s)
        else:
            out.append((s, s))
    return out


def _good(session: Session, seq: int) -> record.Record | None:
    row = session.get(Event, seq)
    if row is None:
        return None
    try:
        return record.parse(row.record)
    except DossierError:
        return None


def restore(
    session: Session,
    raw: bytes,
    *,
    seq: int,
    instance: Path,
    problem: str,
    now: datetime,
) -> str | None:
    """Put the hub's copy of record ``seq`` back in place of the damaged one; None when done,
    else why the copy is not this node's record."""
    row = session.get(Event, seq)
    if row is None:
        return f"seq {seq} is not in this node's chain"
    node_id = get_setting(session, "node_id") or ""
    rec, wrong = check_one(
        raw, seq=seq, record_id=None, node_id=node_id, ring=known_keys(session, instance)
    )
    if rec is None:
        return f"the hub's copy of seq {seq}: {wrong}"
    before, after = _good(session, seq - 1) if seq > 1 else None, _good(session, seq + 1)
    try:
        if seq == 1 or before is not None:
            record.check_follows(before, rec)
        if after is not None:
            record.check_follows(rec, after)
    except DossierError as exc:
        return f"the hub's copy of seq {seq} does not fit this node's chain: {exc.en}"
    if row.record_id != rec.id and after is None and seq > 1 and before is None:
        return f"the hub's copy of seq {seq} cannot be checked against this node's chain"
    earlier = session.get(DamagedRecord, seq)  # damaged and restored before: the latest
    if earlier is not None:
        session.delete(earlier)
        session.flush()
    session.add(
        DamagedRecord(
            seq=seq,
            record_id=row.record_id,
            raw=row.record,
            problem=problem[:500],
            outcome="restored",
            found_at=now,
        )
    )
    row.record, row.record_id = rec.raw, rec.id
    inbound.alarm(
        session,
        "record_restored",
        f"Record {seq} of this node's chain was damaged on disk ({problem}). The hub's copy, "
        "checked against this node's key and chain, was put back. Nothing was lost; check "
        "the computer's disk.",
        f"Bản ghi số {seq} của nút bị hỏng trên ổ đĩa. Bản sao tại cấp trên (đã kiểm tra "
        "chữ ký và chuỗi) đã được khôi phục. Không mất dữ liệu; hãy kiểm tra ổ đĩa máy tính.",
        now,
    )
    return None


def _prev_for(session: Session, seq: int) -> str | None:
    """The ``prev`` a record at ``seq`` must name: the record before it, or what the break
    before it says the chain goes on from."""
    row = session.scalars(
        select(Event).where(Event.seq < seq).order_by(Event.seq.desc()).limit(1)
    ).first()
    if row is None:
        return None
    rec = record.parse(row.record)
    if rec.type == chain_break.TYPE:
        return chain_break.successor(rec.data, rec.id)[1]
    return rec.id


def _signing_key(session: Session, instance: Path, seq: int) -> keys.PrivateKey:
    """The private key valid at ``seq``: the key of the last good record before it (or the
    key a rotation there introduced); the node's first key at seq 1."""
    row = session.scalars(
        select(Event).where(Event.seq < seq).order_by(Event.seq.desc()).limit(1)
    ).first()
    if row is None:
        key_id = get_setting(session, "node_id") or ""
    else:
        rec = record.parse(row.record)
        key_id = rec.key
        if rec.type == "key.rotated":
            key_id = keys.key_id(bytes.fromhex(rec.data["new_key"]))
    return load_key(instance, key_id)


def declare_lost(
    session: Session,
    first: int,
    last: int,
    *,
    instance: Path,
    problems: dict[int, str],
    actor: str,
    now: datetime,
) -> record.Record:
    """Keep the damaged records ``first..last`` (never received by the hub) as dead letters
    and sign a ``chain.break`` in their place."""
    node_id = get_setting(session, "node_id") or ""
    prev = _prev_for(session, first)
    following = _good(session, last + 1)
    why = "; ".join(f"seq {s}: {problems[s]}" for s in range(first, last + 1) if s in problems)
    span = f"record {first}" if first == last else f"records {first}..{last}"
    rec = record.make(
        private_key=_signing_key(session, instance, first),
        node=node_id,
        seq=first,
        prev=prev,
        at=now,
        anchor=latest_anchor(session),
        dossier=None,
        type=chain_break.TYPE,
        actor=actor,
        data=chain_break.data(
            first_seq=first,
            last_seq=last,
            last_good=prev,
            next_prev=following.prev if following is not None else None,
            reason=f"{span} damaged on the node's disk before the hub received it ({why})",
        ),
    )
    rows = list(session.scalars(select(Event).where(Event.seq >= first, Event.seq <= last)))
    for row in rows:
        session.add(
            DamagedRecord(
                seq=row.seq,
                record_id=row.record_id,
                raw=row.record,
                problem=problems.get(row.seq, "damaged")[:500],
                outcome="lost",
                found_at=now,
            )
        )
    session.execute(delete(DeadLetter).where(DeadLetter.seq >= first, DeadLetter.seq <= last))
    session.execute(delete(Event).where(Event.seq >= first, Event.seq <= last))
    session.flush()
    session.add(
        Event(
            seq=rec.seq,
            record_id=rec.id,
            dossier_code=None,
            type=rec.type,
            actor=actor,
            at=rec.at_time,
            record=rec.raw,
        )
    )
    inbound.alarm(
        session,
        "record_lost",
        f"{span.capitalize()} of this node's chain were damaged on disk before the hub "
        f"received them ({why}). Their content is lost; the damaged bytes are kept. The node "
        "signed a declared break in their place, so the records after them are sent as usual "
        "and an audit shows one declared gap. Check the computer's disk, and re-enter at the "
        "desk any dossier action taken just then.",
        f"Bản ghi số {first}–{last} của nút bị hỏng trên ổ đĩa trước khi gửi lên cấp trên; "
        "nội dung bị mất. Nút đã ký một bản ghi khai báo đứt chuỗi thay thế, các bản ghi sau "
        "vẫn được gửi bình thường. Hãy kiểm tra ổ đĩa và nhập lại thao tác hồ sơ lúc đó.",
        now,
    )
    return rec


def lost_records(session: Session) -> list[DamagedRecord]:
    return list(session.scalars(select(DamagedRecord).order_by(DamagedRecord.seq)))
