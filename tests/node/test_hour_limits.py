"""A procedure limited in working hours at the desk: the appointment counts office session time
(no 15:00 rule), the intake record carries ``limit_hours``, a supplement pause moves the
appointment by the working hours it covered, and the page and form 01 state the limit in hours.

The procedure is the test fixture ``TEST.HOURS.4`` (tests/support.py), not a real one.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from common import record
from common.catalogue import Catalogue
from commune_node import db
from commune_node.models import Procedure
from commune_node.services import catalogue
from tests.node.conftest import Node
from tests.node.desk import login, text
from tests.support import VN, hour_limited_procedure_dict

HOURS = "TEST.HOURS.4"


@pytest.fixture
def hours_node(node: Node) -> Node:
    published = Catalogue.from_dict(
        {"version": 2, "published": "2026-11-01", "procedures": [hour_limited_procedure_dict()]}
    )
    with db.write_session(node.app) as session:
        catalogue.install(session, published)
    return node


def create(node: Node, client: FlaskClient) -> dict[str, Any]:
    body = {
        "procedure": HOURS,
        "applicant_name": "Nguyễn Thị Hồng",
        "id_number": "062195001234",
        "phone": "0912 345 678",
        "address": "thôn Kon Klor, xã Đăk Pxi",
        "documents": {"don": {"original": 1}},
    }
    r = node.api(client, "POST", "/dossiers", json=body)
    assert r.status_code == 201, r.json
    return dict(r.json["dossier"])


def act(node: Node, client: FlaskClient, code: str, action: str, **body: Any) -> Any:
    r = node.api(client, "POST", f"/dossiers/{code}/actions/{action}", json=body)
    assert r.status_code == 200, r.json
    return r.json["dossier"]


def test_the_node_holds_the_limit_in_hours(hours_node: Node) -> None:
    with db.read_session(hours_node.app) as session:
        row = session.get(Procedure, HOURS)
        assert row is not None and (row.limit_hours, row.limit_days) == (4, 0)


def test_intake_counts_working_hours_and_records_limit_hours(
    hours_node: Node, client: FlaskClient
) -> None:
    # Monday 23 Nov 09:00: 2½ h before lunch and 1½ h after: 14:30 the same day.
    d = create(hours_node, client)
    assert d["due_at"] == "2026-11-23T14:30:00+07:00"
    r = hours_node.api(client, "GET", f"/dossiers/{d['code']}")
    (ev,) = r.json["dossier"]["events"]
    data = record.parse(base64.b64decode(ev["record"])).data
    assert data["limit_hours"] == 4 and "limit_days" not in data
    # Monday 16:00 (after 15:00, no matter for hours): 1 h on Monday; Tuesday 24 Nov is a
    # public holiday; 3 h from Wednesday 07:30: 10:30.
    hours_node.clock.set(datetime(2026, 11, 23, 16, 0, tzinfo=VN))
    assert create(hours_node, client)["due_at"] == "2026-11-25T10:30:00+07:00"


def test_a_supplement_pause_moves_the_appointment_by_working_hours(
    hours_node: Node, client: FlaskClient
) -> None:
    code = create(hours_node, client)["code"]  # due Monday 14:30
    hours_node.clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=VN))
    act(hours_node, client, code, "supplement_requested", missing=["don"], reason="Thiếu chữ ký")
    hours_node.clock.set(datetime(2026, 11, 25, 8, 0, tzinfo=VN))  # Wednesday
    d = act(hours_node, client, code, "supplement_received", documents={"don": {"original": 1}})
    # The pause covered Monday 10:00–11:30 and 13:00–17:00 (5½ h), no time on the Tuesday
    # holiday, Wednesday 07:30–08:00 (½ h): 6 h. From Monday 14:30: 2½ h to 17:00, then
    # 3½ h from Wednesday 07:30: 11:00.
    assert d["due_at"] == "2026-11-25T11:00:00+07:00"


def test_the_page_and_form_01_state_the_limit_in_hours(
    hours_node: Node, client: FlaskClient
) -> None:
    code = create(hours_node, client)["code"]
    login(client, "receiver")
    assert "4 giờ làm việc" in text(client.get(f"/dossiers/new?procedure={HOURS}"))
    slip = text(client.get(f"/print/01/{code}"))
    assert "4 giờ làm việc" in slip and "ngày làm việc" not in slip
