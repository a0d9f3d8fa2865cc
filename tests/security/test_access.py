"""Access control, route by route and role by role, built from ``app.url_map`` so a new
route cannot escape: the node's pages and API for anonymous, receiving officer, leader and
node admin; the hub's sync API for an enrolled node, another commune's node and nobody (the
hub's pages: ``tests/hub/test_pages.py``). Also: CSRF on every state-changing form, session
cookie flags, login rate limits, a commune cannot read or write another commune's dossiers
through the hub, the public status look-up shows no personal data, and no personal data in
logs or URLs over a whole intake → sync → forward round trip."""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select

from central_hub.models import LogRecord
from central_hub.services import processing
from common import keys, protocol, record
from common.calendar import WorkingCalendar
from commune_node import db as node_db
from commune_node.services import eventlog
from commune_node.web.context import node_identity
from tests.node.conftest import OFFICERS, PASSWORD, Node
from tests.node.desk import csrf, login
from tests.sync.conftest import Site, sync
from tests.sync.helpers import CRIMINAL_RECORD, act, take_in

ANON, RECEIVER, LEADER, ADMIN = None, "receiver", "leader", "admin"
OFFICER_ROLES = (RECEIVER, LEADER, ADMIN)
ALL = frozenset(OFFICER_ROLES)
PUBLIC = "public"  # anyone, no login
TOKEN = "token"  # the API: any officer's bearer token, never the session cookie
# Every node endpoint and who may use it. A route missing here fails the matrix.
NODE_ACCESS: dict[str, Any] = {
    "static": PUBLIC,
    "common_web.static": PUBLIC,
    "favicon": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": PUBLIC,
    "auth.set_language": PUBLIC,
    "auth.change_password": ALL,
    "public.status_form": PUBLIC,
    "public.status_lookup_post": PUBLIC,
    "api.openapi": PUBLIC,
    "pages.home": ALL,
    "pages.dossier_list": ALL,
    "pages.dossier_page": ALL,
    "pages.dossier_action": ALL,  # the lifecycle rules then decide per action and role
    "pages.intake.new": frozenset({RECEIVER}),
    "pages.intake.create": frozenset({RECEIVER}),
    "pages.admin.officer_list": frozenset({ADMIN}),
    "pages.admin.officer_add": frozenset({ADMIN}),
    "pages.admin.officer_manage": frozenset({ADMIN}),
    "printing.form": ALL,
    "printing.book": ALL,
    "syncpage.show": ALL,
    "syncpage.sync_now": ALL,
    "syncpage.acknowledge": frozenset({LEADER, ADMIN}),
    "reports.index": frozenset({LEADER, ADMIN}),
    "reports.drill": frozenset({LEADER, ADMIN}),
    "reports.export": frozenset({LEADER, ADMIN}),
    "reports.printable": frozenset({LEADER, ADMIN}),
    "api.node_info": TOKEN,
    "api.list_procedures": TOKEN,
    "api.create_dossier": TOKEN,
    "api.list_dossiers": TOKEN,
    "api.get_dossier": TOKEN,
    "api.apply_action": TOKEN,
    "api.read_events": TOKEN,
    "privacy.processing_log": frozenset({ADMIN}),
    "privacy.erasure": frozenset({ADMIN}),
    "privacy.erase": frozenset({ADMIN}),
    "privacy.citizen_form": frozenset({LEADER, ADMIN}),
    "privacy.citizen_report": frozenset({LEADER, ADMIN}),
}
HUB_SIGNED = {
    "sync.status",
    "sync.push",
    "sync.refill",
    "sync.inclusion",
    "sync.consistency",
    "sync.pull",
    "sync.own_records",
    "sync.enrolment",
    "sync.history",
}
HUB_OPEN = {"sync.openapi", "sync.hello", "sync.enrol", "sync.reintroduce"}


def _args(code: str) -> dict[str, Any]:
    return {"code": code, "action": "processing", "kind": "01", "alarm_id": 999999,
            "lang": "vi", "filename": "desk.css", "fmt": "csv", "username": "nobody"}  # fmt: skip


