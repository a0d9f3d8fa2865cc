"""The node's database: SQLite file ``node.sqlite3`` in the instance folder by default.

``init_app`` builds a :class:`common_io.database.Database` from ``DATABASE_URL``; views and
commands use :func:`read_session` / :func:`write_session`. Migrations live in
``commune_node/migrations`` and run at ``init`` and at every start.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy.orm import Session

from common_io.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def init_app(app: Flask) -> None:
    url = app.config.get("DATABASE_URL") or f"sqlite:///{Path(app.instance_path) / 'node.sqlite3'}"
    app.extensions["db"] = Database.connect(url, MIGRATIONS)


def database(app: Flask | None = None) -> Database:
    db: Database = (app or current_app).extensions["db"]
    return db


def upgrade(app: Flask | None = None) -> None:
    database(app).upgrade()


@contextmanager
def write_session(app: Flask | None = None) -> Iterator[Session]:
    with database(app).write() as session:
        yield session


@contextmanager
def read_session(app: Flask | None = None) -> Iterator[Session]:
    with database(app).read() as session:
        yield session
