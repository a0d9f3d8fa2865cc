"""Every printed form (01–07) fits one A4 page for a normal dossier, printed to PDF by a real
headless Chromium the way the desk's browser prints it (the form's own @page rules)."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from tests.node.conftest import Node
from tests.node.desk import MARITAL, act, login, logout, take_in
from tests.node.test_browser import base_url, browser, log_in

pytestmark = pytest.mark.browser
__all__ = ["base_url", "browser"]  # the fixtures this module uses

# A page object of the PDF ("/Type /Pages" is the page tree, not a page).
PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
REASON = "Chờ xác minh thông tin hộ tịch tại Ủy ban nhân dân xã nơi người yêu cầu cư trú trước đây"


def pdf_pages(pdf: bytes) -> int:
    assert pdf.startswith(b"%PDF"), "not a PDF"
    return len(PAGE.findall(pdf))


def normal_day(node: Node, client: FlaskClient) -> dict[str, str]:
    """A normal dossier for each form: three documents, one applicant, one reason each."""
    login(client, "receiver")
    node.app.config["PUBLIC_STATUS_BASE"] = "https://dichvucong.quangngai.gov.vn/tra-cuu"
    codes = {
        "01": take_in(client, MARITAL, received=["to_khai", "ban_an_ly_hon", "giay_xac_nhan_cu"]),
        "02": take_in(client, MARITAL, received=[], outcome="supplement", reason=REASON),
        "03": take_in(client, MARITAL, outcome="refuse", reason=REASON),
    }
    codes["06"] = codes["01"]
    codes["04"] = take_in(client, MARITAL)
    codes["05"] = take_in(client, MARITAL)
    assert act(client, codes["01"], "processing").status_code == 302
    logout(client)
    node.clock.set(node.clock.now.replace(day=25, hour=10))
    login(client, "leader")
    assert (
        act(client, codes["04"], "apologised", reason=REASON, new_due="2026-12-02").status_code
        == 302
    )
    assert act(client, codes["05"], "stopped", reason=REASON).status_code == 302
    assert act(client, codes["01"], "resolved", result="Đã cấp giấy").status_code == 302
    logout(client)
    return codes


def test_each_form_prints_on_one_a4_page(browser: object, base_url: str, node: Node) -> None:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    codes = normal_day(node, node.app.test_client())
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    log_in(page, base_url, "receiver")
    pages = {}
    for kind in ("01", "02", "03", "04", "05", "06", "07"):
        path = (
            "/print/07?from=2026-11-23&to=2026-11-25"
            if kind == "07"
            else f"/print/{kind}/{codes[kind]}"
        )
        r = page.goto(base_url + path)
        assert r is not None and r.status == 200, path
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        pages[kind] = pdf_pages(pdf)
        if kind == "01":
            assert page.locator("#status-qr svg").count() == 1
            with open(f"/tmp/form{kind}.pdf", "wb") as fh:
                fh.write(pdf)
    context.close()
    assert pages == dict.fromkeys(pages, 1), f"A4 pages per form: {pages}"


def test_a_form_longer_than_a_page_is_counted_as_such(
    browser: object, base_url: str, node: Node
) -> None:
    """The page count can fail: a tracking book of a busy day runs over one page."""
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    client = node.app.test_client()
    login(client, "receiver")
    for _ in range(14):
        take_in(client, MARITAL)
    context = browser.new_context()
    page = context.new_page()
    log_in(page, base_url, "receiver")
    page.goto(f"{base_url}/print/07?from=2026-11-23&to=2026-11-23")
    assert pdf_pages(page.pdf(prefer_css_page_size=True)) >= 2
    context.close()


def test_the_citizens_rights_page_prints_to_pdf(browser: object, base_url: str, node: Node) -> None:
    """The leader types the ID number from the card, the page lists the citizen's dossiers
    and who viewed them, and Chromium prints it to PDF on A4."""
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    client = node.app.test_client()
    login(client, "receiver")
    codes = [take_in(client, MARITAL), take_in(client, MARITAL)]
    client.get(f"/dossiers/{codes[0]}")
    logout(client)
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    log_in(page, base_url, "leader")
    page.goto(f"{base_url}/citizen-data")
    page.fill("#c-id", "001090012345")
    page.click("form.card button[type=submit]")
    expect(page.locator("#asked-id")).to_have_text("001090012345")
    assert page.locator("section.held").count() == 2
    expect(page.locator(f'section.held[data-code="{codes[0]}"] table.views')).to_contain_text(
        "hoa.le"
    )
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert 1 <= pdf_pages(pdf) <= 2
    with open("/tmp/citizen-data.pdf", "wb") as fh:
        fh.write(pdf)
    context.close()