def test_every_node_route_for_every_role(node: Node) -> None:
    app = node.app
    rules = [r for r in app.url_map.iter_rules()]
    missing = {r.endpoint for r in rules} - set(NODE_ACCESS)
    assert not missing, f"new node routes need an entry in NODE_ACCESS: {missing}"
    code = take_in_api(node)
    people: dict[str | None, FlaskClient] = {ANON: app.test_client()}
    for role in OFFICER_ROLES:
        people[role] = app.test_client()
        login(people[role], role)
    checked = 0
    for rule in rules:
        with app.test_request_context():
            url = url_for(rule.endpoint, **{k: _args(code)[k] for k in rule.arguments})
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            expected = NODE_ACCESS[rule.endpoint]
            for role, client in people.items():
                where = f"{method} {url} as {role}"
                data = {"csrf_token": csrf_of(client)} if method == "POST" else None
                r = client.open(url, method=method, data=data)
                if expected == PUBLIC:
                    assert r.status_code < 500 and r.status_code != 403, where
                elif expected == TOKEN:
                    assert r.status_code == 401, where  # a session cookie is never enough
                    assert r.json["error"]["code"] == "unauthorised", where
                    token = node.tokens[role] if role else "dn_forged" + secrets.token_hex(8)
                    r = client.open(url, method=method, json={} if method == "POST" else None,
                                    headers={"Authorization": f"Bearer {token}"})  # fmt: skip
                    assert (r.status_code == 401) == (role is None), where
                    assert r.status_code < 500, where
                elif role is None:
                    assert r.status_code == 302 and "/login" in r.headers["Location"], where
                elif role in expected:
                    assert r.status_code not in (401, 403) and r.status_code < 500, where
                    assert "/login" not in r.headers.get("Location", ""), where
                else:
                    assert r.status_code == 403, where
                r.close()
                checked += 1
                if rule.endpoint == "auth.logout" and role is not None:
                    login(client, role)  # that one did what it says
    assert checked >= 4 * len(NODE_ACCESS)


def take_in_api(node: Node) -> str:
    from tests.sync.helpers import take_in as api_take_in

    return api_take_in(node)


def csrf_of(client: FlaskClient) -> str:
    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    return match.group(1) if match else ""


def test_every_state_changing_node_form_needs_the_csrf_token(node: Node) -> None:
    code = take_in_api(node)
    client = node.app.test_client()
    login(client, ADMIN)
    posts = [r for r in node.app.url_map.iter_rules()
             if "POST" in (r.methods or set()) and not r.endpoint.startswith("api.")]  # fmt: skip
    assert len(posts) >= 10
    for rule in posts:
        with node.app.test_request_context():
            url = url_for(rule.endpoint, **{k: _args(code)[k] for k in rule.arguments})
        if rule.endpoint == "auth.login":
            r = client.post(url, data={"username": "admin", "password": PASSWORD})
        else:
            r = client.post(url, data={"reason": "x"})
        assert r.status_code == 400, f"POST {url} without a CSRF token: {r.status_code}"
        r = client.post(url, data={"csrf_token": "forged"})
        assert r.status_code == 400, f"POST {url} with a forged token: {r.status_code}"


@pytest.mark.parametrize("which", ["node", "hub"])
def test_session_cookie_flags(which: str, node: Node, tmp_path: Any, hub_clock: Any) -> None:
    if which == "node":
        app: Flask = node.app
        user = OFFICERS["receiver"][0]
        password = PASSWORD
    else:
        from tests.hub.fixtures import HUB_PASSWORD, make_hub

        app = make_hub(tmp_path / "hub", hub_clock).app
        user, password = "admin", HUB_PASSWORD
    for secure in (False, True):
        app.config["SESSION_COOKIE_SECURE"] = secure
        client = app.test_client()
        token = csrf_of(client)
        r = client.post("/login", data={"username": user, "password": password,
                                        "csrf_token": token})  # fmt: skip
        assert r.status_code == 302
        cookies = [v for k, v in r.headers.items() if k == "Set-Cookie"]
        session = [c for c in cookies if c.split("=")[0].endswith("_session")]
        assert session, cookies
        flags = session[-1].lower()
        assert "httponly" in flags and "samesite=lax" in flags
        assert ("; secure" in flags) == secure


@pytest.mark.parametrize("which", ["node", "hub"])
def test_login_is_rate_limited(which: str, node: Node, tmp_path: Any, hub_clock: Any) -> None:
    if which == "node":
        app: Flask = node.app
        user = OFFICERS["leader"][0]
    else:
        from tests.hub.fixtures import make_hub

        app = make_hub(tmp_path / "hub", hub_clock).app
        user = "admin"
    client = app.test_client()
    codes = []
    for _ in range(7):
        codes.append(client.post("/login", data={"username": user, "password": "wrong guess",
                                                 "csrf_token": csrf_of(client)}).status_code)  # fmt: skip
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]


