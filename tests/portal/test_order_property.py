"""Property: whatever the interleaving of dossiers' status changes at the hub and whatever
the gateway's failures, the portal sees each dossier's statuses in the order they happened,
each once."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from central_hub.portal_models import DELIVERED, PortalMessage
from central_hub.services import portal_delivery, portal_outbox, portal_transport
from common import portal
from tests.common.test_portal import dossier, walk
from tests.hub.fixtures import Hub, make_hub
from tests.portal import conformance
from tests.support import VN, MovableClock

# Lifecycle paths (choices for tests.common.test_portal.walk): 4 to 7 statuses each.
PATHS = [[0, 3, 1, 2, 0, 1], [1, 0, 2, 4, 1], [2, 2, 1, 0, 3, 3, 0], [0, 0, 0, 0]]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    h = make_hub(tmp_path_factory.mktemp("hub"), MovableClock(datetime(2026, 12, 1, 9, tzinfo=VN)))
    yield h
    h.db.engine.dispose()


def messages(path: int, number: int) -> list[dict[str, Any]]:
    code = f"000.00.12.H26-261201-{number:04d}"
    return [
        {**portal.message(dossier(state, at)), "MaHoSo": code, "SoBienNhan": code}
        for state, at in walk(PATHS[path], "commune", 1)
    ]


@settings(max_examples=12, deadline=None)
@given(
    paths=st.lists(st.integers(0, len(PATHS) - 1), min_size=1, max_size=4),
    interleave=st.randoms(use_true_random=False),
    faults=st.lists(st.sampled_from(["", "", "5xx", "timeout", "lost", "expired"]), max_size=6),
)
def test_the_portal_sees_each_dossiers_statuses_in_order(
    hub: Hub, paths: list[int], interleave: random.Random, faults: list[str]
) -> None:
    per_dossier = {i: messages(p, i + 1) for i, p in enumerate(paths)}
    pending = {i: list(ms) for i, ms in per_dossier.items()}
    with hub.db.write() as s:
        s.execute(delete(PortalMessage))
        leaf = 0
        while any(pending.values()):  # the changes happen interleaved across dossiers
            msg = pending[interleave.choice([k for k, v in pending.items() if v])].pop(0)
            leaf += 1
            portal_outbox.queue(s, msg["MaHoSo"], leaf, msg, origin="change", now=hub.clock())
    with conformance.serve(script=list(faults), hang=0.3) as gateway:
        client = portal_transport.PortalClient(
            gateway.url, token_url=gateway.token_url, client_id=gateway.client_id,
            client_secret=gateway.client_secret, timeout=0.2,
        )  # fmt: skip
        pace = portal_delivery.Pace(rate=1000, backoff=1, max_backoff=2)
        for _ in range(40):
            portal_delivery.deliver_due(hub.db, client, clock=hub.clock, pace=pace)
            hub.clock.advance(seconds=5)
            with hub.db.read() as s:
                if set(s.scalars(select(PortalMessage.state))) == {DELIVERED}:
                    break
        for ms in per_dossier.values():
            assert gateway.order[ms[0]["MaHoSo"]] == [portal.delivery_key(m) for m in ms]
        assert gateway.refused == []


def test_at_most_rate_messages_a_second(hub: Hub) -> None:
    with hub.db.write() as s:
        s.execute(delete(PortalMessage))
        for i in range(6):  # six dossiers: nothing waits for order, only for the rate
            msg = messages(3, 100 + i)[0]
            portal_outbox.queue(s, msg["MaHoSo"], i + 1, msg, origin="change", now=hub.clock())
    with conformance.serve() as gateway:
        client = portal_transport.PortalClient(
            gateway.url, token_url=gateway.token_url, client_id=gateway.client_id,
            client_secret=gateway.client_secret, timeout=2,
        )  # fmt: skip
        started = time.monotonic()
        sent = portal_delivery.deliver_due(
            hub.db, client, clock=hub.clock, pace=portal_delivery.Pace(rate=10)
        )
        elapsed = time.monotonic() - started
    assert sent == 6 and len(gateway.entries) == 6
    assert elapsed >= 0.5  # six sends at ten a second: five gaps of a tenth of a second


def test_a_sender_that_died_mid_send_frees_its_messages_when_the_lease_ends(hub: Hub) -> None:
    with hub.db.write() as s:
        s.execute(delete(PortalMessage))
        for i, msg in enumerate(messages(3, 200)[:2]):
            portal_outbox.queue(s, msg["MaHoSo"], i + 1, msg, origin="change", now=hub.clock())
    pace = portal_delivery.Pace(lease=timedelta(seconds=60))
    taken = portal_delivery.claim(hub.db, hub.clock(), pace)  # ... and the process dies here
    assert [m.status_code for m in taken] == [2]  # only the first of the dossier
    with conformance.serve() as gateway:
        client = portal_transport.PortalClient(
            gateway.url, token_url=gateway.token_url, client_id=gateway.client_id,
            client_secret=gateway.client_secret, timeout=2,
        )  # fmt: skip
        assert portal_delivery.deliver_due(hub.db, client, clock=hub.clock, pace=pace) == 0
        hub.clock.advance(seconds=61)
        assert portal_delivery.deliver_due(hub.db, client, clock=hub.clock, pace=pace) == 2
        assert gateway.order[taken[0].dossier_code] == [
            portal.delivery_key(m) for m in messages(3, 200)[:2]
        ]
