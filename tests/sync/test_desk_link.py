"""The desk and its link to the hub: every page says when the hub cannot be reached (and
since when), the sync retries soon after the link returns (a cheap probe, a short back-off
cap), and the commune's timeline names a hub officer by her full name."""

from __future__ import annotations

import contextlib
import re
import time

from commune_node import scheduler
from commune_node.scheduler import SyncState, run_sync
from commune_node.transport import HttpTransport, LinkError
from tests.node.desk import login
from tests.sync.conftest import Site, sync
from tests.sync.helpers import CRIMINAL_RECORD, act, take_in

DEAD = "http://127.0.0.1:9"  # nothing listens on the discard port: the link is down


def test_every_page_says_the_hub_is_unreachable_and_since_when(site: Site) -> None:
    n = site.node("a", "000.00.12.H26")
    code = take_in(n)
    sync(n)
    client = n.app.test_client()
    login(client, "receiver")
    assert 'id="hub-offline"' not in client.get("/").get_data(as_text=True)

    live = n.app.config["SYNC_TRANSPORT"]
    n.app.config["SYNC_TRANSPORT"] = lambda: HttpTransport(DEAD, connect_timeout=1)
    site.clock.advance(hours=2)
    try:
        run_sync(n.app)
    except LinkError:
        pass
    else:
        raise AssertionError("a sync over a dead link must fail")
    for path in ("/", "/dossiers", f"/dossiers/{code}", "/dossiers/new", "/sync/"):
        page = client.get(path).get_data(as_text=True)
        banner = re.search(r'id="hub-offline">(.*?)</p>', page, re.S)
        assert banner is not None, path
        assert "09:00 23/11/2026" in banner.group(1), banner.group(1)  # the last good sync

    n.app.config["SYNC_TRANSPORT"] = live
    sync(n)
    assert 'id="hub-offline"' not in client.get("/").get_data(as_text=True)


def test_the_retry_waits_at_most_two_minutes_and_a_probe_ends_the_wait(site: Site) -> None:
    n = site.node("a", "000.00.12.H26")
    take_in(n)
    state: SyncState = n.app.extensions["sync_state"]
    live = n.app.config["SYNC_TRANSPORT"]
    n.app.config["SYNC_TRANSPORT"] = lambda: HttpTransport(DEAD, connect_timeout=1)
    n.app.config["SYNC_INTERVAL"] = 60
    for _ in range(8):  # 60 s * 2**8 would be hours
        with contextlib.suppress(LinkError):
            run_sync(n.app)
    wait = state.not_before - time.monotonic()
    assert state.failures == 8 and 0 < wait <= scheduler.MAX_BACKOFF
    assert scheduler.MAX_BACKOFF <= 120

    scheduler._tick(n.app)  # still down: the probe fails, nothing else is tried
    assert state.failures == 8 and not scheduler.probe(n.app)

    n.app.config["SYNC_TRANSPORT"] = live  # the link is back, well before the wait ends
    assert scheduler.probe(n.app)
    scheduler._tick(n.app)
    assert state.failures == 0 and state.last_result is not None
    assert state.last_result.pushed >= 1


def test_the_commune_timeline_names_the_hub_officer(site: Site) -> None:
    from central_hub.services import processing
    from common.calendar import WorkingCalendar

    n = site.node("a", "000.00.12.H26")
    code = take_in(n, CRIMINAL_RECORD)
    act(n, code, "forwarded")
    sync(n)
    with site.hub.db.write() as s:
        processing.act(s, code, "processing", {}, hub=site.hub.identity, clock=site.clock,
                       actor="lan.pham", calendar=WorkingCalendar())  # fmt: skip
    sync(n)
    client = n.app.test_client()
    login(client, "receiver")
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    who = re.findall(r'<span class="who">([^<]*)</span>', page)
    assert who[-1] == "Phạm Thị Lan" and "lan.pham" not in who
    slip = client.get(f"/print/06/{code}").get_data(as_text=True)
    assert "Phạm Thị Lan" in slip
