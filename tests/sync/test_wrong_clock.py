"""A commune laptop whose clock is years off (a dead CMOS battery): once the node has heard
the hub's time, records, dossier codes and due dates carry the hub-corrected date, every
page warns, the hub raises one ``clock_skew`` alert, and the audit passes — over real
HTTP, several communes on one hub."""

from __future__ import annotations

import io
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from central_hub.models import Alert
from central_hub.services import export
from common import record
from common.audit.report import Policy
from common.audit.verifier import verify_bundle
from commune_node import db as node_db
from commune_node.models import Event
from tests.node.desk import login
from tests.support import MovableClock
from tests.sync.conftest import Site, sync
from tests.sync.helpers import hub_records, take_in

YEARS = timedelta(days=30 * 365 + 7)


def wrong_clock_node(site: Site, name: str, agency: str, behind: timedelta):  # type: ignore[no-untyped-def]
    """A node on the site whose computer clock runs ``behind`` the hub's."""
    n = site.node(name, agency)
    wrong = MovableClock(site.clock() - behind)
    n.app.extensions["clock"].raw = wrong
    n.clock = wrong
    return n


def test_records_codes_and_due_dates_follow_the_hubs_date(site: Site) -> None:
    a = wrong_clock_node(site, "a", "000.00.12.H26", YEARS)
    b = site.node("b", "000.00.13.H26", commune="Xã Đăk Pne")
    hub_day = site.clock().astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    sync(a)  # the node hears the hub's time (a stale_timestamp answer, then the status)
    sync(b)
    code = take_in(a)
    assert f"-{hub_day:%y%m%d}-" in code, code
    with node_db.read_session(a.app) as s:
        last = record.parse(s.scalars(select(Event.record).order_by(Event.seq.desc())).first())
    assert abs(last.at_time - site.clock()) < timedelta(minutes=5)
    assert last.data["due"][:4] == f"{site.clock():%Y}"
    # every page warns the officers
    client = a.app.test_client()
    login(client, "receiver")
    for path in ("/", "/sync/", "/dossiers/new"):
        page = client.get(path).get_data(as_text=True)
        assert "data-clock-skew" in page and "Đồng hồ của máy tính này lệch" in page, path
    sync(a)
    assert record.parse(hub_records(site.hub, node_id(a))[-1].raw).at_time == last.at_time
    # the auditor finds nothing backdated
    buf = io.BytesIO()
    with site.hub.db.read() as s:
        export.export_bundle(
            s, buf, hub=site.hub.identity, communes=None, since=None, until=None,
            clock=site.clock,
        )  # fmt: skip
    report = verify_bundle(buf.getvalue().splitlines(keepends=True), policy=Policy())
    assert report.ok, [f.as_dict() for f in report.findings]
    take_in(b)
    assert sync(b).pushed == 1
    page = b.app.test_client()
    login(page, "receiver")
    assert "data-clock-skew" not in page.get("/").get_data(as_text=True)


def node_id(n) -> str:  # type: ignore[no-untyped-def]
    with node_db.read_session(n.app) as s:
        return record.parse(s.scalars(select(Event.record).limit(1)).one()).node


def test_the_hub_alerts_on_records_dated_by_a_wrong_clock(site: Site) -> None:
    """A node that wrote records before it ever heard the hub's time (it cannot know its
    clock is wrong): the hub raises one clock_skew alert for its administrator."""
    n = wrong_clock_node(site, "late", "000.00.14.H26", -YEARS)  # years ahead
    take_in(n)
    take_in(n)
    sync(n)
    sync(n)
    with site.hub.db.read() as s:
        kinds = list(s.scalars(select(Alert.kind).where(Alert.kind == "clock_skew")))
    assert kinds == ["clock_skew"]
