"""The hub's outbox to the national portal, against the conformance server (a test double)
failing at random: every status reaches the portal exactly once and in order per dossier,
with two hub app instances (each with its own scheduler) sending from one database."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import select

from central_hub import create_app, portal_sender
from central_hub.portal_models import DELIVERED, QUEUED, PortalMessage
from central_hub.services import identity as identity_service
from central_hub.services import portal_outbox
from tests.node.conftest import Node
from tests.portal import conformance
from tests.support import MovableClock
from tests.sync.conftest import Site, sync
from tests.sync.helpers import CRIMINAL_RECORD, act, take_in

HUB_AGENCY = "000.00.00.H26"


def portal_config(portal: conformance.Portal, **extra: Any) -> dict[str, Any]:
    return {
        "PORTAL_URL": portal.url,
        "PORTAL_AUTH": "oauth2",
        "PORTAL_TOKEN_URL": portal.token_url,
        "PORTAL_CLIENT_ID": portal.client_id,
        "PORTAL_CLIENT_SECRET": portal.client_secret,
        "PORTAL_TIMEOUT": 0.4,
        "PORTAL_RATE": 200,
        "PORTAL_SEND_INTERVAL": 0.3,
        "PORTAL_BACKOFF_SECONDS": 5,
        "PORTAL_MAX_BACKOFF_SECONDS": 10,
        "PORTAL_LEASE_SECONDS": 600,
        **extra,
    }


def set_hub_agency(site: Site) -> None:
    with site.hub.db.write() as s:
        identity_service.set_setting(s, portal_outbox.AGENCY_SETTING, HUB_AGENCY)


def lifecycle_traffic(site: Site, node: Node, dossiers: int) -> None:
    """Dossiers taken in and moved through their statuses, a minute apart, then synced."""
    codes = [take_in(node) for _ in range(dossiers)]
    forwarded = take_in(node, CRIMINAL_RECORD)
    for i, code in enumerate(codes):
        site.clock.advance(minutes=1)
        act(node, code, "processing")
        if i % 2:
            site.clock.advance(minutes=1)
            act(node, code, "supplement_requested", missing=["to_khai"], reason="Thiếu tờ khai")
            site.clock.advance(minutes=1)
            act(node, code, "supplement_received", documents={"to_khai": {"original": 1}})
        site.clock.advance(minutes=1)
        act(node, code, "resolved", who="leader", result="Đã cấp")
        site.clock.advance(minutes=1)
        act(node, code, "result_returned")
    site.clock.advance(minutes=1)
    act(node, forwarded, "forwarded")
    sync(node)


def outbox(site: Site) -> list[PortalMessage]:
    with site.hub.db.read() as s:
        rows = list(s.scalars(select(PortalMessage).order_by(PortalMessage.leaf, PortalMessage.id)))
        s.expunge_all()
        return rows


@contextmanager
def ticking(clock: MovableClock) -> Iterator[None]:
    """Hub time runs 5 times faster than real time (back-off waits pass quickly; a retry
    still comes after the gateway has given up on the request it timed out)."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(0.2):
            clock.advance(seconds=1)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def second_app(site: Site, **config: Any) -> Flask:
    """Another hub process on the same database, with its own scheduler."""
    return create_app(
        {"TESTING": True, "SECRET_KEY": "test", "CLOCK": site.clock,
         "DATABASE_URL": site.hub.db.engine.url.render_as_string(hide_password=False),
         **config},
        instance_path=str(site.hub.app.instance_path),
    )  # fmt: skip


def wait_until_settled(site: Site, timeout: float = 25.0) -> list[PortalMessage]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = outbox(site)
        if rows and all(r.state != QUEUED for r in rows):
            return rows
        time.sleep(0.1)
    raise AssertionError(
        f"still queued: {[r.delivery_key for r in outbox(site) if r.state == QUEUED]}"
    )


def test_random_faults_two_senders_exactly_once_in_order(site: Site) -> None:
    set_hub_agency(site)
    node = site.node("a", "000.00.12.H26")
    lifecycle_traffic(site, node, dossiers=6)
    rows = outbox(site)
    assert len(rows) == 6 * 4 + 3 * 2 + 2  # 4 statuses each, 2 more for a supplement, forward
    with conformance.serve(fault_rate=0.35, seed=7, hang=0.6) as portal:
        config = portal_config(portal)
        site.hub.app.config.update(config)
        other = second_app(site, **config)
        with ticking(site.clock):
            schedulers = [portal_sender.start(site.hub.app), portal_sender.start(other)]
            try:
                rows = wait_until_settled(site)
            finally:
                for sched in schedulers:
                    sched.shutdown(wait=True)
                other.extensions["db"].engine.dispose()
        assert {r.state for r in rows} == {DELIVERED}
        expected: dict[str, list[str]] = {}
        for r in rows:
            expected.setdefault(r.dossier_code, []).append(r.delivery_key)
        assert portal.order == expected  # each key once, in the order the statuses happened
        assert sorted(portal.entries) == sorted(r.delivery_key for r in rows)
        assert portal.overlaps == 0  # never sent twice at the same moment
        assert portal.refused == []
        assert len(portal.received) > len(rows)  # lost answers were sent again, harmlessly
