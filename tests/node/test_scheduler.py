"""Background sync: one run at a time, exponential backoff with jitter after failures."""

from __future__ import annotations

import time

import pytest

from commune_node import scheduler
from commune_node.db import write_session
from commune_node.services import identity as identity_service
from commune_node.transport import LinkError, Response
from tests.node.conftest import Node


class DeadLink:
    calls = 0

    def request(
        self, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Response:
        DeadLink.calls += 1
        raise LinkError("cable cut")


@pytest.fixture
def enrolled(node: Node) -> Node:
    from common import keys

    hub_key = keys.generate()
    with write_session(node.app) as s:
        identity_service.set_setting(s, "hub_url", "http://hub.invalid")
        identity_service.set_setting(s, "hub_id", keys.key_id(hub_key))
        identity_service.set_setting(s, "hub_public_key", keys.public_bytes(hub_key).hex())
    node.app.config["SYNC_TRANSPORT"] = DeadLink
    node.app.config["SYNC_INTERVAL"] = 10
    return node


def test_failures_back_off_exponentially_with_jitter(enrolled: Node) -> None:
    state: scheduler.SyncState = enrolled.app.extensions["sync_state"]
    for n in range(1, 5):
        before = time.monotonic()
        with pytest.raises(LinkError):
            scheduler.run_sync(enrolled.app)
        after = time.monotonic()
        assert state.failures == n
        # the wait was drawn at some moment between before and after, however long that took
        full = min(10 * 2**n, scheduler.MAX_BACKOFF)
        assert state.not_before - after <= full and state.not_before - before >= full * 0.5
    calls = DeadLink.calls
    scheduler._tick(enrolled.app)  # within the backoff: one cheap probe, which fails; no sync
    assert DeadLink.calls == calls + 1 and state.failures == 4


def test_only_one_sync_runs_at_a_time(enrolled: Node) -> None:
    state: scheduler.SyncState = enrolled.app.extensions["sync_state"]
    with state.lock:
        assert scheduler.run_sync(enrolled.app, wait=False) is None


def test_the_failure_is_recorded_for_the_page(enrolled: Node) -> None:
    from commune_node.db import read_session
    from commune_node.services import syncstatus

    with pytest.raises(LinkError):
        scheduler.run_sync(enrolled.app)
    with read_session(enrolled.app) as s:
        st = syncstatus.status(s, now=enrolled.clock(), interval=10)
    assert st.error_code == "no_link" and not st.connected
    assert "Không kết nối được" in (st.error_vi or "")
