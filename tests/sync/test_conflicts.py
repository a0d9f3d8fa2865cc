"""A commune's action and the hub officer's action on one forwarded dossier, each taken
before either side heard of the other: both sides must end with the same dossier."""

from __future__ import annotations

from sqlalchemy import select

from central_hub.models import HubDossier
from central_hub.services import processing
from common.calendar import WorkingCalendar
from common.lifecycle import Status
from commune_node import db as node_db
from commune_node.models import Alarm, Dossier, Inbound
from tests.sync.conftest import Site, sync
from tests.sync.helpers import CRIMINAL_RECORD, act, take_in


def test_a_withdrawal_at_the_desk_and_a_payment_request_at_the_hub_converge(site: Site) -> None:
    node = site.node("a", "000.00.12.H26")
    code = take_in(node, CRIMINAL_RECORD)
    act(node, code, "forwarded")
    sync(node)
    with site.hub.db.write() as s:
        processing.act(s, code, "payment_requested", {"amount": 200000}, hub=site.hub.identity,
                       clock=site.clock, actor="lan.pham", calendar=WorkingCalendar())  # fmt: skip
    site.clock.advance(minutes=5)
    act(node, code, "withdrawn", reason="Công dân rút hồ sơ")  # before the node heard
    sync(node)
    sync(node)
    with node_db.read_session(node.app) as s:
        at_node = s.scalars(select(Dossier).where(Dossier.code == code)).one().state
    with site.hub.db.read() as s:
        at_hub = s.get(HubDossier, code)
        assert at_hub is not None
        assert at_node == at_hub.state
    with node_db.read_session(node.app) as s:
        refused = s.scalars(select(Alarm).where(Alarm.kind == "hub_record_refused")).all()
        assert refused == []  # the hub's request applied, before the withdrawal, as at the hub
        assert all(i.problem is None for i in s.scalars(select(Inbound)))


def test_a_withdrawal_at_the_desk_crossing_the_hubs_resolution_ends_resolved_on_both_sides(
    site: Site,
) -> None:
    """The hub logged its resolution first: the withdrawal comes too late at both ends (a
    dead letter at the hub, and folded after the resolution at the node)."""
    node = site.node("a", "000.00.12.H26")
    code = take_in(node, CRIMINAL_RECORD)
    act(node, code, "forwarded")
    sync(node)
    with site.hub.db.write() as s:
        processing.act(s, code, "resolved", {}, hub=site.hub.identity, clock=site.clock,
                       actor="lan.pham", calendar=WorkingCalendar())  # fmt: skip
    site.clock.advance(minutes=5)
    act(node, code, "withdrawn", reason="Công dân rút hồ sơ")
    result = sync(node)
    assert result.dead == 1
    sync(node)
    with node_db.read_session(node.app) as s:
        at_node = s.scalars(select(Dossier).where(Dossier.code == code)).one().state
    with site.hub.db.read() as s:
        at_hub = s.get(HubDossier, code)
        assert at_hub is not None
        assert at_node == at_hub.state
        assert at_hub.status == Status.RESOLVED
