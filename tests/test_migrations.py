"""Schema changes go through Alembic: a fresh database upgraded to head matches the models
exactly, on SQLite and (for the hub) on PostgreSQL, so nodes in the field can upgrade."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import central_hub
import commune_node.db
from central_hub.models import Base as HubBase
from common_io.database import Database
from commune_node.models import Base as NodeBase
from tests.support import fresh_postgres_database


def _diff(db: Database, metadata) -> list:  # type: ignore[no-untyped-def]
    db.upgrade()
    with db.engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))


def test_node_migrations_match_models(tmp_path: Path) -> None:
    db = Database.connect(f"sqlite:///{tmp_path / 'n.sqlite3'}", commune_node.db.MIGRATIONS)
    assert _diff(db, NodeBase.metadata) == []
    db.upgrade()  # running again is harmless
    db.engine.dispose()


def test_hub_migrations_match_models_on_sqlite(tmp_path: Path) -> None:
    db = Database.connect(f"sqlite:///{tmp_path / 'h.sqlite3'}", central_hub.MIGRATIONS)
    assert _diff(db, HubBase.metadata) == []
    db.engine.dispose()


@pytest.mark.postgres
def test_hub_migrations_match_models_on_postgresql() -> None:
    with fresh_postgres_database() as url:
        db = Database.connect(url, central_hub.MIGRATIONS)
        assert _diff(db, HubBase.metadata) == []
        db.engine.dispose()


def test_sqlite_connections_get_the_pragmas(tmp_path: Path) -> None:
    from sqlalchemy import text

    db = Database.connect(f"sqlite:///{tmp_path / 'p.sqlite3'}", commune_node.db.MIGRATIONS)
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
    db.engine.dispose()
