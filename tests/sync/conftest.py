"""A real hub on a loopback port (SQLite and PostgreSQL) and commune nodes that reach it
over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from central_hub.services import nodes as hub_nodes
from common import record
from commune_node import db as node_db
from commune_node.scheduler import run_sync
from commune_node.services import keyring
from commune_node.services.enrolment import enrol
from commune_node.services.identity import NodeIdentity
from commune_node.services.sync import SyncResult
from commune_node.transport import HttpTransport
from commune_node.web.context import node_identity
from tests.hub.fixtures import Hub
from tests.node.conftest import Node, make_node
from tests.support import MovableClock, live_server


@dataclass
class Site:
    """A hub serving on loopback, and a way to make enrolled nodes that talk to it."""

    hub: Hub
    url: str
    tmp: Path
    clock: MovableClock

    def node(self, name: str, agency: str, commune: str = "Xã Đăk Pxi") -> Node:
        n = make_node(self.tmp / name, self.clock, agency=agency)
        url = self.url
        n.app.config["SYNC_TRANSPORT"] = lambda: HttpTransport(url, read_timeout=30)
        with self.hub.db.write() as session:
            code = hub_nodes.issue_code(
                session, commune_name=commune, agency_code=agency, clock=self.clock
            )
        with n.app.app_context():
            enrol(
                node_db.database(n.app),
                identity=node_identity(),
                transport=HttpTransport(url),
                hub_url=url,
                code=code,
            )
        return n


def rotate(node: Node) -> tuple[NodeIdentity, NodeIdentity, record.Record]:
    """What ``commune-node rotate-key`` does, on a node served in this process: (old
    identity, new identity, the rotation record)."""
    with node.app.app_context():
        old = node_identity()
        with node_db.write_session(node.app) as s:
            new, rec = keyring.rotate(
                s, Path(node.app.instance_path), identity=old, clock=node.clock, actor="admin"
            )
    return old, new, rec


def sync(node: Node) -> SyncResult:
    result = run_sync(node.app)
    assert result is not None
    return result


@pytest.fixture
def site(hub: Hub, tmp_path: Path) -> Iterator[Site]:
    with live_server(hub.app) as url:
        yield Site(hub, url, tmp_path, hub.clock)


SyncFn = Callable[[Node], SyncResult]
