"""The node's signed link to its hub: who the hub is (:class:`HubLink`, from enrolment),
the request client that signs every call with the node key and corrects a wrong clock
(:class:`Client`), and the hub's refusals as errors (:class:`SyncRefused`). The sync steps
(:mod:`sync`, :mod:`witness`, :mod:`refill`, :mod:`notify_sync`) all talk through it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from common import keys, personal, protocol
from common.errors import DossierError
from common_io.database import Database
from commune_node.services import deskclock
from commune_node.services.deskclock import raw_clock
from commune_node.services.identity import (
    Clock,
    NodeIdentity,
    current_key_id,
    get_setting,
    load_key,
    set_setting,
)
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
    """Signs requests with the node key and corrects for a wrong node clock.

    With ``instance`` (the node's folder), the signing key is chosen per request by
    :func:`keyring.request_key` — the newest key the hub is known to hold — and the key that
    cosigns is the node's current one, read per use: a rotation made by another process
    (``commune-node rotate-key`` while ``commune-node run`` serves) takes effect at once.
    Without it (tests that build a client by hand), ``request_key`` or the identity's key
    signs everything."""

    db: Database
    identity: NodeIdentity
    transport: Transport
    clock: Clock
    request_key: keys.PrivateKey | None = None
    instance: Path | None = None
    prove_key: bool = False  # send the node's rotation records with every request

    def _key_chain(self) -> str:
        if self.instance is None:
            return ""
        from commune_node.services import keyring

        with self.db.read() as session:
            return keyring.chain_header(session)

    def signer(self) -> keys.PrivateKey:
        if self.instance is None:
            return self.request_key or self.identity.key
        from commune_node.services import keyring

        with self.db.read() as session:
            return keyring.request_key(session, self.instance, self.current())

    def current(self) -> NodeIdentity:
        """The node's identity with its current key (the one that signs records and
        cosignatures)."""
        if self.instance is None:
            return self.identity
        with self.db.read() as session:
            current = current_key_id(session)
        if current is None or current == self.identity.key_id:
            return self.identity
        self.identity = replace(self.identity, key=load_key(self.instance, current))
        return self.identity

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
        stale_retried = False
        for _ in range(MAX_ATTEMPTS):
            with self.db.read() as session:
                offset = int(get_setting(session, "clock_offset", "0") or 0)
                cosignature = get_setting(session, "pending_cosignature")
            ts = int(raw_clock(self.clock)().timestamp()) + offset
            sent = protocol.sign_request(
                self.signer(),
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
            if cosignature:
                sent["X-Cosignature"] = cosignature
            if self.prove_key:
                sent["X-Key-Chain"] = self._key_chain()
            resp = self.transport.request(method, path, body=body, headers=sent)
            if cosignature and resp.status < 400:
                self._drop_cosignature(cosignature)
            if resp.status < 400 or resp.headers.get("Content-Type", "").startswith(
                protocol.BATCH_CONTENT_TYPE
            ):
                return resp
            error = error_of(resp)
            code = error.get("code")
            if code == "stale_timestamp" and not stale_retried:
                stale_retried = True
                hub_time = int(error.get("detail", {}).get("hub_time", ts))
                self.learn_offset(hub_time)
                continue
            if code == "unknown_key" and not self.prove_key and self._key_chain():
                # a hub restored from a backup older than a rotation it acknowledged: show
                # it the chain of rotation records from a key it holds to ours
                self.prove_key = True
                continue
            if code == "key_succeeded" and self._hub_holds(error):
                continue  # the hub holds our rotation (its answer was lost): sign with the new key
            if code == "bad_cosignature" and cosignature:
                self._cosignature_refused(cosignature, error)
                continue  # the request itself was fine: send it again without
            if (
                resp.headers.get("Content-Type", "").startswith("application/json")
                and "receipt" in resp.json()
            ):
                return resp  # a push answer that carries a receipt and an error: read both
            if code in KEY_ALARMS:
                self._key_alarm(code, error)
            raise refused(error, resp.status)
        raise refused({"code": "hub_refused", "message": "too many attempts"}, 409)

    def learn_offset(self, hub_time: int) -> None:
        """Keep how far this computer's clock is from the hub's (seconds); the desk's
        clock corrects by it beyond a couple of minutes (:mod:`deskclock`)."""
        offset = hub_time - int(raw_clock(self.clock)().timestamp())
        if abs(offset) <= deskclock.TOLERANCE // 2:
            offset = 0  # within the link's own delay: the clock is right
        with self.db.write() as session:
            if get_setting(session, "clock_offset", "0") != str(offset):
                set_setting(session, "clock_offset", str(offset))
        deskclock.learned(self.clock)

    def _drop_cosignature(self, cosignature: str) -> None:
        with self.db.write() as session:
            if get_setting(session, "pending_cosignature") == cosignature:
                set_setting(session, "pending_cosignature", "")

    def _hub_holds(self, error: dict[str, Any]) -> bool:
        successor = error.get("detail", {}).get("successor")
        if self.instance is None or not isinstance(successor, str):
            return False
        from commune_node.services import keyring

        with self.db.write() as session:
            return keyring.hub_holds(session, successor)

    def _cosignature_refused(self, cosignature: str, error: dict[str, Any]) -> None:
        """The hub refused our cosignature: an alarm for the officers (in its own
        transaction), and the cosignature is dropped so the sync goes on; the next
        checkpoint we verify is cosigned afresh."""
        self._drop_cosignature(cosignature)
        from commune_node.services import inbound

        with self.db.write() as session:
            inbound.alarm(
                session,
                "bad_cosignature",
                f"The hub refused this node's signature on its log checkpoint: "
                f"{error.get('message', '')}. The sync goes on; tell the hub administrator "
                "if it happens again.",
                "Cấp trên từ chối chữ ký xác nhận điểm kiểm tra của nút. Đồng bộ vẫn tiếp "
                "tục; hãy báo quản trị viên cấp trên nếu lặp lại.",
                self.clock(),
            )

    def _key_alarm(self, code: str, error: dict[str, Any]) -> None:
        from commune_node.services import inbound

        en, vi = KEY_ALARMS[code]
        with self.db.write() as session:
            inbound.alarm(session, code, f"{en} ({error.get('message', '')})", vi, self.clock())


MAX_ATTEMPTS = 6  # a wrong clock once, a lost rotation answer per rotation, a bad cosignature
KEY_ALARMS = {
    "key_revoked": (
        "The hub refused this node's key: it has been revoked. Ask the hub administrator "
        "for a new enrolment.",
        "Cấp trên từ chối khoá của nút vì khoá đã bị thu hồi. Hãy xin quản trị viên cấp "
        "trên đăng ký lại.",
    ),
    "node_replaced": (
        "The hub refused this laptop: it was retired and a new laptop replaced it for this "
        "commune. It syncs no more; nothing it holds that the hub lacks is accepted. Give it to "
        "the IT officer.",
        "Cấp trên từ chối máy này: máy đã bị thay bằng máy mới cho xã. Máy không còn đồng bộ; "
        "hãy giao máy cho cán bộ CNTT.",
    ),
    "key_succeeded": (
        "The hub refused this node's key: a rotation replaced it, and this node has no "
        "newer key the hub knows. Tell the hub administrator.",
        "Cấp trên từ chối khoá của nút vì khoá đã được thay. Hãy báo quản trị viên cấp trên.",
    ),
    "unknown_key": (
        "The hub does not know the key this node signs with. Tell the hub administrator.",
        "Cấp trên không biết khoá nút đang dùng. Hãy báo quản trị viên cấp trên.",
    ),
}


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


def learn_encryption_key(
    session: Session, link_public: keys.PublicKey, hub_id: str, signed: Any
) -> None:
    """Keep the hub's encryption key from its signed statement (enrolment and every status
    answer carry it; a rotation at the hub reaches the node at its next sync)."""
    if not isinstance(signed, str) or not signed:
        return
    key = protocol.encryption_key_of(
        protocol.unb64(signed, "encryption_key"), link_public, hub_id=hub_id
    )
    if get_setting(session, "hub_encryption_key") != key:
        set_setting(session, "hub_encryption_key", key)


def hub_encryption_key(session: Session) -> personal.EncryptionPublicKey | None:
    """The key this node seals personal data to, or None before the hub published one."""
    text = get_setting(session, "hub_encryption_key")
    return personal.encryption_public_from_hex(text) if text else None
