"""A commune's action and the hub officer's action on one forwarded dossier, each taken
before either side heard of the other: both sides must end with the same dossier."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from central_hub.models import HubDossier
from central_hub.services import processing
from common.calendar import WorkingCalendar
from commune_node import db as node_db
from commune_node.models import Dossier
from tests.sync.conftest import Site, sync
from tests.sync.helpers import CRIMINAL_RECORD, act, take_in


@pytest.mark.xfail(
    strict=True,
    reason="the node folds its own withdrawal before the hub's earlier payment request, the "
    "hub after it: the two states differ (docs/reliability.md, open findings)",
)
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
