"""Small helpers for sync tests: take a dossier in through the node's API, read the hub."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from central_hub.models import LogRecord
from tests.hub.fixtures import Hub
from tests.node.conftest import Node

MARITAL = "1.004873.000.00.00.H38"  # commune level, 3 working days
CRIMINAL_RECORD = "3.000333.000.00.00.H38"  # provincial: forwarded


def take_in(node: Node, procedure: str = MARITAL, name: str = "Nguyễn Văn Đức") -> str:
    client = node.app.test_client()
    form: dict[str, Any] = {
        "procedure": procedure,
        "applicant_name": name,
        "id_number": "062095001234",
        "phone": "0912345678",
        "address": "thôn 3, xã Đăk Pxi",
        "documents": {"to_khai": {"original": 1}},
    }
    r = node.api(client, "POST", "/dossiers", json=form)
    assert r.status_code == 201, r.json
    return str(r.json["dossier"]["code"])


def act(node: Node, code: str, action: str, who: str = "receiver", **form: Any) -> dict[str, Any]:
    r = node.api(
        node.app.test_client(), "POST", f"/dossiers/{code}/actions/{action}", who=who, json=form
    )
    assert r.status_code == 200, r.json
    return dict(r.json["dossier"])


def hub_records(hub: Hub, node_id: str) -> list[LogRecord]:
    with hub.db.read() as s:
        return list(
            s.scalars(select(LogRecord).where(LogRecord.node_id == node_id).order_by(LogRecord.seq))
        )


def hub_count(hub: Hub, node_id: str) -> int:
    with hub.db.read() as s:
        return (
            s.scalar(
                select(func.count()).select_from(LogRecord).where(LogRecord.node_id == node_id)
            )
            or 0
        )
