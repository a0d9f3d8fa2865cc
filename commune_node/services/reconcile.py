"""A node that holds less of its own chain than the hub does takes the rest back.

That is a node put back from an older copy of its instance folder (``commune-node
restore``, or a copy made by hand), or a new laptop enrolled to replace a lost one (``central-hub
node replace``: it continues the same chain with a new key). The hub's status answer
shows it: the hub's head for this node is a record the node does not hold. Then
(docs/sync-protocol.md, "A node behind its own chain"):

1. The node fetches its records after the last one its receipts prove the hub holds
   (``GET /sync/v1/history``), checks each is this node's, chained to the one before, signed
   by a key of this node's (its key files, its enrolment, the rotations in the chain), the
   last one the hub's head, and that head in the hub's latest signed checkpoint (an
   inclusion proof) — so every record taken back is bound to the log the hub signed.
2. In one transaction: the records it signed since the copy at seqs the hub holds under
   other records (the fork) are set aside (``superseded_event``, kept byte for byte), the
   hub's records take their places, the dossiers are folded again from the whole log
   (:mod:`replay`), and the day counters continue after the highest code the chain holds.
3. Still in that transaction, the content of every set-aside record is signed again as a
   new record after the hub's head. A dossier whose code the lost copy had already given to
   another citizen gets the next free code (both listed in the alarm: the citizen gets a new
   slip); nothing is overwritten.
4. One ``node_restored`` alarm tells the officers what happened; the restore marker goes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from common import keys, lifecycle, merkle, personal, protocol, record
from common.calendar import VN_TZ
from common.errors import DossierError
from common.lifecycle import Side
from common_io.database import Database
from commune_node.models import DeadLetter, Dossier, Event, SupersededEvent
from commune_node.notify_models import OutboxMessage
from commune_node.services import eventlog, inbound, intake, personal_data, projection, replay
from commune_node.services.hublink import Client, HubLink, refused
from commune_node.services.identity import (
    NodeIdentity,
    get_setting,
    key_files,
    set_setting,
)

PAGE_BYTES = 256 * 1024
MAX_PAGES = 10_000


@dataclass
class Outcome:
    fork: int = 0  # first seq where the node's chain left the hub's
    taken: int = 0  # records taken back from the hub
    resigned: list[int] = field(default_factory=list)
    renumbered: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def behind(session: Session, hub_head: int, head_id: str | None, node_id: str) -> bool:
    """The hub's head for this node is a record this node does not hold — or this laptop's
    records were signed before it became the commune's node (a replacement laptop that took
    dossiers before its first sync)."""
    first = session.get(Event, 1)
    if first is not None and record.parse(first.record).node != node_id:
        return True
    if not hub_head:
        return False
    ours = session.get(Event, hub_head)
    return ours is None or ours.record_id != head_id


def fetch(
    client: Client, *, after: int, until: int
) -> tuple[list[record.Record], dict[str, tuple[personal.Disclosure, ...]]]:
    """This node's records ``after`` .. ``until`` as the hub holds them, and the personal
    data they commit to, which the hub seals to a one-time key this node sends with the
    request (docs/sync-protocol.md, "A node behind its own chain")."""
    out: list[record.Record] = []
    opened: dict[str, tuple[personal.Disclosure, ...]] = {}
    once = personal.generate_encryption_key()
    seal_to = personal.encryption_public_bytes(once).hex()
    for _ in range(MAX_PAGES):
        if after >= until:
            break
        resp = client.call(
            "GET", f"/sync/v1/history?after={after}&max_bytes={PAGE_BYTES}&seal_to={seal_to}"
        )
        raws, sealed = protocol.decode_batch_sealed(resp.body)
        if not raws:
            break
        for raw in raws:
            rec = record.parse(raw)
            if rec.seq > until:
                return out, opened  # stored since the status answer: taken by the next run
            out.append(rec)
            box = sealed.get(rec.id)
            if box is not None:
                opened[rec.id] = personal.unseal(box, key=once, record_id=rec.id)
            after = rec.seq
    return out, opened


def key_ring(session: Session, instance: Path | None) -> dict[str, keys.PublicKey]:
    """Public keys this node knows to be its own: its key files, the key its enrolment
    names, and every key a rotation in its own chain brought in."""
    from common_io.keyfile import load_private_key

    ring: dict[str, keys.PublicKey] = {}
    for path in key_files(instance) if instance is not None else []:
        public = keys.public_from_hex(keys.public_bytes(load_private_key(path)).hex())
        ring[keys.key_id(public)] = public
    kept = get_setting(session, "enrolment")
    if kept:
        body = protocol.statement_claims(
            protocol.ENROLMENT_PREFIX, protocol.unb64(kept, "enrolment")
        )
        public = keys.public_from_hex(str(body["public_key"]))
        ring[keys.key_id(public)] = public
    for raw in session.scalars(select(Event.record).where(Event.type == "key.rotated")):
        _learn_rotation(ring, record.parse(raw))
    return ring


def _learn_rotation(ring: dict[str, keys.PublicKey], rec: record.Record) -> None:
    if rec.type == "key.rotated":
        public = keys.public_from_hex(str(rec.data["new_key"]))
        ring[keys.key_id(public)] = public


def _bad(message: str) -> Exception:
    return refused(
        {
            "code": "bad_history",
            "message": f"the records the hub gave back are not this node's chain: {message}",
            "message_vi": "Các bản ghi cấp trên trả lại không khớp với chuỗi của máy này.",
        },
        409,
    )


def verify(
    records: list[record.Record],
    *,
    node_id: str,
    start: int,
    start_id: str | None,
    head_id: str | None,
    ring: dict[str, keys.PublicKey],
    vouched_below: int = 0,
) -> None:
    """Each record is ours, chained, and signed by a key of ours; the last is the hub's
    head. Records below ``vouched_below`` (a replaced laptop's, whose keys this laptop never
    held) are bound by the chain to the head, which the hub's checkpoint holds."""
    prev, seq = start_id, start
    for rec in records:
        if rec.node != node_id or rec.seq != seq + 1 or rec.prev != prev:
            raise _bad(f"record {rec.seq} does not continue the chain at {seq}")
        public = ring.get(rec.key)
        if public is not None:
            rec.verify(public)
        elif rec.seq >= vouched_below:
            raise _bad(f"record {rec.seq} is signed by key {rec.key}, not one of this node's")
        _learn_rotation(ring, rec)
        prev, seq = rec.id, rec.seq
    if prev != head_id:
        raise _bad("the last record is not the hub's head")


