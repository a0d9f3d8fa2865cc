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
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common import keys, merkle, protocol, record
from common.errors import DossierError
from common_io.database import Database
from commune_node.models import Alarm, DeadLetter, Event, Receipt
from commune_node.services import inbound, notify_sync, refill
from commune_node.services.identity import Clock, NodeIdentity, get_setting, set_setting
from commune_node.transport import LinkError, Transport

DEFAULT_BATCH_BYTES = 64 * 1024
MAX_ROUNDS = 10_000


class SyncRefused(DossierError):
    """The hub answered and refused; ``code`` is the hub's error code."""

    code = "hub_refused"
    status = 409
    vi = "Máy chủ cấp trên từ chối yêu cầu đồng bộ."
    en = "The hub refused the sync request."


class NotEnrolled(DossierError):
    code = "not_enrolled"
    status = 409
    vi = "Nút chưa được đăng ký với máy chủ cấp trên (chạy: commune-node enrol)."
    en = "This node is not enrolled with a hub yet (run: commune-node enrol)."


@dataclass(frozen=True)
class HubLink:
    url: str
    hub_id: str
    public: keys.PublicKey
    origin: str


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


def hub_link(session: Session) -> HubLink:
    url = get_setting(session, "hub_url")
    hub_id = get_setting(session, "hub_id")
    public = get_setting(session, "hub_public_key")
    if not (url and hub_id and public):
        raise NotEnrolled()
    return HubLink(url, hub_id, keys.public_from_hex(public), get_setting(session, "origin") or "")


def acked_seq(session: Session) -> int:
    return int(get_setting(session, "acked_seq", "0") or 0)


def queue_report(session: Session) -> tuple[int, datetime | None]:
    """How many records wait for a receipt, and the node time of the oldest one."""
    acked = acked_seq(session)
    waiting = session.scalar(select(func.count()).select_from(Event).where(Event.seq > acked)) or 0
    oldest = session.scalar(select(Event.at).where(Event.seq > acked).order_by(Event.seq).limit(1))
    return waiting, oldest


@dataclass
class Client:
    """Signs requests with the node key and corrects for a wrong node clock."""

    db: Database
    identity: NodeIdentity
    transport: Transport
    clock: Clock
    request_key: keys.PrivateKey | None = None  # the previous key, until a rotation is acked

    def call(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        *,
        content_type: str = "",
        content_encoding: str = "",
    ) -> Any:
        for attempt in range(2):
            with self.db.read() as session:
                offset = int(get_setting(session, "clock_offset", "0") or 0)
            ts = int(self.clock().timestamp()) + offset
            headers = protocol.sign_request(
                self.request_key or self.identity.key,
                method=method,
                path=path,
                body=body,
                timestamp=ts,
                nonce=secrets.token_hex(16),
                node=self.identity.node_id,
            )
            if content_type:
                headers["Content-Type"] = content_type
            if content_encoding:
                headers["Content-Encoding"] = content_encoding
            with self.db.read() as session:
                cosignature = get_setting(session, "pending_cosignature")
            if cosignature:
                headers["X-Cosignature"] = cosignature
            resp = self.transport.request(method, path, body=body, headers=headers)
            if cosignature and resp.status < 400:
                with self.db.write() as session:
                    if get_setting(session, "pending_cosignature") == cosignature:
                        set_setting(session, "pending_cosignature", "")
            if resp.status < 400 or resp.headers.get("Content-Type", "").startswith(
                protocol.BATCH_CONTENT_TYPE
            ):
                return resp
            error = _error_of(resp)
            if error.get("code") == "stale_timestamp" and attempt == 0:
                hub_time = int(error.get("detail", {}).get("hub_time", ts))
                with self.db.write() as session:
                    set_setting(
                        session, "clock_offset", str(hub_time - int(self.clock().timestamp()))
                    )
                continue
            if (
                resp.headers.get("Content-Type", "").startswith("application/json")
                and "receipt" in resp.json()
            ):
                return resp  # a push answer that carries a receipt and an error: read both
            raise _refused(error, resp.status)
        raise AssertionError("unreachable")


def _error_of(resp: Any) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {"code": "bad_answer", "message": f"hub answered {resp.status} without JSON"}
    err = body.get("error") if isinstance(body, dict) else None
    return err if isinstance(err, dict) else {"code": "bad_answer", "message": str(body)[:200]}


def _refused(error: dict[str, Any], status: int) -> SyncRefused:
    exc = SyncRefused(
        str(error.get("message", "refused")),
        vi=str(error.get("message_vi", "")) or None,
        **error.get("detail", {}),
    )
    exc.code = str(error.get("code", "hub_refused"))
    exc.status = status
    exc.retryable = bool(error.get("retryable", False))
    return exc


