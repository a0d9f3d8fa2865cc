"""The node's signed link to its hub: who the hub is (:class:`HubLink`, from enrolment),
the request client that signs every call with the node key and corrects a wrong clock
(:class:`Client`), and the hub's refusals as errors (:class:`SyncRefused`). The sync steps
(:mod:`sync`, :mod:`witness`, :mod:`refill`, :mod:`notify_sync`) all talk through it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from common import keys, protocol
from common.errors import DossierError
from common_io.database import Database
from commune_node.services.identity import Clock, NodeIdentity, get_setting, set_setting
from commune_node.transport import Transport


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


def hub_link(session: Session) -> HubLink:
    url = get_setting(session, "hub_url")
    hub_id = get_setting(session, "hub_id")
    public = get_setting(session, "hub_public_key")
    if not (url and hub_id and public):
        raise NotEnrolled()
    return HubLink(url, hub_id, keys.public_from_hex(public), get_setting(session, "origin") or "")


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
        headers: dict[str, str] | None = None,
    ) -> Any:
        for attempt in range(2):
            with self.db.read() as session:
                offset = int(get_setting(session, "clock_offset", "0") or 0)
            ts = int(self.clock().timestamp()) + offset
            sent = protocol.sign_request(
                self.request_key or self.identity.key,
                method=method,
                path=path,
                body=body,
                timestamp=ts,
                nonce=secrets.token_hex(16),
                node=self.identity.node_id,
            )
            sent.update(headers or {})
            if content_type:
                sent["Content-Type"] = content_type
            if content_encoding:
                sent["Content-Encoding"] = content_encoding
            with self.db.read() as session:
                cosignature = get_setting(session, "pending_cosignature")
            if cosignature:
                sent["X-Cosignature"] = cosignature
            resp = self.transport.request(method, path, body=body, headers=sent)
            if cosignature and resp.status < 400:
                with self.db.write() as session:
                    if get_setting(session, "pending_cosignature") == cosignature:
                        set_setting(session, "pending_cosignature", "")
            if resp.status < 400 or resp.headers.get("Content-Type", "").startswith(
                protocol.BATCH_CONTENT_TYPE
            ):
                return resp
            error = error_of(resp)
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
            raise refused(error, resp.status)
        raise AssertionError("unreachable")


def error_of(resp: Any) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {"code": "bad_answer", "message": f"hub answered {resp.status} without JSON"}
    err = body.get("error") if isinstance(body, dict) else None
    return err if isinstance(err, dict) else {"code": "bad_answer", "message": str(body)[:200]}


def refused(error: dict[str, Any], status: int) -> SyncRefused:
    exc = SyncRefused(
        str(error.get("message", "refused")),
        vi=str(error.get("message_vi", "")) or None,
        **error.get("detail", {}),
    )
    exc.code = str(error.get("code", "hub_refused"))
    exc.status = status
    exc.retryable = bool(error.get("retryable", False))
    return exc
