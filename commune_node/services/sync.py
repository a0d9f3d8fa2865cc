"""One sync run of a node with its hub, step by step as the protocol reads:

1. **status** — ask the hub how far it has stored this node's chain (a signed request).
   If the hub knows less than our receipts prove it once had, it lost data (e.g. restored
   from a backup): raise an alarm and send the missing records again.
2. **push** — send records after the hub's head in batches bounded in bytes. Each answer
   carries a hub-signed receipt; we verify it and mark records synced *only* from a receipt.
   Records the hub stored but refused to apply come back as dead letters, shown on the
   node; they never block the queue. A gap answer moves us back to where the hub expects.
3. **pull** — fetch hub records addressed to us after our cursor, verify the hub's
   signature on each, apply them, and store the new cursor in the same transaction.

Network I/O never happens inside a database transaction. Every step is idempotent: a run
cut at any point is simply run again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import personal, protocol, record
from common_io.database import Database
from commune_node.models import DeadLetter, Event, Inbound, Receipt
from commune_node.services import (
    backlog,
    hublink,
    inbound,
    keyring,
    notify_sync,
    personal_data,
    reconcile,
    refill,
    reintroduce,
    repair,
    replay,
    storage,
    witness,
)
from commune_node.services.hublink import Client, HubLink, SyncRefused, hub_link, refused
from commune_node.services.identity import Clock, NodeIdentity, get_setting, set_setting
from commune_node.transport import LinkError, Transport

DEFAULT_BATCH_BYTES = 64 * 1024
MAX_ROUNDS = 10_000


@dataclass
class SyncResult:
    pushed: int = 0
    duplicates: int = 0
    dead: int = 0
    pulled: int = 0
    receipts: int = 0
    acked_seq: int = 0
    hub_head: int = 0
    notes: list[str] = field(default_factory=list)


def sync_once(
    db: Database,
    *,
    identity: NodeIdentity,
    transport: Transport,
    clock: Clock,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    instance: Path | None = None,
) -> SyncResult:
    """Run status → push → pull once; raises LinkError (retry later) or SyncRefused.

    ``instance`` is the node's folder: the keys are read from it per request (the key the
    hub holds signs requests, the current key cosigns), and a key replaced by a rotation the
    hub acknowledged is deleted from it (:mod:`keyring`). A full disk (or a damaged
    database file) is raised as :class:`storage.DiskFull` (:class:`storage.DatabaseDamaged`):
    nothing half-stored, the officer told what to do."""
    try:
        return _sync_once(
            db,
            identity=identity,
            transport=transport,
            clock=clock,
            batch_bytes=batch_bytes,
            instance=instance,
        )
    except (LinkError, SyncRefused):
        raise
    except Exception as exc:
        known = storage.classify(exc)
        if known is None:
            raise
        raise known from exc


def _sync_once(
    db: Database,
    *,
    identity: NodeIdentity,
    transport: Transport,
    clock: Clock,
    batch_bytes: int,
    instance: Path | None,
) -> SyncResult:
    with db.read() as session:
        link = hub_link(session)
    client = Client(db, identity, transport, clock, instance=instance)
    result = SyncResult()
    _forget_replaced_keys(db, instance)
    try:
        hub_head = _status(db, client, link, result)
        _push(db, client, link, result, hub_head, batch_bytes)
        _pull(db, client, link, identity, result)
        result.notes += notify_sync.drain(db, client, clock()).notes  # citizen notifications
    except (LinkError, SyncRefused) as exc:
        with db.write() as session:
            set_setting(
                session,
                "last_error",
                json.dumps(
                    {"code": exc.code, "en": exc.en, "vi": exc.vi, "at": clock().isoformat()}
                ),
            )
        raise
    with db.write() as session:
        set_setting(session, "last_sync_ok", clock().isoformat())
        set_setting(session, "last_error", "")
        result.acked_seq = backlog.acked_seq(session)
    return result


def _forget_replaced_keys(db: Database, instance: Path | None) -> None:
    """A key whose rotation record a receipt covers signs nothing any more: its file goes."""
    if instance is not None:
        with db.read() as session:
            keyring.forget_replaced(session, instance)


def _status(
    db: Database,
    client: Client,
    link: HubLink,
    result: SyncResult,
    *,
    _rebuilding: bool = False,
    _reintroduced: bool = False,
) -> int:
    try:
        resp = client.call(
            "GET", f"/sync/v1/status?{backlog.report_query(db)}", headers=witness.known_evidence(db)
        )
    except SyncRefused as exc:
        # a hub put back from a backup older than our enrolment: show it the enrolment
        # it signed, then go on (it gives everything back through the usual paths)
        # a new laptop and a hub put back from before it (``unknown_key``): the same, with
        # the replacement the hub signed
        unknown = exc.code == "unknown_node"
        if (
            not (unknown or (exc.code == "unknown_key" and reintroduce.replaced(db)))
            or _reintroduced
            or not reintroduce.reintroduce(db, client, alarm=unknown)
        ):
            raise
        return _status(db, client, link, result, _reintroduced=True)
    reintroduce.ensure_statement(db, client, link)
    body = resp.json()
    if isinstance(body.get("time"), int):
        client.learn_offset(body["time"])  # how far our clock is from the hub's
    if body.get("encryption_key"):
        with db.write() as session:
            hublink.learn_encryption_key(session, link.public, link.hub_id, body["encryption_key"])
    hub_head = int(body["head_seq"])
    # The hub's administrator gave up the checkpoint we verified (a declared break): verify
    # the hub's statement, tell the officers once, and go on from what it kept.
    broke = bool(body.get("log_break")) and witness.adopt_break(
        db, client, link, body["log_break"], hub_head=hub_head
    )
    if body.get("recovery") and not _rebuilding:
        # The hub was restored from a backup and rebuilds its log: give back what we hold
        # of what it lost, then look again at where it stands.
        refill.give_back_after_restore(db, client, body["recovery"], head_seq=hub_head)
        return _status(db, client, link, result, _rebuilding=True, _reintroduced=_reintroduced)
    if body.get("recovery") and hub_head < acked_seq_of(db):
        # What we gave back waits for other communes' records before it: not synced yet.
        raise refused(refill.recovery_refusal(), 409)
    result.hub_head = hub_head
    _catch_up(db, client, link, body, hub_head)
    with db.write() as session:
        acked = backlog.acked_seq(session)
        if (
            hub_head < acked and not broke and not _reintroduced
        ):  # after a break, its alarm says it already
            inbound.alarm(
                session,
                "hub_rollback",
                f"The hub holds this node's records only up to {hub_head}, but its own signed "
                f"receipt says it stored up to {acked}. The missing records are being sent again.",
                f"Cấp trên chỉ còn bản ghi đến số {hub_head}, trong khi biên nhận đã ký "
                f"xác nhận đến số {acked}. Nút đang gửi lại các bản ghi bị thiếu.",
                client.clock(),
            )
    cp = body.get("checkpoint")
    witness.check_same_root(db, client, cp)
    if cp and int(cp["size"]) > witness.known_checkpoint(db)[0]:
        known = witness.known_checkpoint(db)[0]
        hashes: list[str] = []
        if known:
            proof = client.call("GET", f"/sync/v1/proof/consistency?old={known}&new={cp['size']}")
            hashes = proof.json()["hashes"]
        witness.witness(db, client, link, protocol.unb64(cp["signed"], "checkpoint"), known, hashes)
    return hub_head


def _catch_up(
    db: Database, client: Client, link: HubLink, body: dict[str, Any], hub_head: int
) -> None:
    """The hub's head for this node is a record this node does not hold: the node was put
    back from an older copy, or it is a new laptop replacing a lost one. Take the records
    back (:mod:`reconcile`); if they are not this node's chain, an alarm (in its own
    transaction, so it outlives the refusal) and the sync stops."""
    with db.read() as session:
        is_behind = reconcile.behind(
            session, hub_head, body.get("head_id"), client.identity.node_id
        )
        restored = bool(get_setting(session, "restored"))
    if not is_behind:
        if restored:
            reconcile.finish_without_change(db, client.clock())
        return
    try:
        reconcile.take_back(
            db,
            client,
            link,
            hub_head=hub_head,
            head_id=body.get("head_id"),
            checkpoint=body.get("checkpoint"),
        )
    except SyncRefused as exc:
        if exc.code != "bad_history":
            raise
        with db.write() as session:
            inbound.alarm(
                session,
                "hub_mismatch",
                f"The hub's record {hub_head} for this node is not ours: {exc.en}",
                f"Bản ghi số {hub_head} tại cấp trên không khớp với bản ghi của nút.",
                client.clock(),
            )
        raise refused(
            {"code": "hub_mismatch", "message": "hub head differs from ours"}, 409
        ) from exc


def acked_seq_of(db: Database) -> int:
    with db.read() as session:
        return backlog.acked_seq(session)


def _next_batch(session: Session, after: int, budget: int) -> list[bytes]:
    rows = session.scalars(
        select(Event.record).where(Event.seq > after).order_by(Event.seq).limit(2000)
    )
    out: list[bytes] = []
    size = 0
    for raw in rows:
        if out and size + len(raw) > budget:
            break
        out.append(raw)
        size += len(raw)
    return out


def encode_push(batch: list[bytes], sealed: dict[str, bytes] | None = None) -> bytes:
    """The body of one push: version 2 frames (each ``prev`` the hub can recompute left
    out), each record's personal data sealed to the hub's encryption key in the frame after
    it, zlib with the protocol's preset dictionary (docs/sync-protocol.md)."""
    return protocol.encode_batch_v2(batch, sealed=sealed)


