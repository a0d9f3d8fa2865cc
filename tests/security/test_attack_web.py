"""Attacks on the web pages of the commune node and the hub by a stranger on the network.

Each test names one attack in its docstring and what must hold against it; where both apps
have the feature, it runs against both (``web`` is parametrized ``node`` / ``hub``). The
attacks: an open redirect after login; a session cookie replayed after logout, a password
change, a reset or a deactivation; framing, sniffing and injected script (the headers, and a
real Chromium that must report no Content-Security-Policy violation); password guessing in
a concurrent burst, sprayed over many users, and spread over restarts and hub processes; a
node enrolled to a hub over plain HTTP.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import click
import pytest
import requests
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from central_hub.cli import main as hub_cli
from commune_node.cli import main as node_cli
from tests.hub.fixtures import HUB_PASSWORD, make_hub
from tests.node.conftest import OFFICERS, PASSWORD, Node, make_node
from tests.support import MovableClock, ThreadServer, fresh_postgres_database, live_server

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
NEW_PASSWORD = "a brand new passphrase"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Web:
    """One of the two apps, with a user who may log in and the CLI that manages users."""

    kind: str
    app: Flask
    clock: MovableClock
    user: str
    password: str
    cli: click.Group
    accounts: str  # the CLI group that manages users: ``officer`` or ``user``
    node: Node | None = None  # the node's fixture (API tokens), for the node

    @property
    def instance(self) -> str:
        return self.app.instance_path

    def csrf(self, client: Any, path: str = "/login") -> str:
        found = _TOKEN.search(client.get(path).get_data(as_text=True))
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def login(
        self, client: FlaskClient, *, user: str | None = None, password: str | None = None,
        query: str = "",
    ) -> Any:  # fmt: skip
        token = self.csrf(client)
        return client.post(
            "/login" + query,
            data={"username": user or self.user, "password": password or self.password,
                  "csrf_token": token},
        )  # fmt: skip

    def logged_in(self, client: FlaskClient) -> bool:
        r = client.get("/")
        return r.status_code == 200 and "/login" not in r.headers.get("Location", "")

    def session_cookie(self, client: FlaskClient) -> str:
        cookie = client.get_cookie(self.app.config["SESSION_COOKIE_NAME"])
        assert cookie is not None
        return cookie.value

    def replay(self, cookie: str) -> FlaskClient:
        """A fresh browser that carries only the stolen cookie."""
        thief = self.app.test_client()
        thief.set_cookie(self.app.config["SESSION_COOKIE_NAME"], cookie)
        return thief

    def run_cli(self, *args: str, env: dict[str, str] | None = None) -> Any:
        return CliRunner().invoke(self.cli, ["--instance", self.instance, *args], env=env)


def _make(kind: str, tmp_path: Path, clock: MovableClock, **config: Any) -> Web:
    if kind == "node":
        node = make_node(tmp_path / "node", clock, **config)
        user = OFFICERS["receiver"][0]
        return Web(kind, node.app, clock, user, PASSWORD, node_cli, "officer", node)
    hub = make_hub(tmp_path / "hub", clock, **config)
    return Web(kind, hub.app, clock, "lan.pham", HUB_PASSWORD, hub_cli, "user")


@pytest.fixture(params=["node", "hub"])
def web(request: pytest.FixtureRequest, tmp_path: Path, hub_clock: MovableClock) -> Iterator[Web]:
    w = _make(request.param, tmp_path, hub_clock)
    yield w
    w.app.extensions["db"].engine.dispose()


# ---------------------------------------------------------------------- 1. open redirect


def _where_a_browser_goes(location: str) -> tuple[str, str]:
    """(scheme, host) a browser would take from ``Location``: it drops tabs and newlines and
    reads a backslash as a slash."""
    cleaned = re.sub(r"[\t\r\n]", "", location).replace("\\", "/")
    parts = urlsplit(cleaned)
    return parts.scheme, parts.netloc


EVIL_NEXT = [
    "/%09/evil.example/phish",
    "//evil.example/phish",
    "/%5Cevil.example/phish",
    "%5C%5Cevil.example",
    "/%0D%0A/evil.example",
    "https://evil.example/phish",
    "https:evil.example",
    "javascript:alert(1)",
    "/%2F/evil.example",
    "%2F%2Fevil.example",
    "/ /evil.example",
    "/%00/evil.example",
]


@pytest.mark.parametrize("evil", EVIL_NEXT)
def test_login_never_sends_the_user_to_another_site(web: Web, evil: str) -> None:
    """Attack: a phishing link to the real login page with ``?next=`` pointing elsewhere,
    spelled so that a naive "starts with one slash" check passes (a tab, a backslash, an
    encoded slash). Must hold: after logging in, the browser stays on this site."""
    client = web.app.test_client()
    r = web.login(client, query="?next=" + evil)
    assert r.status_code == 302
    location = r.headers["Location"]
    scheme, host = _where_a_browser_goes(location)
    assert scheme in ("", "http") and host in ("", "localhost"), location
    assert not re.search(r"[\x00-\x1f\\]", location), location


def test_login_still_returns_to_the_local_page_asked_for(web: Web) -> None:
    """The defence must not break the ordinary case: ``next`` a local page with a query."""
    r = web.login(web.app.test_client(), query="?next=" + quote("/dossiers?q=an&page=2"))
    assert r.status_code == 302 and r.headers["Location"] == "/dossiers?q=an&page=2"


def test_the_language_switch_never_sends_the_user_to_another_site(tmp_path: Path,
                                                                   hub_clock: MovableClock) -> None:  # fmt: skip
    """Attack: a cross-site page cannot post the form (CSRF), but a page of this site that
    echoes ``next`` could; the node's language switch takes ``next`` from its form. Must
    hold: whatever ``next`` says, the answer stays on this site."""
    web = _make("node", tmp_path, hub_clock)
    client = web.app.test_client()
    token = web.csrf(client)
    for evil in ("/\t/evil.example", "/\\evil.example", "//evil.example", "https://evil.example"):
        r = client.post("/language/en", data={"csrf_token": token, "next": evil})
        scheme, host = _where_a_browser_goes(r.headers["Location"])
        assert scheme in ("", "http") and host in ("", "localhost"), r.headers["Location"]


# ---------------------------------------------------------------------- 2. sessions


def test_a_cookie_replayed_after_logout_is_not_logged_in(web: Web) -> None:
    """Attack: someone copies the session cookie (a shared desk computer, a proxy log) and
    replays it after the officer logged out. Must hold: logging out ends the session on the
    server; the old cookie is worth nothing."""
    client = web.app.test_client()
    assert web.login(client).status_code == 302
    stolen = web.session_cookie(client)
    assert web.logged_in(web.replay(stolen))  # the copy works while the session lives
    client.post("/logout", data={"csrf_token": web.csrf(client, "/")})
    assert not web.logged_in(client)
    assert not web.logged_in(web.replay(stolen))


def test_a_cookie_replayed_after_a_password_change_is_not_logged_in(web: Web) -> None:
    """Attack: the thief holds a live cookie; the officer notices and changes the password
    from another computer. Must hold: every other session of that user ends at once; the
    one that changed it goes on; the new password works and the old one does not."""
    thief_source = web.app.test_client()
    assert web.login(thief_source).status_code == 302
    stolen = web.session_cookie(thief_source)
    owner = web.app.test_client()
    assert web.login(owner).status_code == 302
    page = owner.get("/account/password")
    assert page.status_code == 200
    token = web.csrf(owner, "/account/password")
    r = owner.post("/account/password", data={"csrf_token": token,
                                              "current_password": "not my password",
                                              "new_password": NEW_PASSWORD,
                                              "confirm_password": NEW_PASSWORD})  # fmt: skip
    assert r.status_code == 400  # the current password is checked first
    assert web.logged_in(web.replay(stolen))
    r = owner.post("/account/password", data={"csrf_token": token,
                                              "current_password": web.password,
                                              "new_password": NEW_PASSWORD,
                                              "confirm_password": NEW_PASSWORD})  # fmt: skip
    assert r.status_code == 302
    assert not web.logged_in(web.replay(stolen))
    assert web.logged_in(owner)
    assert web.login(web.app.test_client()).status_code == 401
    assert web.login(web.app.test_client(), password=NEW_PASSWORD).status_code == 302


def test_a_short_new_password_is_refused_and_changes_nothing(web: Web) -> None:
    """The password change names the field and the problem, and stores nothing on error."""
    owner = web.app.test_client()
    web.login(owner)
    token = web.csrf(owner, "/account/password")
    r = owner.post("/account/password", data={"csrf_token": token,
                                              "current_password": web.password,
                                              "new_password": "short", "confirm_password": "short"})  # fmt: skip
    assert r.status_code == 400 and "10" in r.get_data(as_text=True)
    assert web.login(web.app.test_client()).status_code == 302


@pytest.mark.parametrize("how", ["deactivate", "reset-password"])
def test_a_cookie_replayed_after_deactivation_or_reset_is_not_logged_in(web: Web, how: str) -> None:
    """Attack: an officer leaves (or a password leaked) and their browser, or a copy of its
    cookie, stays logged in. Must hold: ``deactivate`` / ``reset-password`` on the CLI ends
    every session of that user at once; a deactivated user cannot log in again."""
    client = web.app.test_client()
    assert web.login(client).status_code == 302
    stolen = web.session_cookie(client)
    args = [web.accounts, how, web.user]
    if how == "reset-password":
        args += ["--password", NEW_PASSWORD]
    done = web.run_cli(*args)
    assert done.exit_code == 0, done.output
    assert not web.logged_in(client)
    assert not web.logged_in(web.replay(stolen))
    assert web.login(web.app.test_client()).status_code == 401
    again = web.login(web.app.test_client(), password=NEW_PASSWORD).status_code
    assert again == (302 if how == "reset-password" else 401)
    assert web.run_cli(web.accounts, how, "nobody.here", "--password", NEW_PASSWORD).exit_code != 0


def _cookie_payload(cookie: str) -> str:
    """What the browser can read in Flask's signed cookie (it is signed, not encrypted)."""
    data = cookie.split(".")[0] if not cookie.startswith(".") else cookie[1:].split(".")[0]
    raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    if cookie.startswith("."):
        raw = zlib.decompress(raw)
    return raw.decode()


