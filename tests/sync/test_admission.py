"""A busy hub turns a node away at once with ``503 hub_busy`` and ``Retry-After``; the node
stores nothing twice, tells the officer, waits as asked, and syncs when the hub is free.

The hub runs behind the product's own server (``common_io.serving``) with one worker thread,
held by a slow request, so the node's request really waits in the server's queue."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from central_hub.web.admission import Pace
from common_io import serving
from commune_node import db as node_db
from commune_node.models import Event
from commune_node.scheduler import run_sync
from commune_node.services import backlog
from commune_node.services.identity import get_setting
from commune_node.transport import HubBusy, busy_after
from tests.hub.fixtures import Hub
from tests.sync.conftest import Site
from tests.sync.helpers import hub_count, take_in

SLOW = "/held-by-a-slow-request"


class Busy:
    """A WSGI app in front of the hub whose one extra path holds the worker thread."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.release = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] == SLOW:
            self.release.wait(10)
            start_response("200 OK", [("Content-Length", "2")])
            return [b"ok"]
        return self.app(environ, start_response)


@pytest.fixture
def busy_site(hub: Hub, tmp_path: Path) -> Iterator[tuple[Site, Busy]]:
    hub.app.config["SYNC_QUEUE_WAIT"] = 0.3
    front = Busy(hub.app)
    server = serving.create_server(front, host="127.0.0.1", port=0, threads=1, ident="hub")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.socket.getsockname()[1]}"
    try:
        yield Site(hub, url, tmp_path, hub.clock), front
    finally:
        front.release.set()
        serving.stop(server)
        thread.join(5)


def _hold(url: str) -> threading.Thread:
    holder = threading.Thread(target=requests.get, args=(url + SLOW,), kwargs={"timeout": 20})
    holder.start()
    time.sleep(0.2)  # the one worker thread is now taken
    return holder


def test_a_busy_hub_turns_the_node_away_and_the_node_comes_back(
    busy_site: tuple[Site, Busy],
) -> None:
    site, front = busy_site
    front.release.set()  # enrolment goes through while the hub is free
    node = site.node("u1", "000.00.31.H26")
    take_in(node)
    front.release.clear()

    holder = _hold(site.url)
    releaser = threading.Timer(0.8, front.release.set)
    releaser.start()
    t0 = time.monotonic()
    with pytest.raises(HubBusy) as caught:
        run_sync(node.app)
    waited = time.monotonic() - t0
    holder.join(10)
    releaser.join()

    # Turned away after the queue wait, not after doing the work: nothing was stored.
    assert 1.0 <= caught.value.retry_after <= 120
    assert waited < 5
    with node_db.read_session(node.app) as s:
        assert backlog.acked_seq(s) == 0
        error = json.loads(get_setting(s, "last_error") or "{}")
    assert error["code"] == "hub_busy"
    assert hub_count(site.hub, _node_id(node)) == 0
    state = node.app.extensions["sync_state"]
    assert state.failures == 0  # a busy hub is not a broken link
    assert state.hub_busy  # and it asked for quiet: no probes until Retry-After
    assert state.not_before >= time.monotonic() + 0.5 * caught.value.retry_after

    # The hub is free again: the next sync stores every record once.
    result = run_sync(node.app)
    assert result is not None
    with node_db.read_session(node.app) as s:
        head = s.query(Event).order_by(Event.seq.desc()).first()
        assert head is not None
        assert backlog.acked_seq(s) == head.seq
    assert hub_count(site.hub, _node_id(node)) == head.seq


def test_a_request_that_did_not_wait_is_served(busy_site: tuple[Site, Busy]) -> None:
    site, front = busy_site
    front.release.set()
    node = site.node("u1", "000.00.31.H26")
    take_in(node)
    assert run_sync(node.app) is not None


def _node_id(node: Any) -> str:
    from commune_node.web.context import node_identity

    with node.app.app_context():
        return node_identity().node_id


def test_retry_after_is_the_time_the_queue_ahead_takes_within_bounds() -> None:
    pace = Pace(seconds=0.5)
    assert pace.drain_seconds(10, 2) == 3  # 10 × 0.5 s on 2 threads = 2.5 s, rounded up
    assert pace.drain_seconds(0, 2) == 1
    assert pace.drain_seconds(100_000, 1) == 120
    pace.note(1.5)
    assert pace.seconds == pytest.approx(0.7)


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (503, {"Retry-After": "7"}, 7.0),
        (503, {"Retry-After": "0"}, 1.0),
        (503, {"Retry-After": "99999"}, 600.0),
        (503, {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, None),  # a date: plain 5xx
        (503, {}, None),
        (500, {"Retry-After": "7"}, None),
        (429, {"Retry-After": "7"}, None),
    ],
)
def test_only_a_503_with_seconds_is_a_busy_answer(
    status: int, headers: dict[str, str], expected: float | None
) -> None:
    assert busy_after(status, headers) == expected
