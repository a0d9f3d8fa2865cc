"""Helpers for driving the desk's HTML pages with Flask's test client, CSRF and all."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.node.conftest import OFFICERS, PASSWORD

STATUS_SLIP = "2.000815.000.00.00.H38"  # certified copy: same-day, documents ban_chinh, ban_sao
MARITAL = "1.004873.000.00.00.H38"  # marital-status certificate: 3 working days
APPLICANT = {
    "applicant_name": "Nguyễn Văn An",
    "id_number": "001090012345",
    "phone": "0912345678",
    "email": "an.nguyen@example.vn",
    "address": "Thôn 3, xã Đăk Pxi, tỉnh Quảng Ngãi",
    "request": "Xin cấp giấy xác nhận để đăng ký kết hôn",
}
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(html: str) -> str:
    """The CSRF token of the first form on the page."""
    found = _TOKEN.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def login(client: FlaskClient, role: str) -> None:
    """Log in as the test officer of ``role`` (receiver, leader, admin) through the form."""
    token = csrf(client.get("/login").get_data(as_text=True))
    username = OFFICERS[role][0]
    r = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 302, r.get_data(as_text=True)


def logout(client: FlaskClient) -> None:
    token = csrf(client.get("/").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})


def intake_form(
    client: FlaskClient,
    procedure: str = MARITAL,
    *,
    received: list[str] | None = None,
    outcome: str = "receive",
    **fields: Any,
) -> dict[str, Any]:
    """The intake form for ``procedure`` as a browser would post it (checklist from the page).

    ``received`` None ticks every required document with its catalogue quantities.
    """
    html = client.get(f"/dossiers/new?procedure={procedure}").get_data(as_text=True)
    data: dict[str, Any] = {"csrf_token": csrf(html), "procedure": procedure}
    key = re.search(r'name="intake_key" value="([^"]*)"', html)
    if key:
        data["intake_key"] = key.group(1)
    for name, value in re.findall(
        r'<input type="number"[^>]*name="(doc-[^"]+)" value="(\d+)"', html
    ):
        data[name] = value
    rows = re.findall(r'data-doc="([^"]+)" data-required="(true|false)"', html)
    data["received"] = (
        [doc for doc, required in rows if required == "true"] if received is None else received
    )
    data.update(APPLICANT)
    data.update({"sets": "1", "channel": "1", "notify": "sms", "outcome": outcome})
    data.update(fields)
    return data


def take_in(client: FlaskClient, procedure: str = MARITAL, **kw: Any) -> str:
    """Take a dossier in through the page; returns its code."""
    r = client.post("/dossiers/new", data=intake_form(client, procedure, **kw))
    assert r.status_code == 302, r.get_data(as_text=True)
    return str(r.headers["Location"]).rsplit("/", 1)[1]


def act(client: FlaskClient, code: str, action: str, **fields: Any) -> TestResponse:
    """Post one action's form from the dossier page (with that page's CSRF token)."""
    token = csrf(client.get(f"/dossiers/{code}").get_data(as_text=True))
    return client.post(f"/dossiers/{code}/actions/{action}", data={"csrf_token": token, **fields})


def text(r: TestResponse) -> str:
    return r.get_data(as_text=True)