def test_the_cookie_carries_nothing_derived_from_the_password(web: Web) -> None:
    """Attack: read the cookie (signed, not encrypted) to learn about the password hash,
    then guess offline. Must hold: the cookie holds a random session id, nothing derived
    from the password; the database keeps only a hash of that id."""
    from sqlalchemy import text

    client = web.app.test_client()
    web.login(client)
    payload = json.loads(_cookie_payload(web.session_cookie(client)))
    table = "officer" if web.kind == "node" else "hub_user"
    with web.app.extensions["db"].read() as s:
        pw_hash = s.execute(text(f"SELECT password_hash FROM {table} WHERE username = :u"),
                            {"u": web.user}).scalar_one()  # fmt: skip
        stored = s.execute(text("SELECT id FROM web_session")).scalars().all()
    text_of_cookie = json.dumps(payload)
    for i in range(0, len(pw_hash) - 8):
        assert pw_hash[i : i + 8] not in text_of_cookie
    assert "pw" not in payload
    sid = payload.get("sid")
    assert isinstance(sid, str) and len(sid) >= 32
    assert sid not in stored and len(stored) == 1


def test_a_session_ends_after_its_lifetime_on_the_server(web: Web) -> None:
    """Attack: keep a copied cookie and use it days later. Must hold: the server ends the
    session after ``PERMANENT_SESSION_LIFETIME`` whatever the cookie says (the server's
    own time, ``SESSION_CLOCK``, not the records' clock)."""
    now = [datetime.now(UTC)]
    web.app.config["SESSION_CLOCK"] = lambda: now[0]
    client = web.app.test_client()
    web.login(client)
    stolen = web.session_cookie(client)
    web.clock.advance(days=3)  # the records' clock moves: sessions do not care
    now[0] += timedelta(hours=7, minutes=59)
    assert web.logged_in(web.replay(stolen))
    now[0] += timedelta(minutes=2)
    assert not web.logged_in(web.replay(stolen))


