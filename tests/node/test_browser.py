"""A real headless Chromium against a real waitress server: the desk's whole day, by keyboard
and mouse — intake typed without diacritics, form 01 with its QR, processing, resolution by
the leader, return of the result."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

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
STATUS_BASE = "https://dichvucong.quangngai.gov.vn/tra-cuu"  # what the QR code on form 01 opens


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(
                f"{CHROMIUM} is missing; CI must run the browser tests (apt-get install chromium)"
            )
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium); not in CI")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def base_url(node: Node) -> Iterator[str]:
    with live_server(node.app) as url:
        yield url


def log_in(page: object, base_url: str, role: str) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(f"{base_url}/login")
    page.fill("#username", OFFICERS[role][0])
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator(".who")).to_contain_text(OFFICERS[role][1])


def log_out(page: object) -> None:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    page.locator(".who form", has=page.locator("button", has_text="Đăng xuất")).locator(
        "button"
    ).click()
    page.wait_for_url(re.compile(r"/login"))


def test_a_dossier_from_intake_to_returned(browser: object, base_url: str, node: Node) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    node.app.config["PUBLIC_STATUS_BASE"] = STATUS_BASE
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    # Nothing may be fetched from anywhere but the node itself.
    foreign: list[str] = []
    page.on(
        "request", lambda req: None if req.url.startswith(base_url) else foreign.append(req.url)
    )
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    log_in(page, base_url, "receiver")
    page.click("text=Tiếp nhận hồ sơ mới")
    # Typed without diacritics, filtered as the officer types (intake.js).
    page.locator("#proc-q").press_sequentially("xac nhan tinh trang hon nhan", delay=10)
    choice = page.locator("#proc-results a", has_text="Cấp Giấy xác nhận tình trạng hôn nhân")
    expect(choice).to_be_visible()
    choice.click()
    expect(page.locator("#intake-form")).to_be_visible()

    page.check("#doc-to_khai")
    expect(page.locator('tr[data-doc="to_khai"]')).to_have_class(re.compile("got"))
    expect(page.locator("#missing-to_khai")).not_to_be_checked()
    page.fill("#f-applicant_name", "Nguyễn Văn An")
    page.fill("#f-id_number", "001090012345")
    page.fill("#f-phone", "0912345678")
    page.fill("#f-email", "an.nguyen@example.vn")
    page.fill("#f-address", "Thôn 3, xã Đăk Pxi")
    page.fill("#f-request", "Xin cấp giấy xác nhận để đăng ký kết hôn")
    page.screenshot(path=str(SHOTS / "desk-intake.png"), full_page=True)
    page.click("#btn-receive")

    page.wait_for_url(re.compile(r"/print/01/"))
    code = page.url.rsplit("/", 1)[1]
    expect(page.locator("#dossier-code")).to_have_text(code)
    expect(page.locator("#status-qr svg")).to_be_visible()
    expect(page.locator("body")).to_contain_text("Nguyễn Văn An")
    page.screenshot(path=str(SHOTS / "desk-form01.png"), full_page=True)

    page.goto(f"{base_url}/dossiers/{code}")
    page.locator("#action-processing button[type=submit]").click()
    expect(page.locator(".hero .badge").first).to_contain_text("Đang xử lý")
    log_out(page)

    log_in(page, base_url, "leader")
    page.goto(f"{base_url}/dossiers/{code}")
    page.fill("#resolved-result", "Đã cấp Giấy xác nhận tình trạng hôn nhân")
    page.locator("#action-resolved button[type=submit]").click()
    expect(page.locator(".hero .badge").first).to_contain_text("Đã xử lý xong")
    log_out(page)

    log_in(page, base_url, "receiver")
    page.goto(f"{base_url}/dossiers/{code}")
    page.fill("#result_returned-collected_by", "Nguyễn Văn An")
    page.locator("#action-result_returned button[type=submit]").click()
    expect(page.locator(".hero .badge").first).to_contain_text("10 · Đã trả kết quả")
    page.screenshot(path=str(SHOTS / "desk-dossier.png"), full_page=True)

    assert foreign == [], f"requests left the node: {foreign}"
    assert errors == [], f"JavaScript errors: {errors}"
    context.close()


def test_intake_works_without_javascript(browser: object, base_url: str, node: Node) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    node.app.config["PUBLIC_STATUS_BASE"] = STATUS_BASE
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, base_url, "receiver")
    page.goto(f"{base_url}/dossiers/new")
    page.fill("#proc-q", "chung thuc ban sao")
    page.click("#proc-search button[type=submit]")
    page.locator("#proc-results a").first.click()
    expect(page.locator("#intake-form")).to_be_visible()
    page.check("#doc-ban_chinh")
    page.fill("#f-applicant_name", "Trần Thị Bình")
    page.fill("#f-id_number", "001190012345")
    page.fill("#f-address", "Thôn 1, xã Đăk Pxi")
    page.check("input[name=notify][value=none]")
    page.click("#btn-receive")
    page.wait_for_url(re.compile(r"/print/01/"))
    expect(page.locator("#status-qr svg")).to_be_visible()
    context.close()
