"""Test support shared by every test package: clocks, servers on loopback, PostgreSQL."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

VN = timezone(timedelta(hours=7))
POSTGRES_ADMIN_URL = os.environ.get(
    "DOSSIER_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


class MovableClock:
    """A clock a test sets and moves; apps read it through their ``CLOCK`` setting."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def set(self, when: datetime) -> None:
        with self._lock:
            self.now = when

    def advance(self, **kw: float) -> None:
        with self._lock:
            self.now += timedelta(**kw)


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with waitress on a free loopback port in a thread; yields its URL."""
    from waitress import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4, ident="test")
    port = server.socket.getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        thread.join(timeout=5)


def postgres_available() -> str | None:
    """None when PostgreSQL answers; otherwise why not."""
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(POSTGRES_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means "not here"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return None


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test; dropped afterwards."""
    import sqlalchemy

    why = postgres_available()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(
                f"PostgreSQL is required in CI but unreachable at {POSTGRES_ADMIN_URL}: {why}"
            )
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL} ({why})")
    name = f"hubtest_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