# ---------------------------------------------------------------------- 3. headers


def test_every_page_forbids_framing_sniffing_and_foreign_or_inline_script(web: Web) -> None:
    """Attack: frame the desk in a page of another site (clickjacking), have a file read as
    script (sniffing), inject a script through any reflected text. Must hold: every answer
    carries a CSP without inline script, ``frame-ancestors 'none'`` and X-Frame-Options
    DENY, ``nosniff``, and a referrer policy that keeps URLs on this site."""
    client = web.app.test_client()
    answers = [client.get("/login"), client.get("/no-such-page"), client.get("/status")]
    web.login(client)
    answers += [client.get("/"), client.get("/account/password")]
    for r in answers:
        csp = r.headers.get("Content-Security-Policy", "")
        directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
        assert directives.get("default-src") == ["'self'"], csp
        assert "script-src" not in directives or "'unsafe-inline'" not in directives["script-src"]
        assert "'unsafe-inline'" not in directives.get("style-src", [])
        assert directives.get("frame-ancestors") == ["'none'"], csp
        assert directives.get("object-src") == ["'none'"], csp
        assert directives.get("base-uri") in (["'none'"], ["'self'"]), csp
        assert directives.get("form-action") == ["'self'"], csp
        assert r.headers.get("X-Frame-Options") == "DENY"
        assert r.headers.get("X-Content-Type-Options") == "nosniff"
        assert r.headers.get("Referrer-Policy") in ("same-origin", "no-referrer")


