"""Hub fixtures: a hub on SQLite and on PostgreSQL (every hub test runs on both)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from central_hub import create_app
from central_hub.services import identity as identity_service
from central_hub.services import publishing, users
from central_hub.services.identity import HubIdentity
from common_io.database import Database
from tests.support import VN, MovableClock, fresh_postgres_database

HUB_PASSWORD = "hub password 123"
HUB_USERS = {
    "administrator": ("admin", "Quản trị hệ thống"),
    "hub_officer": ("lan.pham", "Phạm Thị Lan"),
    "auditor": ("thanh.tra", "Thanh tra Tỉnh"),
}


@dataclass
class Hub:
    app: Flask
    clock: MovableClock
    identity: HubIdentity

    @property
    def db(self) -> Database:
        db: Database = self.app.extensions["db"]
        return db


def make_hub(
    instance: Path, clock: MovableClock, database_url: str | None = None, **config: Any
) -> Hub:
    cfg: dict[str, Any] = {"TESTING": True, "SECRET_KEY": "test", "CLOCK": clock, **config}
    if database_url:
        cfg["DATABASE_URL"] = database_url
    app = create_app(cfg, instance_path=str(instance))
    db: Database = app.extensions["db"]
    db.upgrade()
    with db.write() as session:
        hub = identity_service.create_identity(
            session, instance, name="Tỉnh Quảng Ngãi", level="province"
        )
        for role, (username, name) in HUB_USERS.items():
            users.create_user(
                session,
                username=username,
                full_name=name,
                roles=[role],
                password=HUB_PASSWORD,
                clock=clock,
            )
        publishing.publish_sample(session, hub=hub, clock=clock)
    return Hub(app, clock, hub)


@pytest.fixture
def hub_clock() -> MovableClock:
    return MovableClock(datetime(2026, 11, 23, 9, 0, tzinfo=VN))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def hub(request: pytest.FixtureRequest, tmp_path: Path, hub_clock: MovableClock) -> Iterator[Hub]:
    if request.param == "sqlite":
        h = make_hub(tmp_path / "hub", hub_clock)
        yield h
        h.db.engine.dispose()
    else:
        with fresh_postgres_database() as url:
            h = make_hub(tmp_path / "hub", hub_clock, url)
            yield h
            h.db.engine.dispose()