def resume_after(hub_head: int, acked: int) -> int:
    """The seq after which a push starts, given the hub's head (already checked to be our own
    record) and the highest seq our receipts cover.

    * The hub has what we have receipts for: start after its head.
    * The hub stored more than we hold receipts for (an answer was lost on the way): send
      its head record alone again — the hub acknowledges it as a duplicate with a fresh
      receipt covering everything up to it — and go on after it. Nothing the hub already
      has is sent twice beyond that one record.
    * The hub has less than our receipts say (restored from a backup): start after its
      head; what it lost is sent again.
    """
    if hub_head > acked:
        return hub_head - 1
    return hub_head


def _push(
    db: Database, client: Client, link: HubLink, result: SyncResult, hub_head: int, budget: int
) -> None:
    with db.read() as session:
        acked = backlog.acked_seq(session)
    after = resume_after(hub_head, acked)
    resealed = False
    for _ in range(MAX_ROUNDS):
        with db.read() as session:
            batch = _next_batch(session, after, budget)
            hub_key = hublink.hub_encryption_key(session)
            sealed = personal_data.sealed_for(session, batch, to=hub_key) if hub_key else {}
        if not batch:
            return
        body = encode_push(batch, sealed)
        known = witness.known_checkpoint(db)[0]
        try:
            resp = client.call(
                "POST",
                f"/sync/v1/push?{backlog.report_query(db)}",
                body,
                content_type=protocol.BATCH_CONTENT_TYPE,
            )
        except SyncRefused as exc:
            if exc.code != personal.KeyRetired.code or resealed:
                raise
            # sealed to a key the hub destroyed: keep the current key its refusal carries
            # (signed by the hub) and seal the same values again from the disclosure table
            resealed = True
            with db.write() as session:
                hublink.learn_encryption_key(
                    session, link.public, link.hub_id, exc.detail.get("encryption_key")
                )
            result.notes.append(
                f"personal data sealed again to the hub's current key (key "
                f"{exc.detail.get('kid', '?')} was retired)"
            )
            continue
        answer = resp.json()
        receipt = store_receipt(db, link, answer, now=client.clock(), identity=client.identity)
        _forget_replaced_keys(db, client.instance)
        witness.check_evidence(db, client, link, answer, known)
        result.receipts += 1
        result.pushed += int(answer.get("stored", 0))
        result.duplicates += int(answer.get("duplicates", 0))
        result.dead += len(answer.get("dead", []))
        error = answer.get("error")
        if error:
            if error.get("code") == "gap":
                after = int(error.get("detail", {}).get("expected_seq", 1)) - 1
                continue
            if error.get("code") in DAMAGE_CODES and _declared_lost(db, client, receipt["seq"]):
                after = receipt["seq"]
                continue  # a damaged record the hub never had: a signed break took its place
            raise refused(error, resp.status)
        if receipt["seq"] <= after:
            raise refused({"code": "no_progress", "message": "the hub stored nothing"}, 409)
        after = receipt["seq"]


