"""Fixtures for the commune node: an initialised instance in a temporary folder, officers of
every role with passwords and API tokens, and a clock the test can move."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from common.catalogue import load_sample_catalogue
from commune_node import create_app, db
from commune_node.services import catalogue, officers
from commune_node.services import identity as identity_service
from tests.support import VN, MovableClock

PASSWORD = "correct horse battery"
AGENCY = "000.00.12.H26"


@dataclass(eq=False)
class Node:
    app: Flask
    clock: MovableClock
    tokens: dict[str, str]

    def api(
        self, client: FlaskClient, method: str, path: str, who: str = "receiver", **kw: Any
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}", **kw.pop("headers", {})}
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kw)


OFFICERS = {
    "receiver": ("hoa.le", "Lê Thị Hoa", ["receiver"]),
    "leader": ("minh.tran", "Trần Văn Minh", ["leader"]),
    "admin": ("admin", "Quản trị nút", ["admin"]),
}


def make_node(instance: Path, clock: MovableClock, *, agency: str = AGENCY, **config: Any) -> Node:
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "CLOCK": clock, **config},
        instance_path=str(instance),
    )
    db.upgrade(app)
    tokens: dict[str, str] = {}
    with db.write_session(app) as session:
        identity_service.create_identity(
            session, instance, commune_name="Xã Đăk Pxi", agency_code=agency
        )
        catalogue.install(session, load_sample_catalogue())
        for role, (username, name, roles) in OFFICERS.items():
            officer = officers.create_officer(
                session, username=username, full_name=name, roles=roles, password=PASSWORD,
                clock=clock,
            )  # fmt: skip
            tokens[role] = officers.issue_token(session, officer, label="test", clock=clock)
    return Node(app, clock, tokens)


@pytest.fixture
def clock() -> MovableClock:
    # Monday 23 November 2026, 09:00 in Vietnam: an ordinary working morning.
    return MovableClock(datetime(2026, 11, 23, 9, 0, tzinfo=VN))


@pytest.fixture
def node(tmp_path: Path, clock: MovableClock) -> Iterator[Node]:
    n = make_node(tmp_path / "instance", clock)
    yield n
    db.database(n.app).engine.dispose()


@pytest.fixture
def client(node: Node) -> FlaskClient:
    return node.app.test_client()
