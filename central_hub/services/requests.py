"""Authenticating a signed sync request: node, key, signature, time window, nonce."""

from __future__ import annotations

import base64
import weakref
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central_hub.models import Node, Nonce
from central_hub.services import nodes
from central_hub.services.identity import Clock
from common import keys, protocol
from common.errors import DossierError
from common_io.database import Database

PURGE_EVERY = timedelta(seconds=60)
_last_purge: weakref.WeakKeyDictionary[Engine, datetime] = weakref.WeakKeyDictionary()


def _refuse(code: str, en: str, vi: str, status: int = 401, **detail: object) -> protocol.AuthError:
    err = protocol.AuthError(en, vi=vi, **detail)
    err.code = code
    err.status = status
    return err


def authenticate(
    db: Database,
    headers: object,
    *,
    method: str,
    path: str,
    body: bytes,
    clock: Clock,
    then: Callable[[Session, Node], None] | None = None,
) -> Node:
    """Return the node that signed this request, or raise an AuthError with its own code.

    Codes: ``missing_auth``, ``unknown_node``, ``unknown_key``, ``node_replaced`` (a key of
    a laptop ``central-hub node replace`` retired), ``key_revoked``,
    ``key_succeeded`` (a key whose rotation record the hub holds signs nothing any more),
    ``bad_request_signature``, ``stale_timestamp``, ``replayed``.

    The nonce is stored in one write transaction; ``then`` (e.g. recording the node's queue
    report) runs in the same transaction under a savepoint, so one commit serves both, and
    if ``then`` raises, its changes are undone but the nonce stays used.
    """
    req = protocol.parse_request_headers(headers)
    now = clock()
    with db.read() as session:
        node = session.get(Node, req.node)
        if node is None:
            raise _refuse(
                "unknown_node",
                "this node is not enrolled at the hub",
                "Nút chưa được đăng ký với cấp trên",
            )
        key = nodes.key_for(session, req.node, req.key)
        proven = None
        if key is None:
            proven = proven_key(session, req.node, req.key, _header(headers, KEY_CHAIN))
        if key is None and proven is None:
            raise _refuse(
                "unknown_key",
                "the request is signed by a key the hub does not know",
                "Yêu cầu được ký bằng khoá không xác định",
            )
        if (
            key is not None
            and key.revoked_at is not None
            and key.reason.startswith("laptop replaced")
        ):
            by = f" by the laptop with key {key.replaced_by}" if key.replaced_by else ""
            raise _refuse(
                "node_replaced",
                f"this laptop was retired on {key.revoked_at:%Y-%m-%d} and replaced{by} "
                f"({key.reason}); it syncs no more. Its records after "
                f"{key.last_valid_seq} are not accepted: give it to the IT officer",
                f"Máy này đã bị thay thế ngày {key.revoked_at:%d/%m/%Y}"
                f"{' bằng máy có khoá ' + key.replaced_by if key.replaced_by else ''}; "
                "máy không còn được đồng bộ. Hãy giao máy cho cán bộ CNTT.",
                status=403,
                replaced_by=key.replaced_by,
            )
        if key is not None and key.revoked_at is not None:  # revoked by an administrator
            raise _refuse(
                "key_revoked",
                "this node's key has been revoked; enrol it again",
                "Khoá của nút đã bị thu hồi; cần đăng ký lại",
                status=403,
            )
        if key is not None and key.last_valid_seq is not None:  # its rotation record is held
            successor = nodes.successor_of(session, key)
            raise _refuse(
                "key_succeeded",
                f"key {key.key_id} was replaced by key {successor} at seq "
                f"{key.last_valid_seq}; it signs nothing any more",
                f"Khoá {key.key_id} đã được thay bằng khoá {successor}; khoá cũ không còn "
                "được ký gì nữa",
                status=403,
                successor=successor,
            )
        public = keys.public_from_hex(key.public_key) if key is not None else proven
    assert public is not None
    protocol.verify_request(
        req, public, method=method, path=path, body=body, now=int(now.timestamp())
    )
    failure: Exception | None = None
    try:
        with db.write() as session:
            _purge_nonces(session, db, now)
            session.add(Nonce(node_id=req.node, nonce=req.nonce, seen_at=now))
            session.flush()
            if then is not None:
                try:
                    with session.begin_nested():
                        then(session, node)
                except Exception as exc:  # raised once the nonce is committed
                    failure = exc
    except IntegrityError as exc:
        raise _refuse(
            "replayed",
            "this request was already received (replayed nonce)",
            "Yêu cầu này đã được nhận trước đó (trùng nonce)",
        ) from exc
    if failure is not None:
        raise failure
    return node


