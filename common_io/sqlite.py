"""The one place that sets SQLite connection behaviour, and a UTC datetime column type.

Every SQLite connection, node or hub, gets: WAL journal (readers never block the writer and
a power cut loses at most the last uncommitted transaction), ``synchronous=FULL`` (a
committed transaction survives a power cut), foreign keys on, and a busy timeout. Sessions
bound to :func:`writer` begin with ``BEGIN IMMEDIATE`` so that two writers never interleave
a read-then-write (the event log's next sequence number is read and used in one
transaction); reads begin DEFERRED and never wait for a writer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, event
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.types import TypeDecorator

BUSY_TIMEOUT_MS = 10_000
BEGIN_OPTION = "sqlite_begin"
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
)


def configure_sqlite(engine: Engine) -> None:
    """Install the pragmas and immediate transactions on a SQLite engine (no-op otherwise)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def writer(engine: Engine) -> Engine:
    """The same engine (same pool), whose transactions begin IMMEDIATE on SQLite."""
    return engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC everywhere."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


# The column types both apps' tables use for annotated attributes: aware datetimes stored as
# UTC, and JSON for dictionaries. Each app's declarative base takes this map.
TYPE_ANNOTATION_MAP: dict[Any, Any] = {
    datetime: UTCDateTime(),
    dict[str, Any]: JSON(),
}
