"""Reports and the status look-up across node and hub: the same figures on both sides of a
real sync, the hub's report pages and exports, and the hub's public look-up."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from central_hub.models import HubDossier
from central_hub.notify_models import StatusKey
from central_hub.services import health, processing
from central_hub.services import reports as hub_reports
from common.calendar import VN_TZ, WorkingCalendar
from common.periods import custom, period_of
from commune_node import db as node_db
from commune_node import sample
from commune_node.services import reports as node_reports
from commune_node.web.context import calendar as node_calendar
from tests.hub.fixtures import HUB_PASSWORD, HUB_USERS
from tests.node.conftest import PASSWORD, Node
from tests.sync.conftest import Site, sync
from tests.sync.helpers import CRIMINAL_RECORD, act, take_in

AGENCY = "000.00.12.H26"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def synced(site: Site) -> Node:
    """A node with a few weeks of sample dossiers, a forwarded dossier the hub resolved, all
    synced both ways."""
    n = site.node("a", AGENCY)
    sample.seed(n.app, count=60, password=PASSWORD)
    code = take_in(n, CRIMINAL_RECORD)
    act(n, code, "forwarded")
    sync(n)
    for action, form in (("processing", {}), ("resolved", {"result": "Đã cấp phiếu"})):
        with site.hub.db.write() as s:
            processing.act(s, code, action, form, hub=site.hub.identity, clock=site.clock,
                           actor="lan.pham", calendar=WorkingCalendar())  # fmt: skip
    sync(n)
    act(n, code, "result_returned")
    act(n, code, "rated", rating=3)
    sync(n)
    return n


def _both(site: Site, n: Node, period: Any, by: str) -> tuple[Any, Any]:
    now = site.clock()
    with n.app.app_context(), node_db.read_session(n.app) as s:
        on_node = node_reports.build(s, period, by=by, now=now, calendar=node_calendar())
    hub_id = site.hub.identity.hub_id
    with site.hub.db.read() as s:
        cal = health.current_calendar(s, hub_id)
        on_hub = hub_reports.build(s, period, by=by, now=now, calendar=cal, hub_id=hub_id)
    return on_node, on_hub


@pytest.mark.slow
def test_node_and_hub_compute_the_same_figures(site: Site, synced: Node) -> None:
    today = site.clock().date()
    periods = [
        period_of("month", today),
        period_of("week", today),
        period_of("quarter", today),
        period_of("year", today),
        custom(date(2026, 10, 20), date(2026, 11, 20)),
    ]
    for period in periods:
        on_node, on_hub = _both(site, synced, period, "procedure")
        assert on_hub.verdicts == [dataclasses.replace(v, commune=AGENCY) for v in on_node.verdicts]
        assert on_node.total == on_hub.total
        assert on_node.groups == on_hub.groups
        assert on_hub.total.judged > 0 or period.kind == "week"
    month = period_of("month", today)
    on_node, on_hub = _both(site, synced, month, "officer")
    assert {k.removeprefix(AGENCY + "/"): f for k, f in on_hub.groups.items()} == on_node.groups
    _, by_commune = _both(site, synced, month, "commune")
    assert list(by_commune.groups) == [AGENCY]
    assert by_commune.groups[AGENCY] == on_node.total
    assert on_node.total.processed > 0 and on_node.total.received > 0


class Person:
    def __init__(self, site: Site, role: str | None = None) -> None:
        self.client = site.hub.app.test_client()
        if role:
            token = _TOKEN.search(self.client.get("/login").get_data(as_text=True))
            assert token
            r = self.client.post("/login", data={"username": HUB_USERS[role][0],
                                 "password": HUB_PASSWORD, "csrf_token": token.group(1)})  # fmt: skip
            assert r.status_code == 302


def test_hub_report_pages_exports_and_roles(site: Site, synced: Node) -> None:
    admin = Person(site, "administrator")
    page = admin.client.get("/reports/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="ranking"' in html and "Xã Đăk Pxi" in html and "<svg" in html
    assert "Nguyễn" not in html  # no applicant names in reports
    drill = admin.client.get("/reports/drill?measure=received&kind=month")
    assert drill.status_code == 200 and AGENCY in drill.get_data(as_text=True)
    csv = admin.client.get("/reports/export.csv?by=procedure")
    assert csv.status_code == 200 and csv.data.startswith("\ufeff".encode())
    assert "2.1 Tỷ lệ trước hạn, đúng hạn (%)" in csv.data.decode("utf-8-sig")
    xlsx = admin.client.get("/reports/export.xlsx?by=commune&kind=quarter")
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["Content-Disposition"]
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(xlsx.data)).active
    assert ws["C3"].value == "Xã, phường" and ws["I3"].value == "2.1 Tỷ lệ trước hạn, đúng hạn"
    assert ws["C4"].value == "Xã Đăk Pxi"
    made = site.clock().astimezone(VN_TZ)  # Vietnam time, whatever the server's zone
    assert ws["B2"].value == f"Lập lúc: {made:%H:%M %d/%m/%Y}"
    printed = admin.client.get("/reports/print")
    assert printed.status_code == 200 and "Xếp hạng các xã" in printed.get_data(as_text=True)
    assert Person(site, "auditor").client.get("/reports/").status_code == 200
    assert Person(site, "hub_officer").client.get("/reports/").status_code == 403
    assert Person(site).client.get("/reports/").status_code == 302  # to the login page
    assert admin.client.get("/reports/?kind=decade").status_code == 422


def _look_up(client: Any, code: str, digits: str) -> Any:
    token = _TOKEN.search(client.get(f"/status?code={code}").get_data(as_text=True))
    assert token
    return client.post("/status", data={"csrf_token": token.group(1), "code": code,
                                        "digits": digits})  # fmt: skip


def test_hub_status_look_up(site: Site) -> None:
    site.hub.app.config.update(STATUS_LOOKUP_MIN_SECONDS=0.05, STATUS_LOOKUP_ATTEMPTS=4)
    n = site.node("a", AGENCY)
    code = take_in(n, name="Nguyễn Văn Đức")  # phone 0912345678, ID 062095001234
    sync(n)
    public = site.hub.app.test_client()
    ok = _look_up(public, code, "5678")
    html = ok.get_data(as_text=True)
    assert ok.status_code == 200 and code in html and "Được tiếp nhận" in html
    for secret in ("Nguyễn Văn Đức", "062095001234", "0912345678", "thôn 3", "5678"):
        assert secret not in html, secret
    with site.hub.db.read() as s:
        key = s.get(StatusKey, code)
        assert key is not None and "5678" not in key.digest and len(key.salt) == 32
        assert s.get(HubDossier, code) is not None
    wrong_code, wrong_digits = (
        _look_up(public, code[:-4] + "9999", "5678"),
        _look_up(public, code, "1111"),
    )
    assert wrong_code.status_code == wrong_digits.status_code == 404
    strip = re.compile(r'value="[^"]*"')
    assert strip.sub("", wrong_code.get_data(as_text=True)) == strip.sub(
        "", wrong_digits.get_data(as_text=True)
    )
    _look_up(public, code, "2222")
    _look_up(public, code, "3333")
    limited = _look_up(public, code, "5678")
    assert limited.status_code == 429
    with site.hub.db.read() as s:
        assert s.scalar(select(StatusKey).where(StatusKey.code == code)) is not None