KEY_CHAIN = "X-Key-Chain"
MAX_CHAIN = 16  # rotation records a request may carry


def _header(headers: object, name: str) -> str:
    get = getattr(headers, "get", None)
    value = get(name) if callable(get) else None
    return value if isinstance(value, str) else ""


def proven_key(session: Session, node_id: str, key_id: str, chain: str) -> keys.PublicKey | None:
    """The public key ``key_id`` of ``node_id``, if the request's ``X-Key-Chain`` proves it:
    the node's own ``key.rotated`` records (base64, comma-separated, oldest first), each
    signed by a key the hub holds or the chain already proved, valid at that record's seq
    and never revoked by an administrator, and each proving possession of the new key. A
    hub restored from a backup older than a rotation it had acknowledged learns the new key
    this way, before the rotation record itself comes back; nothing is stored: the record
    registers the key when it is pushed or given back, as always. None if it proves nothing."""
    from central_hub.models import NodeKey
    from central_hub.services.ingest import rotation_problem
    from common import record

    parts = [p for p in chain.split(",") if p][:MAX_CHAIN]
    if not parts:
        return None
    ring: dict[str, tuple[keys.PublicKey, int, int | None]] = {}
    for row in session.scalars(select(NodeKey).where(NodeKey.node_id == node_id)):
        if row.revoked_at is None:
            ring[row.key_id] = (keys.public_from_hex(row.public_key), row.first_seq,
                                row.last_valid_seq)  # fmt: skip
    for part in parts:
        try:
            rec = record.parse(base64.b64decode(part, validate=True))
        except (ValueError, DossierError):
            return None
        if rec.node != node_id or rec.type != "key.rotated" or rec.key not in ring:
            continue
        public, first, last = ring[rec.key]
        if rec.seq < first or (last is not None and rec.seq > last):
            continue
        try:
            rec.verify(public)
        except DossierError:
            return None
        if rotation_problem(rec) is not None:
            return None
        new = keys.public_from_hex(rec.data["new_key"])
        ring[rec.key] = (public, first, rec.seq)
        ring[keys.key_id(bytes.fromhex(rec.data["new_key"]))] = (new, rec.seq + 1, None)
    found = ring.get(key_id)
    return found[0] if found is not None else None


def _purge_nonces(session: Session, db: Database, now: datetime) -> None:
    """Forget nonces older than twice the timestamp window — at most once a minute of hub
    time per process and database (an old request is refused by its timestamp anyway)."""
    last = _last_purge.get(db.engine)
    if last is not None and timedelta(0) <= now - last < PURGE_EVERY:
        return
    _last_purge[db.engine] = now
    session.execute(
        delete(Nonce).where(Nonce.seen_at < now - timedelta(seconds=2 * protocol.TIMESTAMP_WINDOW))
    )


def touch(
    session: Session,
    node_id: str,
    *,
    waiting: int | None,
    oldest: object,
    clock: Clock,
    sealing: str | None = None,
) -> None:
    """Record the node's own report of its queue at each contact, and the hub encryption key
    it seals personal data to (``central-hub encryption-key list`` counts on it)."""
    node = session.get(Node, node_id)
    if node is None:
        return
    node.last_contact = clock()
    if sealing is not None:
        node.sealing_kid = sealing
        node.sealing_seen_at = node.last_contact
    if waiting is not None:  # a report: how many wait, and since when (None when none wait)
        node.reported_waiting = waiting
        node.reported_oldest = oldest  # type: ignore[assignment]