DAMAGE_CODES = ("bad_signature", "bad_record")


def _declared_lost(db: Database, client: Client, head: int) -> bool:
    """The hub refused one of our records as damaged: if it is (its bytes changed on this
    disk since they were signed), declare the damaged records after the hub's ``head`` lost
    (:mod:`repair`); True when a break was signed and the push can go on."""
    if client.instance is None:
        return False
    report = repair.repair(db, client, instance=client.instance, after=head, head=head)
    return bool(report.lost)


def store_receipt(
    db: Database, link: HubLink, answer: dict[str, Any], *, now: datetime, identity: NodeIdentity
) -> dict[str, Any]:
    """Verify the hub's receipt against our own chain; store it, the dead letters, the ack."""
    raw = protocol.unb64(answer.get("receipt"), "receipt")
    body = protocol.open_statement(protocol.RECEIPT_PREFIX, raw, link.public)
    if body.get("node") != identity.node_id or body.get("hub") != link.hub_id:
        raise refused({"code": "bad_receipt", "message": "receipt names another node or hub"}, 409)
    seq = int(body["seq"])
    if seq:
        with db.read() as session:
            ours = session.get(Event, seq)
            matches = ours is not None and ours.record_id == body.get("id")
        if not matches:
            with db.write() as session:  # the alarm outlives the refusal
                inbound.alarm(
                    session,
                    "bad_receipt",
                    f"The hub's receipt for seq {seq} names a record this node never wrote.",
                    f"Biên nhận của cấp trên cho số {seq} không khớp với bản ghi của nút.",
                    now,
                )
            raise refused(
                {"code": "bad_receipt", "message": "receipt does not match our chain"}, 409
            )
    with db.write() as session:
        cp = body.get("checkpoint") or {}
        session.add(
            Receipt(
                seq=seq,
                record_id=body.get("id"),
                checkpoint_size=cp.get("size"),
                hub_time=str(body.get("time")),
                raw=raw,
                received_at=now,
                **_evidence(session, answer),
            )
        )
        if seq > backlog.acked_seq(session):
            set_setting(session, "acked_seq", str(seq))
        for dead in answer.get("dead", []):
            known = session.get(Event, dead["seq"]) is not None
            if known and session.get(DeadLetter, dead["seq"]) is None:
                session.add(
                    DeadLetter(
                        seq=dead["seq"],
                        code=str(dead.get("code", ""))[:64],
                        message=str(dead.get("message", ""))[:1000],
                        message_vi=str(dead.get("message_vi", ""))[:1000],
                        reported_at=now,
                    )
                )
    return body