TEMPLATES = [
    path
    for package in ("commune_node", "central_hub", "common_web")
    for path in sorted((ROOT / package / "templates").glob("*.html"))
]


@pytest.mark.parametrize("template", TEMPLATES, ids=[f"{p.parent.parent.name}/{p.name}"
                                                     for p in TEMPLATES])  # fmt: skip
def test_no_template_has_inline_script_or_style(template: Path) -> None:
    """The CSP forbids inline script and style; a template that had any would break under
    it. Must hold: scripts are files (``<script src>``; JSON data blocks are not script),
    no ``on…=`` handlers, no ``javascript:`` links, no ``style`` attributes or elements."""
    html = template.read_text(encoding="utf-8")
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, f"{template.name}: {tag}"
    assert not re.search(r"\son[a-z]+\s*=", html), template.name
    assert "javascript:" not in html.lower(), template.name
    assert not re.search(r"\sstyle\s*=|<style\b", html), template.name


@pytest.mark.parametrize("kind", ["node", "hub"])
def test_the_session_cookie_is_secure_by_default_outside_tests(kind: str, tmp_path: Path) -> None:
    """Attack: on a network path that can be made to speak plain HTTP (a captive portal, a
    downgrade), a cookie without ``Secure`` travels in clear. Must hold: ``Secure`` is the
    default of a real instance; only a setting (the demo, tests) turns it off."""
    from central_hub import create_app as hub_app
    from commune_node import create_app as node_app

    make = node_app if kind == "node" else hub_app
    assert (
        make({"SECRET_KEY": "x"}, instance_path=str(tmp_path / "a")).config["SESSION_COOKIE_SECURE"]
        is True
    )
    assert (
        make({"SECRET_KEY": "x", "TESTING": True}, instance_path=str(tmp_path / "b")).config[
            "SESSION_COOKIE_SECURE"
        ]
        is False
    )
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "config.py").write_text("SESSION_COOKIE_SECURE = False\n")
    app = make(None, instance_path=str(tmp_path / "c"))
    assert app.config["SESSION_COOKIE_SECURE"] is False
    app.extensions["db"].engine.dispose()


# ---------------------------------------------------------------------- 4. password guessing


