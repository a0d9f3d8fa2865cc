"""The shared web layer (``common_web/``) behaves alike on the commune desk and the hub: the
same test code runs against both apps.

- a wrong password: the same refusal (401), in Vietnamese first and in English on request;
- 403 and 404 pages in Vietnamese (the hub's 403 used to be in English only);
- a form posted without its token is refused (400) with the same page;
- the same security headers on every page;
- the public status page: the same form, the same refusal for a wrong code;
- in Chromium, the public status and log-in pages fit a 400 px phone and a 1366 px screen.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from common_io.page_headers import HEADERS
from tests.hub.fixtures import HUB_PASSWORD, HUB_USERS, make_hub
from tests.node.conftest import OFFICERS, PASSWORD, make_node
from tests.support import CHROMIUM, CHROMIUM_ARGS, VN, MovableClock, require_chromium, serve

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PORTS = {"node": 7711, "hub": 7712}  # this suite's loopback ports


@dataclass
class Site:
    """One app as the shared pages see it: an account, and a page its role may not open."""

    name: str
    app: Flask
    username: str
    password: str
    forbidden: str


def _make(name: str, tmp_path: Path) -> Site:
    clock = MovableClock(datetime(2026, 11, 23, 9, 0, tzinfo=VN))
    fast = {"STATUS_LOOKUP_MIN_SECONDS": 0.0}
    if name == "node":
        node = make_node(tmp_path / "node", clock, **fast)
        return Site(name, node.app, OFFICERS["receiver"][0], PASSWORD, "/reports/")
    hub = make_hub(tmp_path / "hub", clock, **fast)
    return Site(name, hub.app, HUB_USERS["hub_officer"][0], HUB_PASSWORD, "/reports/")


@pytest.fixture(params=["node", "hub"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    made = _make(request.param, tmp_path)
    yield made
    made.app.extensions["db"].engine.dispose()


def _text(r: object) -> str:
    return r.get_data(as_text=True)  # type: ignore[attr-defined, no-any-return]


def _token(client: FlaskClient, path: str = "/login") -> str:
    found = _TOKEN.search(_text(client.get(path)))
    assert found, f"{path} has no form with a CSRF token"
    return found.group(1)


def _log_in(client: FlaskClient, username: str, password: str) -> object:
    data = {"username": username, "password": password, "csrf_token": _token(client)}
    return client.post("/login", data=data)


def test_a_wrong_password_is_refused_alike_in_both_languages(site: Site) -> None:
    client = site.app.test_client()
    r = _log_in(client, site.username, "not the password")
    assert r.status_code == 401  # type: ignore[attr-defined]
    assert "Sai tên đăng nhập hoặc mật khẩu." in _text(r)
    assert '<html lang="vi">' in _text(r)
    client.post("/language/en", data={"csrf_token": _token(client), "next": "/login"})
    r = _log_in(client, site.username, "not the password")
    assert r.status_code == 401  # type: ignore[attr-defined]
    assert "Wrong user name or password." in _text(r) and '<html lang="en">' in _text(r)
    assert _log_in(client, site.username, site.password).status_code == 302  # type: ignore[attr-defined]


def test_forbidden_and_missing_pages_speak_vietnamese(site: Site) -> None:
    client = site.app.test_client()
    _log_in(client, site.username, site.password)
    r = client.get(site.forbidden)
    assert r.status_code == 403
    assert "Bạn không có quyền thực hiện thao tác này." in _text(r), site.name
    assert '<html lang="vi">' in _text(r)
    r = client.get("/no-such-page")
    assert r.status_code == 404 and "Không tìm thấy." in _text(r)
    assert 'class="card shared-error"' in _text(r)


def test_a_form_without_its_token_is_refused(site: Site) -> None:
    client = site.app.test_client()
    client.get("/login")
    r = client.post("/login", data={"username": site.username, "password": site.password})
    assert r.status_code == 400
    assert "Biểu mẫu đã hết hạn hoặc không xuất phát từ trang này." in _text(r)
    r = client.post("/status", data={"code": "x", "digits": "1234"})
    assert r.status_code == 400


def test_every_page_carries_the_same_security_headers(site: Site) -> None:
    client = site.app.test_client()
    for path in ("/login", "/status", "/no-such-page"):
        r = client.get(path)
        for name, value in HEADERS.items():
            assert r.headers.get(name) == value, (site.name, path, name)


def test_the_public_status_page_is_the_same_page(site: Site) -> None:
    client = site.app.test_client()
    r = client.get("/status?code=ABC")
    page = _text(r)
    assert r.status_code == 200 and 'name="digits"' in page and 'value="ABC"' in page
    assert "Tra cứu tình trạng hồ sơ" in page and 'id="lookup-form"' in page
    token = _token(client, "/status")
    r = client.post("/status", data={"csrf_token": token, "code": "ABC", "digits": "1234"})
    assert r.status_code == 404 and 'id="lookup-failed"' in _text(r)


def test_both_apps_render_the_shared_pages_from_one_template() -> None:
    """No app keeps its own copy of a page the shared layer serves."""
    root = Path(__file__).resolve().parents[1]
    shared = {p.name for p in (root / "common_web" / "templates").glob("*.html")}
    for app in ("commune_node", "central_hub"):
        own = {p.name for p in (root / app / "templates").glob("*.html")}
        assert not (own & shared), (app, own & shared)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.mark.browser
@pytest.mark.parametrize("width", [400, 1366])
def test_shared_pages_fit_the_screen_in_chromium(site: Site, browser: object, width: int) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    with serve(site.app, port=PORTS[site.name]) as server:
        page = browser.new_page(viewport={"width": width, "height": 900})
        try:
            for path in ("/status", "/login"):
                page.goto(f"{server.url}{path}")
                wide = page.evaluate("document.documentElement.scrollWidth")
                assert wide <= width, (site.name, path, width, wide)
            page.goto(f"{server.url}/status")
            page.fill("#code", "ABC")
            page.fill("#digits", "1234")
            page.click("#lookup-form button[type=submit]")
            expect(page.locator("#lookup-failed")).to_be_visible()
            box = page.locator("#lookup-failed").bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        finally:
            page.close()
        time.sleep(0.3)  # let the browser's closed connections drain before the server stops
