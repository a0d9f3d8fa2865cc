"""Every page of both apps on a phone (400 px) and a tablet (800 px), in a real headless
Chromium, as each role sees it: nothing is wider than the screen (tables turn into cards or
scroll inside their own box), and a procedure's name is not squeezed to a word per line.

The data: a hub and an enrolled commune with the demo dossiers of ``commune-node seed``, a
dossier forwarded to the hub and synced, one dossier of every status."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from commune_node import db as node_db
from commune_node import sample
from commune_node.models import Dossier
from commune_node.web.context import node_identity
from tests.hub.fixtures import HUB_PASSWORD, HUB_USERS, Hub, make_hub
from tests.node.conftest import OFFICERS, PASSWORD, Node
from tests.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    VN,
    MovableClock,
    live_server,
    require_chromium,
)
from tests.sync.conftest import Site, sync
from tests.sync.helpers import CRIMINAL_RECORD, act, take_in

SHOTS = Path("/tmp")

pytestmark = pytest.mark.browser


@dataclass
class World:
    hub_url: str
    node_url: str
    node_id: str
    forwarded: str
    codes: dict[int, str]  # a dossier of each status on the node


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from datetime import datetime

    tmp = tmp_path_factory.mktemp("overflow")
    clock = MovableClock(datetime(2026, 11, 23, 9, 0, tzinfo=VN))
    hub: Hub = make_hub(tmp / "hub", clock)
    with live_server(hub.app) as hub_url:
        site = Site(hub, hub_url, tmp, clock)
        node: Node = site.node("a", "000.00.12.H26", commune="Xã Đăk Pxi")
        node.app.config["PUBLIC_STATUS_BASE"] = "https://dichvucong.quangngai.gov.vn/tra-cuu"
        sample.seed(node.app, count=40, password=PASSWORD)
        forwarded = take_in(node, CRIMINAL_RECORD, name="Trần Thị Mai")
        act(node, forwarded, "forwarded")
        sync(node)
        with node.app.app_context():
            node_id = node_identity().node_id
        with node_db.read_session(node.app) as s:
            codes: dict[int, str] = {}
            for d in s.scalars(select(Dossier).order_by(Dossier.code)):
                codes.setdefault(int(d.status), d.code)
        with live_server(node.app) as node_url:
            yield World(hub_url, node_url, node_id, forwarded, codes)
            time.sleep(0.3)
        node_db.database(node.app).engine.dispose()
        hub.db.engine.dispose()


def node_pages(w: World) -> dict[str, list[str]]:
    some = w.codes.get(4) or next(iter(w.codes.values()))
    dossier_pages = [f"/dossiers/{code}" for code in w.codes.values()]
    prints = [f"/print/{k}/{some}" for k in ("01", "06")]
    common = ["/", "/account/password", "/dossiers", "/sync/", *dossier_pages]
    return {
        "receiver": [
            *common,
            "/dossiers/new",
            "/dossiers/new?procedure=1.004873.000.00.00.H38",
            "/print/07",
            *prints,
        ],
        "leader": [*common, "/reports/", "/reports/drill?measure=received&kind=month", "/print/07"],
        "admin": [*common, "/admin/officers", "/reports/", "/reports/print"],
        "": ["/login", "/status", f"/status?code={some}"],
    }


def hub_pages(w: World) -> dict[str, list[str]]:
    common = ["/", "/account/password", "/dossiers", f"/dossiers/{w.forwarded}"]
    return {
        "lan.pham": [*common, "/queue"],
        "admin": [
            *common,
            "/nodes",
            f"/nodes/{w.node_id}",
            "/alerts",
            "/enrol",
            "/publish",
            "/users",
            "/portal",
            "/audit",
            "/reports/",
            "/reports/drill?measure=received&kind=month",
            "/reports/print",
        ],
        "thanh.tra": [*common, "/nodes", f"/nodes/{w.node_id}", "/audit", "/portal", "/reports/"],
        "": ["/login", "/status", f"/status?code={w.forwarded}"],
    }


# The outermost elements reaching past the right edge: what to fix.
WIDEST = """w => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > w + 0.5
            && !(e.parentElement && e.parentElement.getBoundingClientRect().right > w + 0.5))
  .slice(0, 4).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
                   + ' ' + Math.round(e.getBoundingClientRect().right))"""


def _list_is_readable(page: object, app: str, base: str, path: str, label: str, width: int) -> None:
    """A list's procedure names get (nearly) the screen's width, not a narrow column."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    page.goto(base + path)
    cells = page.locator(f'table td[data-label="{label}"]')
    assert cells.count() > 0, path
    for i in range(min(cells.count(), 5)):
        text_width = cells.nth(i).evaluate(
            "td => td.clientWidth - parseFloat(getComputedStyle(td).paddingLeft)"
            " - parseFloat(getComputedStyle(td).paddingRight)"
        )
        assert text_width >= 0.5 * width, (path, text_width)
    page.screenshot(path=str(SHOTS / f"list-{app}-{width}.png"), full_page=False)


def _overflows(page: object, base: str, paths: list[str], width: int) -> list[str]:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    found = []
    for path in paths:
        response = page.goto(base + path)
        assert response is not None and response.status < 400, (path, response and response.status)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > width:
            name = path.strip("/").replace("/", "_").replace("?", "_") or "home"
            page.screenshot(path=str(SHOTS / f"overflow-{width}-{name}.png"), full_page=True)
            found.append(f"{path}: {scroll}/{width} px, {page.evaluate(WIDEST, width)}")
    return found


@pytest.mark.parametrize("width", [400, 800])
def test_no_page_of_either_app_is_wider_than_a_phone_or_tablet(world: World, width: int) -> None:
    from playwright.sync_api import expect, sync_playwright

    require_chromium()
    found: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for role, paths in node_pages(world).items():
            context = browser.new_context(viewport={"width": width, "height": 800}, locale="vi-VN")
            page = context.new_page()
            if role:
                page.goto(world.node_url + "/login")
                page.fill("#username", OFFICERS[role][0])
                page.fill("#password", PASSWORD)
                page.click("#login-form button[type=submit]")
                expect(page.locator(".who")).to_contain_text(OFFICERS[role][1])
            found += [
                f"node {role or 'public'} {f}"
                for f in _overflows(page, world.node_url, paths, width)
            ]
            if role == "receiver":
                _list_is_readable(page, "node", world.node_url, "/dossiers", "Thủ tục", width)
            context.close()
        for username, paths in hub_pages(world).items():
            context = browser.new_context(viewport={"width": width, "height": 800}, locale="vi-VN")
            page = context.new_page()
            if username:
                page.goto(world.hub_url + "/login")
                page.fill("#username", username)
                page.fill("#password", HUB_PASSWORD)
                page.click("#login-form button[type=submit]")
                expect(page.locator(".topbar .who")).to_contain_text("Đăng xuất")
            found += [
                f"hub {username or 'public'} {f}"
                for f in _overflows(page, world.hub_url, paths, width)
            ]
            if username == "lan.pham":
                _list_is_readable(page, "hub", world.hub_url, "/dossiers", "Thủ tục", width)
            context.close()
        browser.close()
    assert found == [], "\n".join(found)
    assert {u for u in HUB_USERS.values()}  # every hub role above is a real user
