"""The hub's pages, on SQLite and PostgreSQL: who may see and do what, and the administrator's
and hub officer's work end to end against real commune nodes over loopback HTTP."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import inspect, select

from central_hub.models import Alert, EnrolCode, HubDossier, LogRecord
from central_hub.models import Node as HubNode
from central_hub.services import nodes as hub_nodes
from common import protocol, record
from common.catalogue import load_sample_catalogue
from commune_node import db as node_db
from commune_node.models import Procedure
from commune_node.services.enrolment import EnrolFailed, enrol
from commune_node.services.hublink import SyncRefused
from commune_node.services.identity import get_setting
from commune_node.transport import HttpTransport
from commune_node.web.context import node_identity
from tests.hub.fixtures import HUB_PASSWORD, Hub
from tests.node.conftest import Node, make_node
from tests.support import live_server
from tests.sync.conftest import Site, sync
from tests.sync.helpers import CRIMINAL_RECORD, act, take_in

ADMIN, OFFICER, AUDITOR = "administrator", "hub_officer", "auditor"
USERS = {ADMIN: "admin", OFFICER: "lan.pham", AUDITOR: "thanh.tra"}
EVERYONE = frozenset({ADMIN, OFFICER, AUDITOR})
# Every page endpoint and the roles that may use it. A route missing here fails the matrix.
ACCESS: dict[str, frozenset[str]] = {
    "pages.home": EVERYONE,
    "pages.admin.nodes": frozenset({ADMIN, AUDITOR}),
    "pages.admin.node": frozenset({ADMIN, AUDITOR}),
    "pages.admin.revoke": frozenset({ADMIN}),
    "pages.admin.release": frozenset({ADMIN}),
    "pages.admin.enrol": frozenset({ADMIN}),
    "pages.admin.publish": frozenset({ADMIN}),
    "pages.admin.publish_catalogue": frozenset({ADMIN}),
    "pages.admin.publish_calendar": frozenset({ADMIN}),
    "pages.admin.alerts": frozenset({ADMIN}),
    "pages.admin.acknowledge": frozenset({ADMIN}),
    "pages.admin.users": frozenset({ADMIN}),
    "pages.admin.user_manage": frozenset({ADMIN}),
    "pages.admin.user_add": frozenset({ADMIN}),
    "pages.printing.apology": frozenset({ADMIN, OFFICER}),
    "pages.dossiers.dossier_list": EVERYONE,
    "pages.dossiers.queue": frozenset({OFFICER}),
    "pages.dossiers.dossier": EVERYONE,
    "pages.dossiers.act": frozenset({OFFICER}),
    "pages.portal.outbox": frozenset({ADMIN, AUDITOR}),
    "pages.portal.resend": frozenset({ADMIN}),
    "pages.audit.audit": frozenset({ADMIN, AUDITOR}),
    "pages.audit.records_bin": frozenset({ADMIN, AUDITOR}),
    "pages.privacy.processing_log": frozenset({ADMIN}),
    "pages.privacy.erasure": frozenset({ADMIN}),
    "pages.privacy.erase": frozenset({ADMIN}),
    "pages.privacy.citizen_form": frozenset({ADMIN}),
    "pages.privacy.citizen_report": frozenset({ADMIN}),
}
PRINTED = frozenset({"pages.printing.apology"})  # tested with their events in their own tests
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_NODE_ROW = re.compile(r'data-node="([0-9a-f]{32})"')


@pytest.fixture
def site(hub: Hub, tmp_path: Path) -> Iterator[Site]:
    with live_server(hub.app) as url:
        yield Site(hub, url, tmp_path, hub.clock)


class Person:
    """A browser-like client: keeps its session and sends the CSRF token with each form."""

    def __init__(self, app: Flask, role: str | None = None, base_url: str | None = None) -> None:
        self.client: FlaskClient = app.test_client()
        self.base_url = base_url or "http://localhost"
        self.token = ""
        if role is not None:
            self.login(USERS[role])

    def refresh_token(self, path: str = "/login") -> str:
        match = _TOKEN.search(self.get(path).text)
        assert match, f"no CSRF token on {path}"
        self.token = match.group(1)
        return self.token

    def login(self, username: str, password: str = HUB_PASSWORD) -> Any:
        self.refresh_token()
        r = self.client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": self.token},
            base_url=self.base_url,
        )
        self.token = ""  # logging in starts a new session, with a new token
        return r

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, base_url=self.base_url, **kw)

    def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        if not self.token:
            self.refresh_token("/")
        data = {**(data or {}), "csrf_token": self.token}
        return self.client.post(path, data=data, base_url=self.base_url, **kw)


def _ident(n: Node) -> Any:
    with n.app.app_context():
        return node_identity()


def forwarded_dossier(site: Site, n: Node) -> str:
    code = take_in(n, CRIMINAL_RECORD, name="Trần Thị Mai")
    act(n, code, "forwarded")
    sync(n)
    return code


def node_order(html: str) -> list[str]:
    return _NODE_ROW.findall(html)


# --------------------------------------------------------------------------- access


def test_anonymous_is_sent_to_login(hub: Hub) -> None:
    client = hub.app.test_client()
    for path in ("/", "/nodes", "/queue", "/dossiers", "/enrol", "/publish", "/alerts", "/audit"):
        r = client.get(path)
        assert r.status_code == 302
        assert r.headers["Location"].startswith("/login?next=")
    r = Person(hub.app, ADMIN).get("/", follow_redirects=True)
    assert r.status_code == 200 and "Tổng quan" in r.text


def test_access_matrix_covers_every_page_route(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    code = forwarded_dossier(site, a)
    args = {
        "node_id": _ident(a).node_id,
        "code": code,
        "action": "resolved",  # posted without its required result: refused, nothing written
        "alert_id": 999999,
        "message_id": 999999,
        "username": "lan.pham",
    }
    app = site.hub.app
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("pages.")]
    assert {r.endpoint for r in rules} == set(ACCESS), "every page route needs an ACCESS entry"
    people = {role: Person(app, role) for role in (ADMIN, OFFICER, AUDITOR)}
    anonymous = Person(app)
    anonymous.refresh_token()
    checked = 0
    for rule in rules:
        with app.test_request_context():
            url = url_for(rule.endpoint, **{k: args[k] for k in rule.arguments})
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for role, person in [*people.items(), (None, anonymous)]:
                if method == "GET":
                    r = person.get(url)
                else:
                    r = person.post(url, {"days_off": "not a date"})
                where = f"{method} {url} as {role}"
                if role is None:
                    assert r.status_code == 302, where
                    assert r.headers["Location"].startswith("/login"), where
                elif role in ACCESS[rule.endpoint]:
                    if method == "GET":  # a form needs its event: none yet here
                        assert r.status_code == (404 if rule.endpoint in PRINTED else 200), where
                    else:
                        assert r.status_code not in (400, 403) and r.status_code < 500, where
                        assert not r.headers.get("Location", "").startswith("/login"), where
                else:
                    assert r.status_code == 403, where
                checked += 1
    assert checked >= 4 * len(ACCESS)
    with site.hub.db.read() as s:
        assert s.get(HubDossier, code).status == 2  # type: ignore[union-attr]


def test_post_without_csrf_token_is_refused(hub: Hub) -> None:
    admin = Person(hub.app, ADMIN)
    r = admin.client.post("/enrol", data={"commune_name": "Xã A", "agency_code": "000.00.12.H26"})
    assert r.status_code == 400
    r = admin.client.post(
        "/enrol",
        data={"commune_name": "Xã A", "agency_code": "000.00.12.H26", "csrf_token": "forged"},
    )
    assert r.status_code == 400
    with hub.db.read() as s:
        assert s.scalars(select(EnrolCode)).first() is None
    assert admin.client.post("/logout").status_code == 400
    assert admin.get("/enrol").status_code == 200  # still logged in


def test_login_is_throttled_after_repeated_failures(hub: Hub) -> None:
    person = Person(hub.app)
    codes = [person.login("admin", "wrong password").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    assert person.login("admin").status_code == 429  # even the right password, for now
    assert Person(hub.app, OFFICER).get("/queue").status_code == 200  # others unaffected


# ---------------------------------------------------------------------- node health


def test_node_health_is_sorted_worst_first_and_quarantine_can_be_released(site: Site) -> None:
    a = site.node("a", "000.00.12.H26", commune="Xã Đăk Pxi")
    b = site.node("b", "000.00.13.H26", commune="Xã Đăk Pne")
    take_in(b)
    sync(b)
    site.clock.advance(hours=3)
    take_in(a)
    sync(a)  # a was heard from most recently…
    a_id, b_id = _ident(a).node_id, _ident(b).node_id
    with site.hub.db.write() as s:  # …but is quarantined: it comes first
        node = s.get(HubNode, a_id)
        assert node is not None
        hub_nodes.quarantine(s, node, "equivocation: two records at seq 1", site.clock())
    admin = Person(site.hub.app, ADMIN)
    page = admin.get("/nodes").text
    assert node_order(page) == [a_id, b_id]
    assert "Bị cách ly" in page and "3 giờ 0 phút trước" in page
    assert node_order(admin.get("/nodes?sort=contact").text) == [b_id, a_id]
    assert node_order(admin.get("/nodes?sort=contact&rev=1").text) == [a_id, b_id]
    assert node_order(admin.get("/nodes?sort=commune").text) == [b_id, a_id]  # Pne < Pxi
    auditor = Person(site.hub.app, AUDITOR)
    detail = auditor.get(f"/nodes/{a_id}").text
    assert "equivocation: two records at seq 1" in detail and "Gỡ cách ly" not in detail
    assert auditor.post(f"/nodes/{a_id}/release").status_code == 403

    admin.refresh_token(f"/nodes/{a_id}")
    r = admin.post(f"/nodes/{a_id}/release")
    assert r.status_code == 302
    with site.hub.db.read() as s:
        assert s.get(HubNode, a_id).state == "active"  # type: ignore[union-attr]
        released = s.scalars(select(Alert).where(Alert.kind == "quarantine_released")).one()
        assert released.node_id == a_id and "admin" in released.message
    assert node_order(admin.get("/nodes").text) == [b_id, a_id]  # now: longest silent first
    assert admin.post(f"/nodes/{a_id}/release").status_code == 409
    take_in(a)
    assert sync(a).pushed == 1  # the node may push again


def test_dead_letters_and_alerts_show_and_can_be_acknowledged(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    a_id = _ident(a).node_id
    with node_db.write_session(a.app) as s:  # a record the hub's rules refuse
        from commune_node.services import eventlog

        eventlog.append(
            s,
            identity=_ident(a),
            clock=site.clock,
            dossier="000.00.12.H26-261123-0099",
            type="dossier.resolved",
            actor="hoa.le",
            data={},
        )
    assert sync(a).dead == 1
    admin = Person(site.hub.app, ADMIN)
    detail = admin.get(f"/nodes/{a_id}").text
    with site.hub.db.read() as s:
        dead = s.scalars(select(LogRecord).where(LogRecord.dead)).one()
    assert dead.reason and dead.reason.split(":")[0] in detail and "Bản ghi bị từ chối" in detail
    alerts = admin.get("/alerts").text
    assert "dead_letter" not in alerts and "Bản ghi bị từ chối" in alerts
    with site.hub.db.read() as s:
        alert = s.scalars(select(Alert).where(Alert.kind == "dead_letter")).one()
    r = admin.post(f"/alerts/{alert.id}/ack")
    assert r.status_code == 302
    with site.hub.db.read() as s:
        assert s.get(Alert, alert.id).acknowledged  # type: ignore[union-attr]
    assert f"/alerts/{alert.id}/ack" not in admin.get("/alerts").text
    assert f"/alerts/{alert.id}/ack" not in admin.get("/alerts?all=1").text
    assert admin.post("/alerts/999999/ack").status_code == 404


# ------------------------------------------------------------------------ enrolment


def test_enrolment_code_from_the_page_works_once_and_only_its_hash_is_stored(
    site: Site,
) -> None:
    admin = Person(site.hub.app, ADMIN, base_url=site.url)  # the hub as the browser reaches it
    r = admin.post(
        "/enrol", {"commune_name": "Xã Ngọc Linh", "agency_code": "000.00.14.H26", "hours": "24"}
    )
    assert r.status_code == 201 and r.headers["Cache-Control"] == "no-store"
    match = re.search(r'<code id="enrol-code">([A-Z0-9-]+)</code>', r.text)
    assert match
    code = match.group(1)
    assert f"commune-node enrol --hub {site.url} --code {code}" in r.text
    with site.hub.db.read() as s:
        row = s.scalars(select(EnrolCode)).one()
        assert row.code_hash == hashlib.sha256(code.encode()).hexdigest()
        values = [str(getattr(row, c.key)) for c in inspect(EnrolCode).columns]
        assert not any(code in v or code.replace("-", "") in v for v in values)
    listing = admin.get("/enrol").text
    assert code not in listing and "Xã Ngọc Linh" in listing and "Chưa dùng" in listing

    n = make_node(site.tmp / "c", site.clock, agency="000.00.14.H26")
    with n.app.app_context():
        answer = enrol(
            node_db.database(n.app),
            identity=node_identity(),
            transport=HttpTransport(site.url),
            hub_url=site.url,
            code=code,
        )
    assert answer["commune_name"] == "Xã Ngọc Linh"
    take_in(n)
    assert sync(n).pushed == 1
    other = make_node(site.tmp / "d", site.clock, agency="000.00.14.H26")
    with other.app.app_context(), pytest.raises(EnrolFailed):
        enrol(
            node_db.database(other.app),
            identity=node_identity(),
            transport=HttpTransport(site.url),
            hub_url=site.url,
            code=code,
        )
    listing = admin.get("/enrol").text
    assert "Đã dùng" in listing and _ident(n).node_id[:12] in listing

    r = admin.post("/enrol", {"commune_name": "", "agency_code": "12.H26", "hours": "9999"})
    assert r.status_code == 422
    for field in ("commune_name", "hours"):
        assert f'data-field="{field}"' in r.text
    r = admin.post("/enrol", {"commune_name": "Xã B", "agency_code": "12.H26", "hours": "1"})
    assert r.status_code == 422 and 'data-field="agency_code"' in r.text


# ----------------------------------------------------------------------- revocation


def test_revocation_from_the_page_stops_the_node(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)
    a_id = _ident(a).node_id
    admin = Person(site.hub.app, ADMIN)
    page = admin.get(f"/nodes/{a_id}").text
    assert 'id="revoke"' in page
    admin.refresh_token(f"/nodes/{a_id}")
    r = admin.post(f"/nodes/{a_id}/revoke", {"key_id": a_id, "last_valid_seq": "x", "reason": ""})
    assert r.status_code == 422
    assert 'data-field="last_valid_seq"' in r.text and 'data-field="reason"' in r.text
    r = admin.post(
        f"/nodes/{a_id}/revoke", {"key_id": a_id, "last_valid_seq": "1", "reason": "laptop stolen"}
    )
    assert r.status_code == 302
    detail = admin.get(f"/nodes/{a_id}").text
    assert "Đã thu hồi" in detail and "laptop stolen" in detail and 'id="revoke"' not in detail
    take_in(a)
    with pytest.raises(SyncRefused) as info:
        sync(a)
    assert info.value.code == "key_revoked"
    with site.hub.db.read() as s:  # every node is told, in a record signed by the hub
        notice = s.scalars(select(LogRecord).where(LogRecord.type == "key.revoked")).one()
    rec = record.parse(notice.raw)
    assert rec.actor == "admin" and rec.data["last_valid_seq"] == 1 and rec.data["node"] == a_id


# ---------------------------------------------------------------------- publication


def test_publication_from_the_page_reaches_the_nodes(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    admin = Person(site.hub.app, ADMIN)
    admin.refresh_token("/publish")
    data = load_sample_catalogue().to_dict()
    bad = json.loads(json.dumps(data))
    bad["version"] = 2
    bad["procedures"][1]["limit_days"] = -3
    r = admin.post("/publish/catalogue", {"catalogue_json": json.dumps(bad)})
    assert r.status_code == 422 and "procedures[1].limit_days" in r.text
    r = admin.post("/publish/catalogue", {"catalogue_json": json.dumps(data)})  # version 1 again
    assert r.status_code == 422 and "<code>version</code>" in r.text
    data["version"] = 2
    data["procedures"][0]["name"] = "Chứng thực bản sao (tên mới)"
    r = admin.post("/publish/catalogue", {"catalogue_json": json.dumps(data, ensure_ascii=False)})
    assert r.status_code == 302
    assert "phiên bản 2" in admin.get("/publish").text

    r = admin.post("/publish/calendar", {"days_off": "2026-12-31\n31/12/2026", "working_days": ""})
    assert r.status_code == 422 and "Dòng 2" in r.text
    r = admin.post("/publish/calendar", {"days_off": "2026-12-31", "working_days": "2026-12-31"})
    assert r.status_code == 422
    r = admin.post("/publish/calendar", {"days_off": "2026-12-31\n", "working_days": "2027-01-09"})
    assert r.status_code == 302
    page = admin.get("/publish").text
    assert "2026-12-31" in page and "2027-01-09" in page

    result = sync(a)
    assert result.pulled >= 2
    code = data["procedures"][0]["code"]
    with node_db.read_session(a.app) as s:
        assert s.get(Procedure, code).name == "Chứng thực bản sao (tên mới)"  # type: ignore[union-attr]
        overrides = json.loads(get_setting(s, "calendar_overrides", "{}") or "{}")
    assert overrides == {"days_off": ["2026-12-31"], "working_days": ["2027-01-09"]}


# --------------------------------------------------------------- hub officer's work


def test_hub_officer_resolves_a_forwarded_dossier_and_the_node_pulls_it(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    code = forwarded_dossier(site, a)
    take_in(a)  # a commune-level dossier: not in the hub officer's queue
    officer = Person(site.hub.app, OFFICER)
    queue = officer.get("/queue").text
    assert code in queue and queue.count("<tr class=") == 1
    page = officer.get(f"/dossiers/{code}").text
    assert 'id="action-processing"' in page and 'id="action-resolved"' in page
    assert "Trần Thị Mai" in page and "records.bin" not in page

    officer.refresh_token(f"/dossiers/{code}")
    assert officer.post(f"/dossiers/{code}/actions/processing", {"note": ""}).status_code == 302
    r = officer.post(f"/dossiers/{code}/actions/resolved", {"result": "  "})
    assert r.status_code == 422 and 'data-field="result"' in r.text
    r = officer.post(f"/dossiers/{code}/actions/payment_requested", {"amount": "nhiều"})
    assert r.status_code == 422 and 'data-field="amount"' in r.text
    r = officer.post(
        f"/dossiers/{code}/actions/apologised", {"reason": "x", "new_due": "2026-11-28"}
    )
    assert r.status_code == 422 and 'data-field="new_due"' in r.text  # a Saturday
    assert officer.post(f"/dossiers/{code}/actions/rated", {}).status_code == 404

    auditor = Person(site.hub.app, AUDITOR)
    assert auditor.post(f"/dossiers/{code}/actions/resolved", {"result": "x"}).status_code == 403
    assert 'id="action-' not in auditor.get(f"/dossiers/{code}").text

    r = officer.post(
        f"/dossiers/{code}/actions/resolved",
        {"result": "Cấp Phiếu lý lịch tư pháp số 12/LLTP", "electronic_result": "1"},
    )
    assert r.status_code == 302
    page = officer.get(f"/dossiers/{code}").text
    assert "Giải quyết xong" in page and 'id="action-' not in page
    assert code not in officer.get("/queue").text

    sync(a)
    r = a.api(a.app.test_client(), "GET", f"/dossiers/{code}")
    assert r.json["dossier"]["status"]["code"] == 9

    raw = auditor.get(f"/dossiers/{code}/records.bin")
    assert raw.status_code == 200 and raw.mimetype == "application/octet-stream"
    frames = protocol.decode_frames(raw.data)
    with site.hub.db.read() as s:
        stored = list(
            s.scalars(
                select(LogRecord.raw).where(LogRecord.dossier_code == code).order_by(LogRecord.leaf)
            )
        )
    assert frames == stored
    assert [record.parse(f).type for f in frames] == [
        "dossier.received",
        "dossier.forwarded",
        "dossier.processing",
        "dossier.resolved",
    ]
    history = auditor.get(f"/dossiers/{code}").text
    assert history.index("Tiếp nhận hồ sơ") < history.index("Giải quyết xong")
    assert "base64" in history


def test_a_hub_officer_hands_a_dossier_to_a_colleague_who_finds_it_waiting(site: Site) -> None:
    from central_hub.services import users

    with site.hub.db.write() as session:
        users.create_user(session, username="hoa.vo", full_name="Võ Thị Hoa",
                          roles=["hub_officer"], password=HUB_PASSWORD, clock=site.clock)  # fmt: skip
    a = site.node("a", "000.00.12.H26")
    code = forwarded_dossier(site, a)
    lan = Person(site.hub.app, OFFICER)
    page = lan.get(f"/dossiers/{code}").text
    assert re.search(r'<option value="hoa.vo"\s*>Võ Thị Hoa</option>', page)
    assert 'value="thanh.tra"' not in page  # an auditor processes nothing

    lan.refresh_token(f"/dossiers/{code}")
    for wrong in ("thanh.tra", "nobody.here"):
        r = lan.post(f"/dossiers/{code}/actions/processing", {"recipient": wrong})
        assert r.status_code == 422 and 'data-field="recipient"' in r.text, wrong
    with site.hub.db.read() as s:
        assert s.scalar(select(LogRecord).where(LogRecord.dossier_code == code,
                                                LogRecord.type == "dossier.processing")) is None  # fmt: skip
    assert (
        lan.post(f"/dossiers/{code}/actions/processing", {"recipient": "hoa.vo"}).status_code == 302
    )

    hoa = Person(site.hub.app)
    hoa.login("hoa.vo")
    queue = hoa.get("/queue").text
    assert 'id="waiting-for-me"' in queue
    assert code in queue[queue.index('id="waiting-for-me"') : queue.index("</section>")]
    assert 'id="waiting-for-me"' not in lan.get("/queue").text  # handed on: not hers

    sync(a)  # the commune's form 06 names the hub officer, not her user name
    from tests.node.desk import login

    desk = a.app.test_client()
    login(desk, "receiver")
    slip = desk.get(f"/print/06/{code}").text
    assert "Võ Thị Hoa" in slip and "hoa.vo" not in slip


def test_dossier_list_filters_and_puts_overdue_first(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    b = site.node("b", "000.00.13.H26", commune="Xã Đăk Pne")
    late = take_in(b)  # commune level: 3 working days
    sync(b)
    site.clock.advance(days=10)
    forwarded = forwarded_dossier(site, a)  # 10 working days from now
    withdrawn = take_in(a)
    act(a, withdrawn, "withdrawn", reason="Công dân rút hồ sơ")
    sync(a)
    auditor = Person(site.hub.app, AUDITOR)
    page = auditor.get("/dossiers").text
    assert page.index(late) < page.index(forwarded) < page.index(withdrawn)
    assert 'class="overdue"' in page and "Quá hạn" in page
    only_a = auditor.get(f"/dossiers?node={_ident(a).node_id}").text
    assert late not in only_a and forwarded in only_a and withdrawn in only_a
    overdue = auditor.get("/dossiers?overdue=1").text
    assert late in overdue and forwarded not in overdue
    assert forwarded in auditor.get("/dossiers?forwarded=yes").text
    assert forwarded not in auditor.get("/dossiers?forwarded=no").text
    by_status = auditor.get("/dossiers?status=7").text
    assert withdrawn in by_status and late not in by_status
    assert auditor.get("/dossiers?status=zz&page=-1").status_code == 200
    home = auditor.get("/").text
    assert "Hồ sơ liên thông quá hạn" in home


def test_reports_are_in_the_menu_of_those_who_may_read_them(hub: Hub) -> None:
    for role, shown in ((ADMIN, True), (AUDITOR, True), (OFFICER, False)):
        home = Person(hub.app, role).get("/").text
        assert ('href="/reports/"' in home) is shown, role


def test_admins_are_told_when_no_gateway_sends_citizens_notifications(hub: Hub) -> None:
    admin = Person(hub.app, ADMIN)
    home = admin.get("/").text
    assert 'id="no-gateway"' in home and "No SMS, e-mail gateway" in home
    assert 'id="no-gateway"' not in Person(hub.app, OFFICER).get("/").text
    hub.app.config["NOTIFY_WEBHOOK_URL"] = "http://127.0.0.1:9/sms"
    home = admin.get("/").text
    assert 'id="no-gateway"' in home and "No e-mail gateway" in home
    hub.app.config["NOTIFY_SMTP_HOST"] = "127.0.0.1"
    assert 'id="no-gateway"' not in admin.get("/").text


def test_the_hub_prints_its_own_apology_in_the_name_of_the_upper_level(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    code = forwarded_dossier(site, a)
    officer = Person(site.hub.app, OFFICER)
    assert officer.get(f"/print/04/{code}").status_code == 404  # no apology yet
    assert 'id="print-04"' not in officer.get(f"/dossiers/{code}").text
    officer.refresh_token(f"/dossiers/{code}")
    assert officer.post(f"/dossiers/{code}/actions/processing", {}).status_code == 302
    r = officer.post(
        f"/dossiers/{code}/actions/apologised",
        {"reason": "Chờ kết quả xác minh của Công an tỉnh", "new_due": "2026-12-10"},
    )
    assert r.status_code == 302, r.text[:500]
    page = officer.get(f"/dossiers/{code}").text
    assert 'id="print-04"' in page
    form = officer.get(f"/print/04/{code}").text
    assert "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết hồ sơ" in form
    assert "UBND TỈNH QUẢNG NGÃI" in form and "UBND tỉnh Quảng Ngãi xin lỗi" in form
    assert "Trần Thị Mai" in form and "Chờ kết quả xác minh của Công an tỉnh" in form
    assert "ngày 10/12/2026" in form and "Phạm Thị Lan" in form
    assert "UBND xã" not in form  # not the commune's apology
    auditor = Person(site.hub.app, AUDITOR)
    assert auditor.get(f"/print/04/{code}").status_code == 403