def check_in_log(client: Client, link: HubLink, head: record.Record, size: int) -> None:
    """The hub's head record is in the log the hub signed (inclusion in its checkpoint)."""
    answer = client.call("GET", f"/sync/v1/proof/inclusion?seq={head.seq}&size={size}").json()
    signed = protocol.unb64(answer["checkpoint"]["signed"], "checkpoint")
    cp = protocol.checkpoint_of(signed, link.public, origin=link.origin)
    try:
        merkle.verify_inclusion(
            merkle.leaf_hash(head.raw),
            int(answer["leaf"]),
            int(cp["size"]),
            [bytes.fromhex(h) for h in answer["hashes"]],
            bytes.fromhex(str(cp["root"])),
        )
    except merkle.ProofError as exc:
        raise _bad(f"the head is not in the hub's signed log ({exc.en})") from exc


def take_back(
    db: Database,
    client: Client,
    link: HubLink,
    *,
    hub_head: int,
    head_id: str | None,
    checkpoint: dict[str, Any] | None,
) -> Outcome:
    """Take back this node's records the hub holds and it does not (see the module)."""
    with db.read() as session:
        start = min(int(get_setting(session, "acked_seq", "0") or 0), hub_head)
        while start and session.get(Event, start) is None:
            start -= 1
        start_row = session.get(Event, start) if start else None
        ring = key_ring(session, client.instance)
        replacement = json.loads(get_setting(session, "replacement") or "{}")
    records, opened = fetch(client, after=start, until=hub_head)
    verify(
        records,
        node_id=client.identity.node_id,
        start=start,
        start_id=start_row.record_id if start_row else None,
        head_id=head_id,
        ring=ring,
        vouched_below=int(replacement.get("first_seq", 0)),
    )
    if records and checkpoint:
        check_in_log(client, link, records[-1], int(checkpoint["size"]))
    identity = client.current()
    now = client.clock()
    with db.write() as session:
        for rec in records:  # each value checked against the commitment the record signs
            if rec.id in opened and personal.COMMITMENTS in rec.data:
                personal.reveal(rec.data, opened[rec.id])
                personal_data.keep(
                    session, record_id=rec.id, dossier=rec.dossier, disclosures=opened[rec.id]
                )
        outcome = _rewrite(session, records, start=start, identity=identity, now=now)
        _alarm(session, outcome, hub_head=hub_head, now=now)
        set_setting(session, "restored", "")
        set_setting(session, "restore_reconciled", now.isoformat())
    return outcome


def finish_without_change(db: Database, now: Any) -> None:
    """A restored node whose hub holds nothing newer than the copy: only the marker goes."""
    with db.write() as session:
        if not get_setting(session, "restored"):
            return
        set_setting(session, "restored", "")
        set_setting(session, "restore_reconciled", now.isoformat())
        replay.reset_counters(session)
        inbound.alarm(
            session,
            "node_restored",
            "This node was put back from a backup. The hub held nothing of this node newer "
            "than the backup: nothing was lost. Dossier numbers go on as usual.",
            "Máy đã được khôi phục từ bản sao lưu. Cấp trên không giữ bản ghi nào mới hơn "
            "bản sao lưu: không mất dữ liệu. Số hồ sơ tiếp tục như thường.",
            now,
        )