def sync_once(
    db: Database,
    *,
    identity: NodeIdentity,
    transport: Transport,
    clock: Clock,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    request_key: keys.PrivateKey | None = None,
) -> SyncResult:
    """Run status → push → pull once; raises LinkError (retry later) or SyncRefused."""
    with db.read() as session:
        link = hub_link(session)
    client = Client(db, identity, transport, clock, request_key)
    result = SyncResult()
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
        result.acked_seq = acked_seq(session)
    return result


def _report_query(db: Database) -> str:
    """What every request tells the hub: the queue (records waiting, the oldest one's time)
    and the size of the newest checkpoint this node verified."""
    with db.read() as session:
        waiting, oldest = queue_report(session)
    params = {"waiting": waiting}
    if oldest is not None:
        params["oldest"] = int(oldest.timestamp())
    params["known"] = known_checkpoint(db)[0]
    return urlencode(params)


def _status(
    db: Database, client: Client, link: HubLink, result: SyncResult, *, _rebuilding: bool = False
) -> int:
    resp = client.call("GET", f"/sync/v1/status?{_report_query(db)}")
    body = resp.json()
    hub_head = int(body["head_seq"])
    if body.get("recovery") and not _rebuilding:
        # The hub was restored from a backup and rebuilds its log: give back what we hold
        # of what it lost, then look again at where it stands.
        _give_back(db, client, body["recovery"], head_seq=hub_head)
        return _status(db, client, link, result, _rebuilding=True)
    if body.get("recovery") and hub_head < acked_seq_of(db):
        # What we gave back waits for other communes' records before it: not synced yet.
        raise _refused(recovery_refusal(), 409)
    result.hub_head = hub_head
    with db.write() as session:
        acked = acked_seq(session)
        if hub_head < acked:
            inbound.alarm(
                session,
                "hub_rollback",
                f"The hub holds this node's records only up to {hub_head}, but its own signed "
                f"receipt says it stored up to {acked}. The missing records are being sent again.",
                f"Cấp trên chỉ còn bản ghi đến số {hub_head}, trong khi biên nhận đã ký "
                f"xác nhận đến số {acked}. Nút đang gửi lại các bản ghi bị thiếu.",
                client.clock(),
            )
        if hub_head:
            ours = session.get(Event, hub_head)
            if ours is None or ours.record_id != body.get("head_id"):
                inbound.alarm(
                    session,
                    "hub_mismatch",
                    f"The hub's record {hub_head} for this node is not ours.",
                    f"Bản ghi số {hub_head} tại cấp trên không khớp với bản ghi của nút.",
                    client.clock(),
                )
                raise _refused(
                    {"code": "hub_mismatch", "message": "hub head differs from ours"}, 409
                )
    cp = body.get("checkpoint")
    _check_same_root(db, client, cp)
    if cp and int(cp["size"]) > known_checkpoint(db)[0]:
        known = known_checkpoint(db)[0]
        hashes: list[str] = []
        if known:
            proof = client.call("GET", f"/sync/v1/proof/consistency?old={known}&new={cp['size']}")
            hashes = proof.json()["hashes"]
        witness(db, client, link, protocol.unb64(cp["signed"], "checkpoint"), known, hashes)
    return hub_head


def acked_seq_of(db: Database) -> int:
    with db.read() as session:
        return acked_seq(session)


def recovery_refusal() -> dict[str, Any]:
    return {
        "code": "log_recovering",
        "message": "the hub is rebuilding its log after a restore; this node's records wait "
        "for other communes' records before them",
        "message_vi": "Cấp trên đang dựng lại nhật ký sau khi khôi phục; hồ sơ của xã chờ dữ "
        "liệu của các xã khác.",
        "retryable": True,
    }


def _give_back(db: Database, client: Client, info: dict[str, Any], *, head_seq: int) -> None:
    """The hub was restored from a backup and is rebuilding its log: say so once, and give
    back what we hold of what it lost (services/refill.py)."""
    with db.write() as session:
        if not _open_alarm(session, "hub_restored"):
            inbound.alarm(
                session,
                "hub_restored",
                f"The hub's log holds {info.get('size')} records, fewer than this node had "
                "verified: it was restored from a backup. This node is giving back what it "
                "holds; records wait here until the hub's log is whole again. Nothing to do.",
                f"Nhật ký của cấp trên chỉ còn {info.get('size')} bản ghi, ít hơn số máy này đã "
                "xác nhận: cấp trên đã khôi phục bản sao lưu. Máy đang gửi lại dữ liệu; hồ sơ "
                "được giữ trên máy cho tới khi nhật ký của cấp trên đầy đủ. Không cần làm gì.",
                client.clock(),
            )
    refill.give_back(db, client, info, head_seq=head_seq)


