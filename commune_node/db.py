"""The node's database: SQLite file ``node.sqlite3`` in the instance folder by default.

``init_app`` builds a :class:`common_io.database.Database` from ``DATABASE_URL``; views and
commands use :func:`read_session` / :func:`write_session`. Migrations live in
``commune_node/migrations`` and run at ``init`` and at every start.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from common_io.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def init_app(app: Flask) -> None:
    """The database of the instance; encrypted with SQLCipher when the instance has a key
    file (``vault.json``) or the configuration gives ``DATABASE_KEY`` (:mod:`commune_node.vault`):
    then every new connection asks for the data key, and is refused while the desk is locked."""
    from common_io import cipher
    from commune_node import vault

    instance = Path(app.instance_path)
    url = app.config.get("DATABASE_URL") or f"sqlite:///{instance / 'node.sqlite3'}"
    desk = vault.for_instance(instance, app.config.get("DATABASE_KEY"))
    app.extensions["desk_key"] = desk
    options: dict[str, Any] = {}
    path = make_url(url).database
    if desk.encrypted and make_url(url).get_backend_name() == "sqlite" and path:
        options = {"module": cipher.dbapi, "creator": cipher.creator(Path(path), desk.key)}
    database = Database.connect(url, MIGRATIONS, **options)

    def password_set(account: Any, password: str) -> None:
        vault.password_set(app, account.username, password)

    def deactivated(account: Any) -> None:  # their password no longer opens the desk
        if desk.vault is not None:
            desk.vault.drop(vault.officer_label(account.username))

    database.write_factory.configure(
        info={"password_set": password_set, "deactivated": deactivated}
    )
    app.extensions["db"] = database


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