def _evidence(session: Session, answer: dict[str, Any]) -> dict[str, Any]:
    """The push answer's proof of where the stored records sit in the log, kept with the
    receipt so they can be given back in place to a hub restored from a backup."""
    proof, cp = answer.get("proof"), answer.get("checkpoint")
    if not proof or not cp or int(answer.get("stored", 0)) <= 0:
        return {}
    return {
        "first_seq": witness.stored_seqs(session, answer)[0],
        "first_leaf": int(proof["first_leaf"]),
        "frontier": json.dumps(list(proof["frontier"])),
        "checkpoint": protocol.unb64(cp["signed"], "checkpoint"),
    }


def _pull(
    db: Database, client: Client, link: HubLink, identity: NodeIdentity, result: SyncResult
) -> None:
    for _ in range(MAX_ROUNDS):
        with db.read() as session:
            cursor = int(get_setting(session, "feed_cursor", "0") or 0)
        once = personal.generate_encryption_key()  # the hub seals its records' free text
        seal_to = personal.encryption_public_bytes(once).hex()
        resp = client.call(
            "GET", f"/sync/v1/pull?after={cursor}&seal_to={seal_to}&{backlog.report_query(db)}"
        )
        raws, sealed = protocol.decode_batch_sealed(resp.body)
        ids_header = resp.headers.get("X-Feed-Ids", "")
        ids = [int(x) for x in ids_header.split(",") if x]
        if not raws:
            return
        if len(ids) != len(raws):
            raise refused(
                {"code": "bad_feed", "message": "feed ids and records differ in number"}, 409
            )
        checked = []
        for feed_id, raw in zip(ids, raws, strict=True):
            rec = record.parse(raw)
            if rec.node != link.hub_id:
                raise refused(
                    {"code": "bad_feed", "message": "feed record not written by the hub"}, 409
                )
            rec.verify(link.public)
            checked.append((feed_id, rec))
        now = client.clock()
        opened = {
            rec.id: personal.unseal(sealed[rec.id], key=once, record_id=rec.id)
            for _, rec in checked
            if rec.id in sealed
        }
        with db.write() as session:
            applied: list[tuple[int, record.Record]] = []
            for feed_id, rec in checked:
                if feed_id <= cursor:
                    continue
                if rec.id in opened and personal.COMMITMENTS in rec.data:
                    personal.reveal(rec.data, opened[rec.id])  # each matches its commitment
                    personal_data.keep(
                        session, record_id=rec.id, dossier=rec.dossier, disclosures=opened[rec.id]
                    )
                inbound.apply_hub_record(
                    session, rec, feed_id=feed_id, identity=identity, now=now, later_alarm=True
                )
                applied.append((feed_id, rec))
                result.pulled += 1
            session.flush()
            # in the hub's log order, as the hub folds them (a crossing action of each side)
            replay.refold(session, {r.dossier for _, r in applied if r.dossier is not None})
            for feed_id, rec in applied:
                row = session.get(Inbound, feed_id)
                if row is not None and row.problem is not None:
                    inbound.refused_alarm(session, rec, row.problem, row.problem, now)
            set_setting(session, "feed_cursor", str(max(ids)))
