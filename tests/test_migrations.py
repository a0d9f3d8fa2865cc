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


def _not_fts(name, type_, parent):  # type: ignore[no-untyped-def]
    # The node's FTS5 name index and its shadow tables are not ORM tables (migration 0003).
    return not (type_ == "table" and name and name.startswith("dossier_search"))


def _diff(db: Database, metadata) -> list:  # type: ignore[no-untyped-def]
    db.upgrade()
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_name": _not_fts})
        return list(compare_metadata(ctx, metadata))


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


def test_node_upgrade_to_0003_keeps_dossiers_and_indexes_them(tmp_path: Path) -> None:
    """A node in the field on revision 0002 upgrades with its dossiers: the open-due column
    is filled from status and due date, and the names are in the search index."""
    from sqlalchemy import text

    db = Database.connect(f"sqlite:///{tmp_path / 'u.sqlite3'}", commune_node.db.MIGRATIONS)
    db.upgrade("0002")
    columns = (
        "code, procedure_code, channel, status, forwarded, applicant_name, applicant_search,"
        " id_number, phone, email, address, created_at, received_at, due_at, ended_at,"
        " last_seq, state"
    )
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO procedure (code, name, search_key, level, limit_days, fee,"
                " definition) VALUES ('P1', 'Đăng ký khai sinh', 'dang ky khai sinh',"
                " 'commune', 3, 0, '{}')"
            )
        )
        for code, status, name in [
            ("000.00.12.H26-261201-0001", 4, "nguyen van an"),
            ("000.00.12.H26-261201-0002", 10, "tran thi binh"),
        ]:
            conn.execute(
                text(
                    f"INSERT INTO dossier ({columns}) VALUES (:code, 'P1', 1, :status, 0, :name,"
                    " :name, '', '', '', '', '2026-12-01 01:00:00.000000',"
                    " '2026-12-01 01:00:00.000000', '2026-12-05 10:00:00.000000', NULL, 1, '{}')"
                ),
                {"code": code, "status": status, "name": name},
            )
    db.upgrade()
    with db.engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT code, open_due_at FROM dossier")).all())
        found = conn.execute(
            text("SELECT code FROM dossier_search WHERE dossier_search MATCH '\"van an\"'")
        ).all()
    assert rows["000.00.12.H26-261201-0001"] is not None  # open: keeps its due date
    assert rows["000.00.12.H26-261201-0002"] is None  # result returned: nothing is due
    assert found == [("000.00.12.H26-261201-0001",)]
    db.engine.dispose()