# ------------------------------------------------------------------ one commune, not another


def _ident(n: Node) -> Any:
    with n.app.app_context():
        return node_identity()


def _signed(
    site: Site, n: Node, method: str, path: str, body: bytes = b"", node: str | None = None
) -> Any:
    ident = _ident(n)
    headers = protocol.sign_request(ident.key, method=method, path=path, body=body,
                                    timestamp=int(site.clock().timestamp()),
                                    nonce=secrets.token_hex(16), node=node or ident.node_id)  # fmt: skip
    if method == "POST":
        headers["Content-Type"] = protocol.BATCH_CONTENT_TYPE
    return site.hub.app.test_client().open(path, method=method, data=body, headers=headers)


def test_hub_sync_routes_need_the_node_signature(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    rules = [r for r in site.hub.app.url_map.iter_rules() if r.endpoint.startswith("sync.")]
    assert {r.endpoint for r in rules} == HUB_SIGNED | HUB_OPEN, "classify the new sync route"
    client = site.hub.app.test_client()
    for rule in rules:
        method = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})[0]
        r = client.open(rule.rule + "?seq=1&size=1&old=1&new=1", method=method)
        if rule.endpoint in HUB_SIGNED:
            assert r.status_code == 401 and r.json["error"]["code"] == "missing_auth", rule.rule
            r = _signed(site, a, method, rule.rule)
            assert r.status_code not in (401, 403), rule.rule
        else:
            assert r.status_code < 500 and r.status_code != 401, rule.rule


