"""Headless Chromium against a real waitress server: the leader's report page with its chart,
a drill-down and an Excel download; the public status look-up from the QR link."""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from commune_node import sample
from tests.node.conftest import OFFICERS, PASSWORD, Node
from tests.support import live_server

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path("/tmp")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; CI must run the browser tests")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def seeded(node: Node) -> Iterator[tuple[Node, str]]:
    sample.seed(node.app, count=50, password=PASSWORD)
    with live_server(node.app) as url:
        yield node, url
        time.sleep(0.3)  # let the browser's closed connections drain before the server stops


def test_report_page_chart_drill_down_and_excel(browser: object, seeded: tuple[Node, str]) -> None:
    from openpyxl import load_workbook
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    _node, base = seeded
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN",
                                  accept_downloads=True)  # fmt: skip
    page = context.new_page()
    foreign: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(base) else foreign.append(r.url))
    page.goto(f"{base}/login")
    page.fill("#username", OFFICERS["leader"][0])
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.goto(f"{base}/reports/")
    expect(page.locator("h1")).to_contain_text("Báo cáo chỉ số phục vụ")
    chart = page.locator("#chart-timeliness svg")
    expect(chart).to_be_visible()
    assert chart.locator("rect").count() > 3
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 60
    expect(page.locator("#kpi-21 b")).to_contain_text("%")
    page.screenshot(path=str(SHOTS / "desk-reports.png"), full_page=True)

    page.select_option("#kind", "week")
    page.click("#period-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Tuần")
    page.go_back()

    page.locator("#kpi-21").click()
    expect(page.locator("#drill-table")).to_be_visible()
    count = int(page.locator("#drill-count").inner_text().split()[0])
    assert count == page.locator("#drill-table tbody tr").count() and count > 0
    page.screenshot(path=str(SHOTS / "desk-report-drill.png"), full_page=True)
    page.locator("#drill-table tbody tr a").first.click()
    expect(page).to_have_url(re.compile(r"/dossiers/000\.00\.12\.H26-"))
    page.goto(f"{base}/reports/")

    with page.expect_download() as info:
        page.click("#export-xlsx")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    ws = load_workbook(io.BytesIO(Path(download.path()).read_bytes())).active
    assert ws["C3"].value == "Thủ tục" and ws["D3"].value == "Hồ sơ tính chỉ số 2.1"
    assert ws.cell(ws.max_row, 3).value == "Tổng cộng"

    page.click("#print-report")
    expect(page.locator("h1.title")).to_contain_text("Báo cáo kết quả giải quyết")
    page.screenshot(path=str(SHOTS / "desk-report-print.png"), full_page=True)
    assert foreign == [], foreign
    context.close()


def test_status_look_up_from_the_qr_link(browser: object, seeded: tuple[Node, str]) -> None:
    from playwright.sync_api import Browser, expect

    from commune_node import db
    from commune_node.models import Dossier

    assert isinstance(browser, Browser)
    node, base = seeded
    node.app.config["STATUS_LOOKUP_MIN_SECONDS"] = 0.1
    with db.read_session(node.app) as s:
        row = s.query(Dossier).filter(Dossier.phone != "").order_by(Dossier.code).first()
        assert row is not None
        code, phone, name = row.code, row.phone, row.applicant_name
    context = browser.new_context(viewport={"width": 480, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{base}/status?code={code}")
    expect(page.locator("#code")).to_have_value(code)
    page.fill("#digits", "0000" if phone[-4:] != "0000" else "1111")
    page.click("#lookup-form button[type=submit]")
    expect(page.locator("#lookup-failed")).to_be_visible()
    page.screenshot(path=str(SHOTS / "status-failed.png"), full_page=True)
    page.fill("#code", code)
    page.fill("#digits", phone[-4:])
    page.click("#lookup-form button[type=submit]")
    expect(page.locator("#lookup-result")).to_contain_text(code)
    expect(page.locator("#lookup-next")).not_to_be_empty()
    body = page.locator("body").inner_text()
    assert name not in body and phone not in body
    page.screenshot(path=str(SHOTS / "status-found.png"), full_page=True)
    context.close()
