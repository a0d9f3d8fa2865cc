"""The hub's pages in a real headless Chromium, against the hub served by waitress on loopback
(SQLite and PostgreSQL): the administrator reads and sorts node health, the hub officer
resolves a forwarded dossier and the commune node pulls the result."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from central_hub.models import Node as HubNode
from central_hub.services import nodes as hub_nodes
from commune_node.web.context import node_identity
from tests.hub.fixtures import HUB_PASSWORD, Hub
from tests.support import live_server
from tests.sync.conftest import Site, sync
from tests.sync.helpers import CRIMINAL_RECORD, act, take_in

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(os.environ.get("HUB_SCREENSHOTS", "/tmp"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="needs /usr/bin/chromium"),
]


@pytest.fixture
def site(hub: Hub, tmp_path: Path) -> Iterator[Site]:
    with live_server(hub.app) as url:
        yield Site(hub, url, tmp_path, hub.clock)


def test_administrator_sorts_node_health_and_officer_resolves_a_dossier(
    site: Site, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import expect, sync_playwright

    db = request.node.callspec.params["hub"]
    a = site.node("a", "000.00.12.H26", commune="Xã Đăk Pxi")
    b = site.node("b", "000.00.13.H26", commune="Xã Đăk Pne")
    code = take_in(a, CRIMINAL_RECORD, name="Trần Thị Mai")
    act(a, code, "forwarded")
    sync(a)
    take_in(b)
    take_in(b)
    sync(b)
    site.clock.advance(hours=5)
    take_in(b)
    sync(b)
    with a.app.app_context():
        a_id = node_identity().node_id
    with b.app.app_context():
        b_id = node_identity().node_id
    with site.hub.db.write() as s:
        node = s.get(HubNode, b_id)
        assert node is not None
        hub_nodes.quarantine(s, node, "fork: seq 2 does not follow the stored seq 1", site.clock())

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900}, locale="vi-VN")

        def login(username: str) -> None:
            page.goto(site.url + "/login")
            page.fill("#username", username)
            page.fill("#password", HUB_PASSWORD)
            page.click("#login-form button[type=submit]")
            expect(page.locator(".topbar .who")).to_contain_text("Đăng xuất")

        login("admin")
        page.click("nav >> text=Tình trạng nút")
        rows = page.locator("#nodes tbody tr")
        expect(rows).to_have_count(2)
        assert rows.nth(0).get_attribute("data-node") == b_id  # quarantined: worst first
        expect(rows.nth(0)).to_contain_text("Bị cách ly")
        page.screenshot(path=str(SHOTS / f"hub-nodes-{db}.png"), full_page=True)
        page.click("#nodes thead a[data-sort=records]")
        expect(page).to_have_url(f"{site.url}/nodes?sort=records&rev=0")
        expect(page.locator("#nodes th[aria-sort]")).to_contain_text("Bản ghi đã lưu")
        assert rows.nth(0).get_attribute("data-node") == a_id  # fewer records: behind
        page.click("#nodes thead a[data-sort=records]")
        assert rows.nth(0).get_attribute("data-node") == b_id
        page.screenshot(path=str(SHOTS / f"hub-nodes-sorted-{db}.png"), full_page=True)
        page.click(f"#nodes tr[data-node='{b_id}'] td a")
        expect(page.locator("h1")).to_contain_text("Xã Đăk Pne")
        page.screenshot(path=str(SHOTS / f"hub-node-{db}.png"), full_page=True)
        page.click("text=Đăng xuất")
        expect(page).to_have_url(f"{site.url}/login")

        login("lan.pham")
        page.click("nav >> text=Hàng chờ liên thông")
        page.click(f"text={code}")
        expect(page.locator("h1")).to_contain_text(code)
        page.screenshot(path=str(SHOTS / f"hub-dossier-{db}.png"), full_page=True)
        form = page.locator("#action-resolved")
        form.locator("summary").click()
        form.locator("button[type=submit]").click()  # the browser asks for the result first
        expect(page.locator(".flash")).to_have_count(0)
        form.locator("textarea[name=result]").fill("Cấp Phiếu lý lịch tư pháp số 12/LLTP")
        form.locator("input[name=electronic_result]").check()
        form.locator("button[type=submit]").click()
        expect(page.locator(".flash")).to_contain_text("Đã thực hiện: Giải quyết xong")
        expect(page.locator("h1 .badge").first).to_contain_text("Đã xử lý xong")
        expect(page.locator("table.history tbody tr")).to_have_count(3)
        page.screenshot(path=str(SHOTS / f"hub-dossier-resolved-{db}.png"), full_page=True)
        browser.close()

    sync(a)
    r = a.api(a.app.test_client(), "GET", f"/dossiers/{code}")
    assert r.json["dossier"]["status"]["code"] == 9


def test_administrator_prints_a_citizens_data_across_communes_to_pdf(site: Site) -> None:
    from playwright.sync_api import expect, sync_playwright

    a = site.node("a", "000.00.12.H26", commune="Xã Đăk Pxi")
    b = site.node("b", "000.00.13.H26", commune="Xã Đăk Pne")
    codes = [take_in(a, name="Trần Thị Mai"), take_in(b, name="Trần Thị Mai")]
    sync(a)
    sync(b)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(locale="vi-VN")
        page.goto(site.url + "/login")
        page.fill("#username", "admin")
        page.fill("#password", HUB_PASSWORD)
        page.click("#login-form button[type=submit]")
        page.click("nav >> text=Dữ liệu cá nhân")
        page.click("text=Dữ liệu của công dân")
        page.fill("input[name=id_number]", "062095001234")  # tests.sync.helpers.take_in
        page.click("form.card button[type=submit]")
        expect(page.locator("#asked-id")).to_have_text("062095001234")
        for code in codes:
            expect(page.locator(f'section.held[data-code="{code}"]')).to_contain_text(
                "Trần Thị Mai"
            )
        expect(page.locator("body")).to_contain_text("Xã Đăk Pne")
        pdf = page.pdf(format="A4")
        assert pdf.startswith(b"%PDF")
        (SHOTS / "hub-citizen-data.pdf").write_bytes(pdf)
        browser.close()


def test_the_hub_officer_prints_the_upper_levels_apology_on_one_a4_page(site: Site) -> None:
    import re

    from playwright.sync_api import sync_playwright

    a = site.node("a", "000.00.12.H26", commune="Xã Đăk Pxi")
    code = take_in(a, CRIMINAL_RECORD, name="Trần Thị Mai")
    act(a, code, "forwarded")
    sync(a)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for width in (1366, 400):
            page = browser.new_page(locale="vi-VN", viewport={"width": width, "height": 900})
            page.goto(site.url + "/login")
            page.fill("#username", "lan.pham")
            page.fill("#password", HUB_PASSWORD)
            page.click("#login-form button[type=submit]")
            page.goto(f"{site.url}/dossiers/{code}")
            if width == 1366:
                page.click("#action-apologised summary")
                page.fill("#apologised-reason", "Chờ kết quả xác minh của Công an tỉnh")
                page.fill("#apologised-new_due", "2026-12-10")
                page.click("#action-apologised button[type=submit]")
            page.click("#print-04 a")
            assert page.locator("h1.title").inner_text().upper().startswith("VĂN BẢN XIN LỖI")
            width_used = page.evaluate("document.documentElement.scrollWidth")
            assert width_used <= width + 1 or page.locator(".sheet-box").count() == 1
            pdf = page.pdf(prefer_css_page_size=True, print_background=True)
            assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf)) == 1
            (SHOTS / f"hub-form04-{width}.pdf").write_bytes(pdf)
            page.close()
        browser.close()