def test_a_commune_cannot_read_or_write_another_communes_dossiers(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    b = site.node("b", "000.00.13.H26", commune="Xã Đăk Pne")
    code = take_in(a, CRIMINAL_RECORD, name="Trần Thị Mai")
    act(a, code, "forwarded")
    sync(a)
    sync(b)
    with site.hub.db.write() as s:  # the hub officer's record goes to a, and only to a
        processing.act(s, code, "processing", {}, hub=site.hub.identity, clock=site.clock,
                       actor="lan.pham", calendar=WorkingCalendar())  # fmt: skip
    r = _signed(site, b, "GET", "/sync/v1/pull?after=0&max_bytes=4194304")
    pulled = [record.parse(raw) for raw in protocol.decode_batch(r.data)]
    assert all(rec.dossier is None for rec in pulled)  # publications only: nothing of a's
    r = _signed(site, a, "GET", "/sync/v1/pull?after=0&max_bytes=4194304")
    assert code in {record.parse(raw).dossier for raw in protocol.decode_batch(r.data)}
    # b writes a record about a's dossier: stored as a dead letter, never applied
    with node_db.write_session(b.app) as s:
        eventlog.append(s, identity=_ident(b), clock=site.clock, dossier=code,
                        type="dossier.withdrawn", actor="hoa.le", data={"reason": "x"})  # fmt: skip
    assert sync(b).dead == 1
    with site.hub.db.read() as s:
        dead = s.scalars(select(LogRecord).where(LogRecord.dead)).one()
    # kept in b's chain only: not part of a's dossier history (test_attack_sync.py)
    assert dead.dossier_code is None and dead.node_id == _ident(b).node_id
    assert record.parse(dead.raw).dossier == code
    sync(a)
    r = a.api(a.app.test_client(), "GET", f"/dossiers/{code}")
    assert r.json["dossier"]["status"]["code"] == 4  # a's dossier untouched by b
    # b signs with its own key but claims to be a: refused
    r = _signed(site, b, "GET", "/sync/v1/status", node=_ident(a).node_id)
    assert r.status_code == 401 and r.json["error"]["code"] in (
        "unknown_key",
        "bad_request_signature",
    )
    # b pushes a record that names a as its writer: refused as foreign
    raw = b_record_claiming(site, a, b, code)
    r = _signed(site, b, "POST", "/sync/v1/push", protocol.encode_batch([raw]))
    assert r.status_code == 403 and r.json["error"]["code"] == "foreign_record"


def b_record_claiming(site: Site, a: Node, b: Node, code: str) -> bytes:
    """A record signed by b's key whose ``node`` field says a."""
    with node_db.read_session(b.app) as s:
        head = eventlog.head(s)
    assert head is not None
    rec = record.make(private_key=_ident(b).key, node=_ident(a).node_id, seq=head.seq + 1,
                      prev=head.record_id, at=site.clock(), anchor=None, dossier=code,
                      type="dossier.withdrawn", actor="hoa.le", data={"reason": "x"})  # fmt: skip
    return rec.raw


# ------------------------------------------------------------------ personal data


APPLICANT_NAME = "Hoàng Thị Bích Ngọc"
CCCD = "079199001122"
PHONE = "0987654321"


def test_no_personal_data_in_logs_urls_or_public_status(site: Site, caplog: Any) -> None:
    a = site.node("a", "000.00.12.H26")
    caplog.set_level(logging.DEBUG)
    client = a.app.test_client()
    login(client, RECEIVER)
    form = {
        "procedure": CRIMINAL_RECORD,
        "applicant_name": APPLICANT_NAME,
        "id_number": CCCD,
        "phone": PHONE,
        "address": "thôn 5",
        "documents": {"to_khai": {"original": 1}},
    }
    r = a.api(client, "POST", "/dossiers", json=form)
    assert r.status_code == 201
    code = r.json["dossier"]["code"]
    urls = [r.headers.get("Location", "")]
    act(a, code, "forwarded")
    sync(a)
    with site.hub.db.write() as s:
        processing.act(s, code, "processing", {}, hub=site.hub.identity, clock=site.clock,
                       actor="lan.pham", calendar=WorkingCalendar())  # fmt: skip
        processing.act(s, code, "resolved", {"result": "Cấp phiếu"}, hub=site.hub.identity,
                       clock=site.clock, actor="lan.pham", calendar=WorkingCalendar())  # fmt: skip
    sync(a)
    # the desk's pages and their links
    for path in ("/", "/dossiers", f"/dossiers/{code}", "/sync/"):
        page = client.get(path).get_data(as_text=True)
        urls += re.findall(r'(?:href|action)="([^"]+)"', page)
    # a failing sync and a failing request are logged too
    site_url = site.url
    from commune_node.transport import HttpTransport

    a.app.config["SYNC_TRANSPORT"] = lambda: HttpTransport("http://127.0.0.1:9", connect_timeout=1)
    client.post("/sync/now", data={"csrf_token": csrf(client.get("/sync/").get_data(as_text=True))})
    a.app.config["SYNC_TRANSPORT"] = lambda: HttpTransport(site_url)
    text = "\n".join(rec.getMessage() + str(rec.exc_text or "") for rec in caplog.records)
    for secret in (APPLICANT_NAME, CCCD, PHONE):
        assert secret not in text, f"{secret} in the logs"
        assert not any(secret in u for u in urls), f"{secret} in a URL"
    # the public status look-up (no login) shows the status, never the person
    if "public.status_form" in {r.endpoint for r in a.app.url_map.iter_rules()}:
        anon = a.app.test_client()
        for page in (anon.get(f"/status?code={code}").get_data(as_text=True),
                     anon.post("/status", data={"code": code, "digits": CCCD[-4:],
                               "csrf_token": csrf_of(anon)}).get_data(as_text=True)):  # fmt: skip
            for secret in (APPLICANT_NAME, CCCD, PHONE, "Bích Ngọc"):
                assert secret not in page, f"{secret} on the public status page"


def test_the_hub_pages_do_not_leak_a_cccd_into_urls(site: Site) -> None:
    from tests.hub.test_pages import Person

    a = site.node("a", "000.00.12.H26")
    code = take_in(a, CRIMINAL_RECORD, name=APPLICANT_NAME)
    act(a, code, "forwarded")
    sync(a)
    officer = Person(site.hub.app, "hub_officer")
    for path in ("/", "/queue", "/dossiers", f"/dossiers/{code}"):
        page = officer.get(path).text
        for url in re.findall(r'(?:href|action)="([^"]+)"', page):
            assert APPLICANT_NAME not in url and "062095001234" not in url


def test_keys_are_never_served(node: Node) -> None:
    client = node.app.test_client()
    for path in ("/static/../node_key.pem", "/node_key.pem", "/static/node_key.pem"):
        assert client.get(path).status_code == 404
    key = keys.private_to_pem(_ident(node).key)
    login(client, ADMIN)
    for path in ("/", "/sync/", "/admin/officers"):
        assert key not in client.get(path).data
