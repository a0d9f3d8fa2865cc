"""Enrolling this node with a hub: prove we hold the node key, learn the hub's key."""

from __future__ import annotations

import ipaddress
import json
from typing import Any
from urllib.parse import urlsplit

from common import keys, protocol
from common.errors import DossierError
from common_io.database import Database
from commune_node.services import hublink
from commune_node.services.identity import NodeIdentity, get_setting, set_setting
from commune_node.transport import Transport


class EnrolFailed(DossierError):
    code = "enrol_failed"
    status = 409
    vi = "Đăng ký với máy chủ cấp trên không thành công."
    en = "Enrolment with the hub failed."


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_hub_url(url: str, *, allow_http: bool) -> str | None:
    """Refuse a hub address that is not ``https://`` — the enrolment (and every sync after it)
    would travel in clear, and whoever answers it gives the node the hub key it will trust.
    ``http://`` passes only on a loopback address or with ``allow_http`` (test set-ups),
    and then with the warning returned."""
    parts = urlsplit(url.strip())
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme != "http" or not parts.hostname:
        raise EnrolFailed(
            f"the hub address must be https://host (got {url!r})",
            vi=f"Địa chỉ máy chủ cấp trên phải có dạng https://… (nhận được {url!r})",
        )
    if not (allow_http or _loopback(parts.hostname)):
        raise EnrolFailed(
            "the hub address is plain http://: anyone on the way could read the enrolment and "
            "answer it with a forged hub key. Use the hub's https:// address "
            "(--allow-http only for a test set-up).",
            vi="Địa chỉ máy chủ cấp trên là http:// không mã hoá: người ở giữa đường truyền có "
            "thể giả mạo máy chủ. Hãy dùng địa chỉ https:// "
            "(--allow-http chỉ dùng khi thử nghiệm).",
        )
    return (
        "Warning: the hub address is plain http://, not encrypted: only for a test set-up; "
        "a node in the field must enrol with the hub's https:// address."
    )


def enrol(
    db: Database, *, identity: NodeIdentity, transport: Transport, hub_url: str, code: str
) -> dict[str, Any]:
    with db.read() as session:
        if get_setting(session, "hub_id"):
            raise EnrolFailed("this node is already enrolled", vi="Nút đã được đăng ký")
    public_hex = keys.public_bytes(identity.key).hex()
    message = protocol.enrol_message(code, identity.node_id, public_hex)
    body = json.dumps(
        {
            "code": code,
            "node_id": identity.node_id,
            "public_key": public_hex,
            "agency_code": identity.agency_code,
            "proof": protocol.b64(keys.sign(identity.key, message)),
        }
    ).encode()
    resp = transport.request(
        "POST", "/sync/v1/enrol", body=body, headers={"Content-Type": "application/json"}
    )
    answer = resp.json()
    if resp.status != 201:
        err = answer.get("error", {}) if isinstance(answer, dict) else {}
        raise EnrolFailed(
            str(err.get("message", f"hub answered {resp.status}")),
            vi=str(err.get("message_vi") or "") or None,
            code=err.get("code"),
        )
    if answer["agency_code"] != identity.agency_code:
        raise EnrolFailed(
            f"the code was issued for agency {answer['agency_code']}, this node is {identity.agency_code}",  # noqa: E501
            vi=f"Mã đăng ký cấp cho cơ quan {answer['agency_code']}, nút này là {identity.agency_code}",  # noqa: E501
        )
    hub_public = keys.public_from_hex(answer["hub_public_key"])
    if keys.key_id(hub_public) != answer["hub_id"]:
        raise EnrolFailed("the hub's id does not match its key")
    with db.write() as session:
        for k in ("hub_id", "hub_public_key", "origin", "level", "hub_name"):
            set_setting(session, k, str(answer[k]))
        set_setting(session, "hub_url", hub_url)
        keep_statement(session, hub_public, answer, origin=str(answer["origin"]))
        hublink.learn_encryption_key(
            session, hub_public, str(answer["hub_id"]), answer.get("encryption_key")
        )
        if answer["node_id"] != identity.node_id:
            _continue_commune(session, identity, answer)
    return dict(answer)


def _continue_commune(session: Any, identity: NodeIdentity, answer: dict[str, Any]) -> None:
    """This laptop replaces a lost one (``central-hub node replace``): it becomes the
    commune's node, signing with its own key from ``key_first_seq``. Until its first sync
    has taken the commune's chain back, it is marked like a restored node: new dossiers are
    numbered from 5001 up, so none can take a code the lost laptop gave."""
    first = int(answer["key_first_seq"])
    node_id = str(answer["node_id"])
    if len(node_id) != 32 or first < 1:
        raise EnrolFailed("the hub's answer names no node to continue")
    set_setting(session, "node_id", node_id)
    set_setting(session, "key_id", identity.key_id)
    set_setting(
        session,
        "replacement",
        json.dumps({"first_seq": first, "key": identity.key_id, "laptop": identity.node_id}),
    )
    set_setting(session, "restored", json.dumps({"replacement": True, "head_seq": first - 1}))


def keep_statement(
    session: Any, hub_public: keys.PublicKey, answer: dict[str, Any], *, origin: str
) -> bool:
    """Keep the hub's signed enrolment of this node when the hub gave one and it verifies:
    it is what lets this node re-introduce itself to a hub whose database was put back from
    a backup older than the enrolment (docs/sync-protocol.md, "Enrolment")."""
    raw = answer.get("enrolment")
    if not isinstance(raw, str):
        return False
    try:
        protocol.enrolment_of(protocol.unb64(raw, "enrolment"), hub_public, origin=origin)
    except DossierError:
        return False
    set_setting(session, "enrolment", raw)
    return True
