"""Each link fault on its own, between a real node and a real hub (SQLite and PostgreSQL),
through :class:`FaultProxy`: what the sync does, what the node shows, and that the next
sync on a good link converges with nothing lost and nothing stored twice. The regression
tests of the bugs the campaign found are here too."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from central_hub.models import HubDossier
from commune_node import db as node_db
from commune_node.models import Dossier
from commune_node.scheduler import run_sync
from commune_node.services.backlog import acked_seq, queue_report
from commune_node.transport import HttpTransport, LinkError
from commune_node.web.context import node_identity
from tests.faults.conftest import ProxyFactory
from tests.faults.proxy import FaultProxy
from tests.node.conftest import Node
from tests.node.desk import csrf, login
from tests.sync.conftest import Site, sync
from tests.sync.helpers import act, hub_count, hub_records, take_in


def linked(
    site: Site, fault_proxy: ProxyFactory, name: str, agency: str
) -> tuple[Node, FaultProxy]:
    """A node enrolled with the hub whose every sync goes through its own fault proxy, with
    the node's own timeouts: a cut, a dropped answer or a down link fails at once whatever
    the timeouts, and a good sync must not fail because a loaded machine made it slow."""
    n = site.node(name, agency)
    link = fault_proxy(site.url)
    n.app.config["SYNC_TRANSPORT"] = lambda: HttpTransport(link.url)
    return n, link


def node_id(n: Node) -> str:
    with n.app.app_context():
        return node_identity().node_id


def acked(n: Node) -> int:
    with node_db.read_session(n.app) as s:
        return acked_seq(s)


def assert_converged(site: Site, n: Node, expected: int) -> None:
    sync(n)
    records = hub_records(site.hub, node_id(n))
    assert [r.seq for r in records] == list(range(1, expected + 1))  # none lost, none twice
    assert acked(n) == expected
    with node_db.read_session(n.app) as s:
        assert queue_report(s) == (0, None)


def test_latency_slows_but_loses_nothing(site: Site, fault_proxy: ProxyFactory) -> None:
    n, link = linked(site, fault_proxy, "a", "000.00.12.H26")
    for _ in range(3):
        take_in(n)
    link.set_latency(0.05)
    started = time.monotonic()
    sync(n)
    assert time.monotonic() - started >= 0.2
    assert acked(n) == 3 and hub_count(site.hub, node_id(n)) == 3


def test_a_64_kbit_link_is_enough(site: Site, fault_proxy: ProxyFactory) -> None:
    n, link = linked(site, fault_proxy, "a", "000.00.12.H26")
    for _ in range(4):
        take_in(n)
    link.set_bandwidth(64_000)
    n.app.config["SYNC_TRANSPORT"] = lambda: HttpTransport(link.url, read_timeout=30)
    sync(n)
    assert acked(n) == 4
    assert link.stats().bytes_up > 1000


@pytest.mark.parametrize("up", [10, 700, 4000])
def test_a_cut_towards_the_hub_costs_at_most_the_batch(
    site: Site, fault_proxy: ProxyFactory, up: int
) -> None:
    n, link = linked(site, fault_proxy, "a", "000.00.12.H26")
    for _ in range(5):
        take_in(n)
    n.app.config["SYNC_BATCH_BYTES"] = 3000
    link.cut_after(up=up, once=False)
    with pytest.raises(LinkError):
        run_sync(n.app)
    assert acked(n) <= hub_count(site.hub, node_id(n))  # never "synced" without a receipt
    link.clear()
    assert_converged(site, n, 5)


@pytest.mark.parametrize("down", [5, 40, 150, 1200])
def test_a_cut_towards_the_node_is_a_link_error_never_a_crash(
    site: Site, fault_proxy: ProxyFactory, down: int
) -> None:
    """Regression: an answer cut inside its headers reached the node as an empty 200, and
    the sync crashed on it (JSONDecodeError → 500 on the sync page) instead of "no link"."""
    n, link = linked(site, fault_proxy, "a", "000.00.12.H26")
    for _ in range(3):
        take_in(n)
    link.cut_after(down=down, once=False)
    with pytest.raises(LinkError):
        run_sync(n.app)
    assert acked(n) <= hub_count(site.hub, node_id(n))
    link.clear()
    assert_converged(site, n, 3)


def test_a_stalled_link_times_out_as_no_link(site: Site, fault_proxy: ProxyFactory) -> None:
    n, link = linked(site, fault_proxy, "a", "000.00.12.H26")
    take_in(n)
    good = n.app.config["SYNC_TRANSPORT"]
    link.stall()  # never answers: any read timeout ends it; a short one keeps the test short
    n.app.config["SYNC_TRANSPORT"] = lambda: HttpTransport(link.url, read_timeout=0.5)
    with pytest.raises(LinkError) as info:
        run_sync(n.app)
    assert info.value.code == "no_link"
    assert hub_count(site.hub, node_id(n)) == 0 and link.stats().stalls >= 1
    link.clear()
    n.app.config["SYNC_TRANSPORT"] = good  # the next sync may be slow, never cut short
    assert_converged(site, n, 1)


def test_a_lost_push_answer_is_receipted_on_the_next_sync(
    site: Site, fault_proxy: ProxyFactory
) -> None:
    """Regression: the hub stored the batch but its answer was lost; the node then started
    its next push after the hub's head, sent nothing, got no receipt, and showed the
    records as waiting for ever. Now it sends the hub's head record again (only that one)
    and the hub's receipt for that duplicate covers both."""
    n, link = linked(site, fault_proxy, "a", "000.00.12.H26")
    code = take_in(n)
    take_in(n)
    link.drop_responses(1, match=b"POST /sync/v1/push")
    with pytest.raises(LinkError):
        run_sync(n.app)
    assert hub_count(site.hub, node_id(n)) == 2 and acked(n) == 0  # committed, not receipted
    client = n.app.test_client()
    login(client, "receiver")
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert 'data-synced="1"' not in page  # never shown as synced without a receipt
    result = sync(n)
    assert result.duplicates == 1 and result.pushed == 0
    assert_converged(site, n, 2)
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert 'data-synced="1"' in page


