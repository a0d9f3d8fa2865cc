"""Engine, sessions and Alembic upgrades, the same way for node and hub.

:class:`Database` holds the engine and two session factories: ``read`` (plain transactions)
and ``write`` (on SQLite, transactions that begin IMMEDIATE, so a read-then-write such as
taking the next sequence number cannot interleave with another writer). Schema changes go
through Alembic only: :meth:`Database.upgrade` brings an older database to head without
losing data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from common_io.sqlite import configure_sqlite, writer


@dataclass
class Database:
    engine: Engine
    read_factory: sessionmaker[Session]
    write_factory: sessionmaker[Session]
    migrations: Path

    @classmethod
    def connect(cls, url: str, migrations: Path, **engine_options: Any) -> Database:
        engine = create_engine(url, **engine_options)
        configure_sqlite(engine)
        return cls(
            engine=engine,
            read_factory=sessionmaker(engine, expire_on_commit=False),
            write_factory=sessionmaker(writer(engine), expire_on_commit=False),
            migrations=migrations,
        )

    def alembic_config(self) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(self.migrations))
        cfg.attributes["engine"] = self.engine
        return cfg

    def upgrade(self, revision: str = "head") -> None:
        command.upgrade(self.alembic_config(), revision)

    def after_commit(self, key: str, then: Callable[[Any], None]) -> None:
        """Run ``then(value)`` after a write transaction that left ``session.info[key]``
        commits (and drop the value on a rollback): for what is kept outside the database
        and must never get ahead of it."""

        def committed(session: Session) -> None:
            value = session.info.pop(key, None)
            if value is not None:
                then(value)

        def rolled_back(session: Session, *_: Any) -> None:
            session.info.pop(key, None)

        event.listen(self.write_factory, "after_commit", committed)
        event.listen(self.write_factory, "after_soft_rollback", rolled_back)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed on success, rolled back on any exception."""
        with self.write_factory() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.read_factory() as session:
            yield session


def insert_rows(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Insert many rows with one statement run by the driver's ``executemany``, in the
    session's transaction: no ORM bookkeeping per row (the rows are not loaded objects)."""
    if rows:
        table: Table = model.__table__
        session.connection().execute(table.insert(), rows)
