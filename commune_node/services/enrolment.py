"""Enrolling this node with a hub: prove we hold the node key, learn the hub's key."""

from __future__ import annotations

import json
from typing import Any

from common import keys, protocol
from common.errors import DossierError
from common_io.database import Database
from commune_node.services.identity import NodeIdentity, get_setting, set_setting
from commune_node.transport import Transport


class EnrolFailed(DossierError):
    code = "enrol_failed"
    status = 409
    vi = "Đăng ký với máy chủ cấp trên không thành công."
    en = "Enrolment with the hub failed."


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
    return dict(answer)


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
