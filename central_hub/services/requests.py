"""Authenticating a signed sync request: node, key, signature, time window, nonce."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central_hub.models import Node, Nonce
from central_hub.services import nodes
from central_hub.services.identity import Clock
from common import keys, protocol
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
        if key is None:
            raise _refuse(
                "unknown_key",
                "the request is signed by a key the hub does not know",
                "Yêu cầu được ký bằng khoá không xác định",
            )
        if key.revoked_at is not None and key.reason.startswith("laptop replaced"):
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
        if key.revoked_at is not None:  # revoked by an administrator
            raise _refuse(
                "key_revoked",
                "this node's key has been revoked; enrol it again",
                "Khoá của nút đã bị thu hồi; cần đăng ký lại",
                status=403,
            )
        if key.last_valid_seq is not None:  # the hub holds the rotation record that ends it
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
        public = keys.public_from_hex(key.public_key)
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
    session: Session, node_id: str, *, waiting: int | None, oldest: object, clock: Clock
) -> None:
    """Record the node's own report of its queue at each contact."""
    node = session.get(Node, node_id)
    if node is None:
        return
    node.last_contact = clock()
    if waiting is not None:  # a report: how many wait, and since when (None when none wait)
        node.reported_waiting = waiting
        node.reported_oldest = oldest  # type: ignore[assignment]