def _burst(urls: list[str], user: str, n: int, password: str = "wrong guess 1") -> list[int]:
    """``n`` logins fired at once (each its own browser, its CSRF token fetched first),
    spread over ``urls``; the status of each."""
    sessions = []
    for i in range(n):
        s = requests.Session()
        url = urls[i % len(urls)]
        token = _TOKEN.search(s.get(url + "/login", timeout=30).text)
        assert token
        sessions.append((s, url, token.group(1)))
    start = threading.Barrier(n)
    codes: list[int] = []
    lock = threading.Lock()

    def fire(s: requests.Session, url: str, token: str) -> None:
        start.wait()
        r = s.post(url + "/login", data={"username": user, "password": password,
                                         "csrf_token": token}, timeout=60, allow_redirects=False)  # fmt: skip
        with lock:
            codes.append(r.status_code)

    threads = [threading.Thread(target=fire, args=args) for args in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s, _, _ in sessions:
        s.close()
    return codes


def test_a_concurrent_burst_gets_no_more_tries_than_the_limit(web: Web) -> None:
    """Attack: fire a dozen password guesses at the same moment, so that all are checked
    before any failure is counted. Must hold: at most ``LOGIN_ATTEMPTS`` (5) guesses are
    checked; the others are refused with 429 before the password is looked at."""
    server = ThreadServer(web.app, threads=12)
    try:
        codes = _burst([server.url], web.user, 12)
    finally:
        server.stop()
    assert sorted(codes) == [401] * 5 + [429] * 7, codes


def test_spraying_one_password_over_many_users_is_throttled_per_address(web: Web) -> None:
    """Attack: one common password tried once against each of many user names from one
    address, so no single user name reaches its limit. Must hold: the address is limited
    across user names (``LOGIN_ADDRESS_ATTEMPTS``); other addresses are not."""
    limit = web.app.config["LOGIN_ADDRESS_ATTEMPTS"]
    assert 5 < limit <= 50
    client = web.app.test_client()
    token = web.csrf(client)
    codes = [client.post("/login", data={"username": f"user.{i}", "password": "Matkhau@123",
                                         "csrf_token": token}).status_code
             for i in range(limit + 2)]  # fmt: skip
    assert codes == [401] * limit + [429, 429]
    elsewhere = web.app.test_client()
    r = elsewhere.post("/login", data={"username": web.user, "password": web.password,
                                       "csrf_token": web.csrf(elsewhere)},
                       environ_base={"REMOTE_ADDR": "10.9.8.7"})  # fmt: skip
    assert r.status_code == 302


def test_a_right_password_does_not_reset_the_count_of_the_address(web: Web) -> None:
    """Attack: an insider with a valid account sprays other users' passwords and logs in to
    their own account between guesses to reset the counter. Must hold: a success forgives
    only that user's own failures, never the address's guesses at others."""
    limit = web.app.config["LOGIN_ADDRESS_ATTEMPTS"]
    client = web.app.test_client()
    token = web.csrf(client)
    codes = []
    for i in range(limit):
        codes.append(client.post("/login", data={"username": f"user.{i}", "password": "x" * 10,
                                                 "csrf_token": token}).status_code)  # fmt: skip
        if i % 4 == 3 and i < limit - 1:
            assert web.login(web.app.test_client()).status_code == 302
    assert codes == [401] * limit
    r = client.post("/login", data={"username": "user.x", "password": "x" * 10,
                                    "csrf_token": token})  # fmt: skip
    assert r.status_code == 429


def test_the_limit_holds_across_a_restart(web: Web, tmp_path: Path) -> None:
    """Attack: make the server restart (or wait for one) to start counting from zero. Must
    hold: the failures are kept in the app's database; a new process sees them."""
    client = web.app.test_client()
    token = web.csrf(client)
    bad = {"username": web.user, "password": "wrong guess 2", "csrf_token": token}
    assert [client.post("/login", data=bad).status_code for _ in range(3)] == [401] * 3
    from central_hub import create_app as hub_app
    from commune_node import create_app as node_app

    make = node_app if web.kind == "node" else hub_app
    restarted = make({"TESTING": True, "SECRET_KEY": "test", "CLOCK": web.clock},
                     instance_path=web.instance)  # fmt: skip
    again = restarted.test_client()
    bad["csrf_token"] = web.csrf(again)
    assert [again.post("/login", data=bad).status_code for _ in range(3)] == [401, 401, 429]
    restarted.extensions["db"].engine.dispose()


@pytest.mark.postgres
def test_a_burst_spread_over_two_hub_processes_gets_no_more_tries_than_the_limit(
    tmp_path: Path, hub_clock: MovableClock
) -> None:
    """Attack: spread a concurrent burst over the hub processes behind a load balancer, each
    of which would count alone. Must hold: on one PostgreSQL, all processes share one count;
    at most ``LOGIN_ATTEMPTS`` guesses are checked in all."""
    from central_hub import create_app as hub_app

    with fresh_postgres_database() as url:
        first = make_hub(tmp_path / "hub", hub_clock, url)
        second = hub_app({"TESTING": True, "SECRET_KEY": "test", "CLOCK": hub_clock,
                          "DATABASE_URL": url}, instance_path=str(tmp_path / "hub"))  # fmt: skip
        servers = [ThreadServer(first.app, threads=8), ThreadServer(second, threads=8)]
        try:
            codes = _burst([s.url for s in servers], "lan.pham", 16)
        finally:
            for s in servers:
                s.stop()
            first.db.engine.dispose()
            second.extensions["db"].engine.dispose()
    assert sorted(codes) == [401] * 5 + [429] * 11, codes


# ---------------------------------------------------------------------- 5. enrolment over http


def test_enrol_refuses_a_plain_http_hub_address(tmp_path: Path, hub_clock: MovableClock) -> None:
    """Attack: an enrolment command with ``http://`` (a typo, or a tampered instruction)
    lets anyone on the path see and answer the enrolment: the node would learn a forged hub
    key. Must hold: a non-loopback ``http://`` address is refused unless ``--allow-http``
    says so, and even then a warning is printed; nothing is stored."""
    node = make_node(tmp_path / "node", hub_clock)
    runner = CliRunner()
    args = ["--instance", node.app.instance_path, "enrol", "--code", "AAAA-BBBB-CCCC", "--hub"]
    done = runner.invoke(node_cli, [*args, "http://hub.quangngai.example"])
    assert done.exit_code != 0
    assert "https://" in done.output and "--allow-http" in done.output
    done = runner.invoke(node_cli, [*args, "http://hub.quangngai.invalid", "--allow-http"])
    assert done.exit_code != 0  # the address does not exist: the link fails, not the check
    assert (
        "warning" in done.output.lower()
        and "--allow-http" not in done.output.split("warning", 1)[0].lower()
    )
    assert "not encrypted" in done.output.lower()
    from commune_node import db
    from commune_node.services.identity import get_setting

    with db.read_session(node.app) as s:
        assert get_setting(s, "hub_id", "") == ""
    node.app.extensions["db"].engine.dispose()


def test_enrol_over_http_on_loopback_works_with_a_warning(tmp_path: Path,
                                                          hub_clock: MovableClock) -> None:  # fmt: skip
    """The test set-ups run hub and nodes on 127.0.0.1 over plain HTTP: that still works
    (with a warning), so a loopback address is the one exception without ``--allow-http``."""
    from central_hub.services import nodes as hub_nodes

    hub = make_hub(tmp_path / "hub", hub_clock)
    node = make_node(tmp_path / "node", hub_clock)
    with hub.db.write() as s:
        code = hub_nodes.issue_code(s, commune_name="Xã Đăk Pxi", agency_code="000.00.12.H26",
                                    clock=hub_clock)  # fmt: skip
    with live_server(hub.app) as url:
        done = CliRunner().invoke(node_cli, ["--instance", node.app.instance_path, "enrol",
                                             "--hub", url, "--code", code])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "warning" in done.output.lower() and "Enrolled with" in done.output
    hub.db.engine.dispose()
    node.app.extensions["db"].engine.dispose()


# ---------------------------------------------------------------------- 3b. a real browser

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp/page-shots")
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _every_page(app: Flask, fill: dict[str, str]) -> list[str]:
    """Every GET page of ``app`` whose arguments ``fill`` names (not the JSON APIs)."""
    from flask import url_for

    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.endpoint.startswith(("api.", "sync.")):
            continue
        if rule.endpoint in ("static", "auth.logout") or "export" in rule.endpoint:
            continue
        if not set(rule.arguments) <= set(fill):
            continue
        with app.test_request_context():
            urls.append(url_for(rule.endpoint, **{k: fill[k] for k in rule.arguments}))
    return sorted(set(urls))


@pytest.mark.browser
@pytest.mark.parametrize("kind", ["node", "hub"])
def test_no_page_breaks_the_content_security_policy_in_chromium(
    kind: str, tmp_path: Path, hub_clock: MovableClock
) -> None:
    """The policy forbids inline script and style; a page that still had some would lose
    its behaviour or layout under it. Must hold: in a real Chromium, logged in with every
    role, no page of the app reports a CSP violation — and the pages still work (the
    intake page's search, the printed form's button). Screenshots at 400 and 1366 px."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    web = _make(kind, tmp_path, hub_clock)
    fill = {"kind": "01", "lang": "vi", "node_id": "0" * 32, "action": "processing",
            "alarm_id": "1", "alert_id": "1"}  # fmt: skip
    with web.app.app_context(), web.app.extensions["db"].write() as s:
        if kind == "node":
            from commune_node.services import officers

            officers.create_officer(s, username="all.roles", full_name="Mọi vai trò",
                                    roles=["receiver", "leader", "admin"], password=PASSWORD,
                                    clock=hub_clock)  # fmt: skip
        else:
            from central_hub.services import users

            users.create_user(s, username="all.roles", full_name="Mọi vai trò",
                              roles=["administrator", "hub_officer", "auditor"],
                              password=HUB_PASSWORD, clock=hub_clock)  # fmt: skip
    if web.node is not None:
        from tests.sync.helpers import take_in

        fill["code"] = take_in(web.node)
    else:
        fill["code"] = "000.00.12.H26-261123-0001"
    SHOTS.mkdir(exist_ok=True)
    violations: list[str] = []
    pages = 0
    with live_server(web.app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])  # fmt: skip
        for width in (1366, 400):
            context = browser.new_context(viewport={"width": width, "height": 900})
            context.add_init_script(RECORD_VIOLATIONS)
            page = context.new_page()
            page.on("console", partial(_csp_message, violations))
            page.goto(base + "/login")
            page.screenshot(path=str(SHOTS / f"{kind}-login-{width}.png"), full_page=True)
            page.fill("#username", "all.roles")
            page.fill("#password", web.password)
            page.locator("form:has(#password) button[type=submit]").click()
            page.wait_for_load_state()
            assert "/login" not in page.url
            for url in _every_page(web.app, fill):
                pages += 1
                page.goto(base + url)
                page.wait_for_load_state("load")
                violations += [f"{url}: {v}" for v in page.evaluate("window.__csp")]
                if url in ("/", "/account/password", "/dossiers/new") or fill["code"] in url:
                    name = url.strip("/").replace("/", "-").replace(fill["code"], "X") or "home"
                    page.screenshot(path=str(SHOTS / f"{kind}-{name}-{width}.png"),
                                    full_page=True)  # fmt: skip
            if kind == "node":  # the scripts that moved to files still do their work
                page.goto(base + "/dossiers/new")
                page.fill("#proc-q", "ket hon")
                page.wait_for_timeout(300)
                assert page.locator("#proc-results li").count() > 0
            seen, said = len(page.evaluate("window.__csp")), len(violations)
            page.evaluate("document.body.setAttribute('style', 'color: red')")  # the watch works
            assert len(page.evaluate("window.__csp")) == seen + 1
            page.wait_for_timeout(200)
            assert len(violations) > said
            del violations[said:]
            context.close()
        browser.close()
    assert pages >= (12 if kind == "node" else 10), pages
    assert not violations, violations


def _csp_message(into: list[str], message: Any) -> None:
    if "Content Security Policy" in message.text:
        into.append(message.text)