def _open_alarm(session: Session, kind: str) -> bool:
    return (
        session.scalar(
            select(Alarm.id).where(Alarm.kind == kind, Alarm.acknowledged.is_(False)).limit(1)
        )
        is not None
    )


def _check_same_root(db: Database, client: Client, cp: dict[str, Any] | None) -> None:
    """A checkpoint of the very size we verified must have the very root we verified."""
    size, root = known_checkpoint(db)
    if cp and size and int(cp["size"]) == size and str(cp.get("root")) != root:
        _proof_failed(db, client.clock(), f"the hub's checkpoint at {size} has another root")


def known_checkpoint(db: Database) -> tuple[int, str]:
    """The newest checkpoint this node has verified: (size, root hex); (0, "") for none."""
    with db.read() as session:
        return (
            int(get_setting(session, "anchor_size", "0") or 0),
            get_setting(session, "anchor_root", "") or "",
        )


def witness(
    db: Database,
    client: Client,
    link: HubLink,
    signed: bytes,
    known: int,
    consistency: list[str],
    *,
    batch: tuple[int, list[str], list[bytes]] | None = None,
) -> None:
    """Verify a new checkpoint — the hub's signature, consistency with the one we knew, and
    (after a push) that our records sit in it — then adopt it as the anchor for new records
    and cosign it. Any failure is an alarm for the officers and stops the sync."""
    now = client.clock()
    old_size, old_root = known_checkpoint(db)
    try:
        cp = protocol.checkpoint_of(signed, link.public, origin=link.origin)
        size, root = int(cp["size"]), bytes.fromhex(str(cp["root"]))
        if size < old_size:
            raise merkle.ProofError(
                f"the hub's checkpoint shrank from {old_size} to {size}", reason="rollback"
            )
        if batch is not None and old_size and batch[0] == old_size and not consistency:
            # Our records start where our old checkpoint ended: the hub's frontier there
            # must fold to that checkpoint's root; extended by our records it must reach the
            # new root (checked below), which proves the new tree extends the old one.
            protocol.verify_frontier(
                size=old_size,
                frontier=[bytes.fromhex(h) for h in batch[1]],
                root=bytes.fromhex(old_root),
            )
        elif old_size and known == old_size:
            merkle.verify_consistency(
                old_size,
                size,
                bytes.fromhex(old_root),
                root,
                [bytes.fromhex(h) for h in consistency],
            )
        if batch is not None:
            first_leaf, frontier, leaves = batch
            protocol.verify_batch_inclusion(
                first_leaf=first_leaf,
                frontier=[bytes.fromhex(h) for h in frontier],
                leaves=leaves,
                root=root,
                size=size,
            )
    except (DossierError, ValueError) as exc:
        en = exc.en if isinstance(exc, DossierError) else str(exc)
        _proof_failed(db, now, en, cause=exc)
    cosig = protocol.sign_statement(
        protocol.COSIGNATURE_PREFIX,
        protocol.cosignature_body(cp, node=client.identity.node_id, key=client.identity.key_id),
        client.identity.key,
    )
    with db.write() as session:
        set_setting(session, "anchor_size", str(size))
        set_setting(session, "anchor_root", root.hex())
        set_setting(session, "anchor_checkpoint", protocol.b64(signed))
        set_setting(session, "pending_cosignature", protocol.b64(cosig))


def _proof_failed(db: Database, now: datetime, en: str, *, cause: Exception | None = None) -> None:
    with db.write() as session:
        inbound.alarm(
            session,
            "proof_failed",
            f"The hub's log proof failed: {en}. Sync stopped; tell the hub "
            "administrator and the inspectorate.",
            "Bằng chứng nhật ký của cấp trên không hợp lệ; đồng bộ đã dừng. "
            "Hãy báo quản trị viên cấp trên và thanh tra.",
            now,
        )
    raise _refused({"code": "bad_proof", "message": en}, 409) from cause


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