def _rewrite(
    session: Session,
    records: list[record.Record],
    *,
    start: int,
    identity: NodeIdentity,
    now: Any,
) -> Outcome:
    fork = start + 1
    for rec in records:
        ours = session.get(Event, rec.seq)
        if ours is None or ours.record_id != rec.id:
            break
        fork = rec.seq + 1
    out = Outcome(fork=fork)
    aside = list(session.scalars(select(Event).where(Event.seq >= fork).order_by(Event.seq)))
    for ev in aside:
        session.add(
            SupersededEvent(
                record_id=ev.record_id,
                seq=ev.seq,
                dossier_code=ev.dossier_code,
                type=ev.type,
                record=ev.record,
                superseded_at=now,
            )
        )
    session.execute(delete(DeadLetter).where(DeadLetter.seq >= fork))
    session.execute(delete(Event).where(Event.seq >= fork))
    session.flush()
    for rec in records:
        if rec.seq >= fork:
            session.add(
                Event(
                    seq=rec.seq,
                    record_id=rec.id,
                    dossier_code=rec.dossier,
                    type=rec.type,
                    actor=rec.actor,
                    at=rec.at_time,
                    record=rec.raw,
                )
            )
            out.taken += 1
    session.flush()
    replay.rebuild_dossiers(session)
    set_setting(session, "restored", "")
    replay.reset_counters(session)
    session.flush()
    for ev in aside:
        _resign(session, ev, identity=identity, out=out)
    return out


def _resign(session: Session, ev: Event, *, identity: NodeIdentity, out: Outcome) -> None:
    """Sign the content of a set-aside record again after the hub's head."""
    rec = record.parse(ev.record)
    kept = session.get(SupersededEvent, ev.record_id)
    assert kept is not None
    if rec.type == "key.rotated":
        kept.note = "a key rotation made after the restore: rotate the key again"
        out.skipped.append(f"{rec.seq} key.rotated")
        return
    code = out.renumbered.get(rec.dossier or "", rec.dossier)
    row = session.get(Dossier, code) if code else None
    data = personal_data.data_of(session, rec)  # signed again with fresh commitments
    creating = "applicant" in data and "procedure" in data
    if code is not None and creating and row is not None:
        day = rec.at_time.astimezone(VN_TZ).strftime("%y%m%d")
        code = intake.next_code(session, agency_code=identity.agency_code, day=day)
        out.renumbered[str(rec.dossier)] = code
        kept.new_code = code
        row = None
        _renumber_notices(session, str(rec.dossier), code, since=rec.at_time)
    try:
        with session.begin_nested():
            if code is not None:
                state = lifecycle.apply(
                    projection.state_of(row),
                    event_type=rec.type,
                    data=data,
                    at=rec.at_time,
                    code=code,
                    side=Side.COMMUNE,
                )
            new = eventlog.append(
                session,
                identity=identity,
                clock=lambda: rec.at_time,
                dossier=code,
                type=rec.type,
                actor=rec.actor,
                data=data,
            )
            if code is not None:
                if row is None:
                    row = projection.new_row(code, data, rec.at_time)
                    session.add(row)
                row.last_seq = new.seq
                projection.store_state(row, state)
    except DossierError as exc:
        kept.note = f"not signed again: {exc.en}"[:500]
        out.skipped.append(f"{rec.seq} {rec.type} {code or ''}: {exc.en}")
        return
    kept.resigned_seq = new.seq
    out.resigned.append(new.seq)


def _renumber_notices(session: Session, old: str, new: str, *, since: Any) -> None:
    """The citizen's notices queued for the dossier taken in under ``old`` (since it was
    taken in: the lost copy's own notices were lost with it) name its new code."""
    rows = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.dossier_code == old, OutboxMessage.created_at >= since
        )
    )
    for m in rows:
        m.dossier_code = new
        m.subject = m.subject.replace(old, new)
        m.text = m.text.replace(old, new)
        m.text_ascii = m.text_ascii.replace(old, new)


def _alarm(session: Session, out: Outcome, *, hub_head: int, now: Any) -> None:
    renum = "; ".join(f"{old} is now {new}" for old, new in out.renumbered.items())
    renum_vi = "; ".join(f"{old} đổi thành {new}" for old, new in out.renumbered.items())
    en = (
        f"This node held less of its own records than the hub (it was put back from an older "
        f"copy, or it replaces a lost laptop). It took back {out.taken} records from the hub "
        f"(up to {hub_head}) and the dossiers they hold; {len(out.resigned)} records made here "
        "since the copy were signed again after them, nothing lost."
    )
    vi = (
        f"Máy giữ ít bản ghi của chính mình hơn cấp trên (được khôi phục từ bản sao cũ hoặc "
        f"thay máy). Máy đã lấy lại {out.taken} bản ghi từ cấp trên (đến số {hub_head}) cùng "
        f"các hồ sơ; {len(out.resigned)} bản ghi lập sau bản sao được ký lại, không mất dữ liệu."
    )
    if renum:
        en += (
            f" Codes the lost copy had already given to other citizens were changed: {renum}. "
            "Print a new receipt slip for these citizens."
        )
        vi += f" Mã hồ sơ trùng với mã bản cũ đã cấp được đổi: {renum_vi}. Hãy in lại phiếu hẹn."
    if out.skipped:
        en += f" Not signed again (kept aside, tell the IT officer): {'; '.join(out.skipped)}."
        vi += " Một số bản ghi không ký lại được, hãy báo cán bộ CNTT."
    inbound.alarm(session, "node_restored", en, vi, now)