def test_a_dropped_status_answer_and_a_down_link(site: Site, fault_proxy: ProxyFactory) -> None:
    n, link = linked(site, fault_proxy, "a", "000.00.12.H26")
    take_in(n)
    link.drop_responses(1, match=b"GET /sync/v1/status")
    with pytest.raises(LinkError):
        run_sync(n.app)
    link.set_down()
    with pytest.raises(LinkError):
        run_sync(n.app)
    assert link.stats().refused >= 1 and link.stats().drops == 1
    link.clear()
    assert_converged(site, n, 1)


def test_node_and_hub_fold_the_same_state(site: Site) -> None:
    """Regression: the node folded an event at its clock's microseconds while the record
    (and so the hub) says whole seconds: the two projections of a dossier differed."""
    n = site.node("a", "000.00.12.H26")
    n.clock.advance(microseconds=654321)
    code = take_in(n)
    act(n, code, "processing")
    sync(n)
    with node_db.read_session(n.app) as s:
        ours = s.get(Dossier, code)
        assert ours is not None
        node_state = ours.state
    with site.hub.db.read() as s:
        theirs = s.get(HubDossier, code)
        assert theirs is not None
        hub_state = theirs.state
    assert node_state == hub_state


def test_sync_page_never_shows_synced_before_the_receipt(
    site: Site, fault_proxy: ProxyFactory
) -> None:
    n, link = linked(site, fault_proxy, "a", "000.00.12.H26")
    client = n.app.test_client()
    login(client, "receiver")
    take_in(n)
    take_in(n)
    link.drop_responses(1, match=b"POST /sync/v1/push")
    page = client.get("/sync/").get_data(as_text=True)
    r = client.post("/sync/now", data={"csrf_token": csrf(page)}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert 'data-acked="0"' in page and 'data-error-code="no_link"' in page
    with site.hub.db.read() as s:
        assert s.scalars(select(HubDossier)).first() is not None  # the hub has them…
    link.clear()
    r = client.post("/sync/now", data={"csrf_token": csrf(page)}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert 'data-acked="2"' in page and 'data-waiting="0"' in page  # …now receipted