def encode_push(batch: list[bytes]) -> bytes:
    """The body of one push: version 2 frames (each ``prev`` the hub can recompute left
    out), zlib with the protocol's preset dictionary (docs/sync-protocol.md)."""
    return protocol.encode_batch_v2(batch)


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
        acked = acked_seq(session)
    after = resume_after(hub_head, acked)
    for _ in range(MAX_ROUNDS):
        with db.read() as session:
            batch = _next_batch(session, after, budget)
        if not batch:
            return
        body = encode_push(batch)
        known = known_checkpoint(db)[0]
        resp = client.call(
            "POST",
            f"/sync/v1/push?{_report_query(db)}",
            body,
            content_type=protocol.BATCH_CONTENT_TYPE,
        )
        answer = resp.json()
        receipt = store_receipt(db, link, answer, now=client.clock(), identity=client.identity)
        _check_evidence(db, client, link, answer, known)
        result.receipts += 1
        result.pushed += int(answer.get("stored", 0))
        result.duplicates += int(answer.get("duplicates", 0))
        result.dead += len(answer.get("dead", []))
        error = answer.get("error")
        if error:
            if error.get("code") == "gap":
                after = int(error.get("detail", {}).get("expected_seq", 1)) - 1
                continue
            raise _refused(error, resp.status)
        if receipt["seq"] <= after:
            raise _refused({"code": "no_progress", "message": "the hub stored nothing"}, 409)
        after = receipt["seq"]


def _check_evidence(
    db: Database, client: Client, link: HubLink, answer: dict[str, Any], known: int
) -> None:
    """The records this push stored must be in the signed log where the hub says."""
    proof, cp = answer.get("proof"), answer.get("checkpoint")
    if not proof or not cp:
        return
    head, stored = int(answer["head"]["seq"]), int(answer.get("stored", 0))
    with db.read() as session:
        leaves = list(
            session.scalars(
                select(Event.record)
                .where(Event.seq > head - stored, Event.seq <= head)
                .order_by(Event.seq)
            )
        )
    witness(
        db,
        client,
        link,
        protocol.unb64(cp["signed"], "checkpoint"),
        int(proof.get("from_size", 0)) or known,
        list(proof.get("consistency", [])),
        batch=(int(proof["first_leaf"]), list(proof["frontier"]), leaves),
    )


def store_receipt(
    db: Database, link: HubLink, answer: dict[str, Any], *, now: datetime, identity: NodeIdentity
) -> dict[str, Any]:
    """Verify the hub's receipt against our own chain; store it, the dead letters, the ack."""
    raw = protocol.unb64(answer.get("receipt"), "receipt")
    body = protocol.open_statement(protocol.RECEIPT_PREFIX, raw, link.public)
    if body.get("node") != identity.node_id or body.get("hub") != link.hub_id:
        raise _refused({"code": "bad_receipt", "message": "receipt names another node or hub"}, 409)
    seq = int(body["seq"])
    with db.write() as session:
        if seq:
            ours = session.get(Event, seq)
            if ours is None or ours.record_id != body.get("id"):
                inbound.alarm(
                    session,
                    "bad_receipt",
                    f"The hub's receipt for seq {seq} names a record this node never wrote.",
                    f"Biên nhận của cấp trên cho số {seq} không khớp với bản ghi của nút.",
                    now,
                )
                raise _refused(
                    {"code": "bad_receipt", "message": "receipt does not match our chain"}, 409
                )
        cp = body.get("checkpoint") or {}
        session.add(
            Receipt(
                seq=seq,
                record_id=body.get("id"),
                checkpoint_size=cp.get("size"),
                hub_time=str(body.get("time")),
                raw=raw,
                received_at=now,
                **_evidence(answer, seq),
            )
        )
        if seq > acked_seq(session):
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


def _evidence(answer: dict[str, Any], seq: int) -> dict[str, Any]:
    """The push answer's proof of where the stored records sit in the log, kept with the
    receipt so they can be given back in place to a hub restored from a backup."""
    proof, cp, stored = answer.get("proof"), answer.get("checkpoint"), int(answer.get("stored", 0))
    if not proof or not cp or stored <= 0:
        return {}
    return {
        "first_seq": seq - stored + 1,
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
        resp = client.call("GET", f"/sync/v1/pull?after={cursor}&{_report_query(db)}")
        raws = protocol.decode_batch(resp.body)
        ids_header = resp.headers.get("X-Feed-Ids", "")
        ids = [int(x) for x in ids_header.split(",") if x]
        if not raws:
            return
        if len(ids) != len(raws):
            raise _refused(
                {"code": "bad_feed", "message": "feed ids and records differ in number"}, 409
            )
        checked = []
        for feed_id, raw in zip(ids, raws, strict=True):
            rec = record.parse(raw)
            if rec.node != link.hub_id:
                raise _refused(
                    {"code": "bad_feed", "message": "feed record not written by the hub"}, 409
                )
            rec.verify(link.public)
            checked.append((feed_id, rec))
        now = client.clock()
        with db.write() as session:
            for feed_id, rec in checked:
                if feed_id <= cursor:
                    continue
                inbound.apply_hub_record(session, rec, feed_id=feed_id, identity=identity, now=now)
                result.pulled += 1
            set_setting(session, "feed_cursor", str(max(ids)))
