"""Test support shared by every test package: clocks, servers on loopback, PostgreSQL."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
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


class ThreadServer:
    """waitress on a loopback port in a daemon thread; :meth:`stop` is safe at any time.

    Stopping lets the requests in flight finish first (the task threads use the server's
    trigger when they are done), then closes every socket from inside the server's own
    loop, so no descriptor is closed under a running ``poll``/``select``."""

    def __init__(self, app: Any, *, port: int = 0, threads: int = 4) -> None:
        from waitress import create_server

        self._server: Any = create_server(
            app, host="127.0.0.1", port=port, threads=threads, ident="test"
        )
        self.port: int = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        from waitress import wasyncore

        server = self._server
        server.task_dispatcher.shutdown(timeout=5)  # in-flight requests end first
        done = threading.Event()

        def close_in_loop() -> None:
            wasyncore.close_all(server._map)  # listening socket, trigger, channels
            done.set()

        with suppress(OSError):
            server.trigger.pull_trigger(close_in_loop)
        done.wait(5)
        self._thread.join(5)


@contextmanager
def serve(app: Any, *, port: int = 0) -> Iterator[ThreadServer]:
    """:class:`ThreadServer` as a context manager."""
    server = ThreadServer(app, port=port)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with waitress on a free loopback port in a thread; yields its URL."""
    with serve(app) as server:
        yield server.url


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


def hour_limited_procedure_dict() -> dict[str, Any]:
    """TEST FIXTURE, not a real procedure: a commune procedure limited to 4 working hours
    ("0,5 ngày"), for the code paths of limits in hours. The sample catalogue has none, as no
    hour-limited procedure could be named from the sources the sample is drawn from."""
    return {
        "code": "TEST.HOURS.4",
        "name": "Thủ tục thử nghiệm giải quyết trong 4 giờ làm việc",
        "name_en": "Test procedure resolved within 4 working hours",
        "field": "Thử nghiệm",
        "level": "commune",
        "limit_hours": 4,
        "fee": 0,
        "fee_note": "",
        "electronic_result": False,
        "documents": [
            {
                "id": "don",
                "name": "Đơn đề nghị",
                "original": 1,
                "certified_copy": 0,
                "photocopy": 0,
                "required": True,
            }
        ],
    }


# Page tests drive Debian's Chromium; CI installs it (scripts/test.sh), so there a missing
# browser is a failure, never a silent skip.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_chromium() -> None:
    """Fail under CI, skip elsewhere, when Chromium is not installed."""
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("CI"):
        pytest.fail(
            f"{CHROMIUM} is missing; CI must run the browser tests (apt-get install chromium)"
        )
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium); not in CI")
