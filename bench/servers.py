"""Real servers for the benchmarks: hubs and nodes as their own processes (``central-hub run``,
``commune-node run``), PostgreSQL databases made for one run, and process measurements
(resident memory, CPU time) read from ``/proc``."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests
import sqlalchemy

POSTGRES_ADMIN_URL = os.environ.get(
    "DOSSIER_BENCH_POSTGRES",
    os.environ.get("DOSSIER_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)
HUB_NAME = "Tỉnh Quảng Ngãi"


_TURN = [0]


def free_port() -> int:
    """A free loopback port; within ``BENCH_PORTS`` (``LOW-HIGH``) when it is set, so that
    benchmarks beside other servers on a shared machine keep to their own range."""
    span = os.environ.get("BENCH_PORTS", "")
    if span:
        low, _, high = span.partition("-")
        ports = list(range(int(low), int(high) + 1))
        _TURN[0] += 1  # a different start each time: a port just handed out may not be bound yet
        for i in range(len(ports)):
            port = ports[(_TURN[0] + i) % len(ports)]
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
        raise RuntimeError(f"no free port in BENCH_PORTS={span}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def now_utc() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- /proc measurements


def rss_bytes(pid: int) -> int:
    """Resident set size of one process (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


# ---------------------------------------------------------------- PostgreSQL


def postgres_available() -> str | None:
    try:
        engine = sqlalchemy.create_engine(POSTGRES_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means "not here"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return None


def postgres_version() -> str:
    try:
        engine = sqlalchemy.create_engine(POSTGRES_ADMIN_URL)
        with engine.connect() as conn:
            version = str(conn.execute(sqlalchemy.text("show server_version")).scalar())
        engine.dispose()
        return version
    except Exception:
        return "not reachable"


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one benchmark; dropped afterwards."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# ---------------------------------------------------------------- processes


@dataclass
class Process:
    """A server process on a loopback port."""

    popen: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)


def _cli(module: str) -> list[str]:
    return [sys.executable, "-c", f"from {module}.cli import main; main()"]


def start_process(
    argv: Sequence[str],
    *,
    port: int,
    log: Path,
    env: dict[str, str] | None = None,
    ready_path: str,
    cpus: set[int] | None = None,
    timeout: float = 60.0,
) -> tuple[Process, float]:
    """Start a server and wait until ``ready_path`` answers; returns it and the start-up time."""
    full_env = {**os.environ, **(env or {})}
    t0 = time.perf_counter()
    out = log.open("wb")

    def _pin() -> None:  # runs in the child
        if cpus:
            os.sched_setaffinity(0, cpus)

    popen = subprocess.Popen(
        list(argv), stdout=out, stderr=subprocess.STDOUT, env=full_env, preexec_fn=_pin
    )
    proc = Process(popen, port, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"server exited early; see {log}:\n{log.read_text()[-2000:]}")
        try:
            r = requests.get(proc.url + ready_path, timeout=2)
            if r.status_code < 500:
                return proc, time.perf_counter() - t0
        except requests.RequestException:
            pass
        time.sleep(0.02)
    proc.stop()
    raise RuntimeError(f"server did not answer within {timeout} s; see {log}")


# ---------------------------------------------------------------- hub


@dataclass
class HubSite:
    """A hub instance folder and database, and the hub processes serving it."""

    instance: Path
    database_url: str
    processes: list[Process] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [p.url for p in self.processes]

    def env(self) -> dict[str, str]:
        return {"CENTRAL_HUB_DATABASE_URL": self.database_url}

    def start(self, workers: int = 1, *, threads: int = 8, cpus: set[int] | None = None) -> None:
        """Start ``workers`` hub processes on one database, each on its own port."""
        for _ in range(workers):
            port = free_port()
            argv = [
                *_cli("central_hub"),
                "--instance",
                str(self.instance),
                "run",
                "--port",
                str(port),
                "--threads",
                str(threads),
                # every simulated commune connects from this machine's loopback address
                "--per-address-limit",
                "10000",
            ]
            log = self.instance.parent / f"hub-{port}.log"
            proc, _ = start_process(
                argv, port=port, log=log, env=self.env(), ready_path="/sync/v1/hello", cpus=cpus
            )
            self.processes.append(proc)

    def stop(self) -> None:
        for p in self.processes:
            p.stop()
        self.processes.clear()

    def database(self) -> object:
        from central_hub import MIGRATIONS
        from common_io.database import Database

        return Database.connect(self.database_url, MIGRATIONS)

    def issue_codes(self, agencies: Sequence[tuple[str, str]]) -> list[str]:
        """One enrolment code per (commune name, agency code)."""
        from central_hub import MIGRATIONS
        from central_hub.services import nodes
        from common_io.database import Database

        db = Database.connect(self.database_url, MIGRATIONS)
        try:
            with db.write() as session:
                return [
                    nodes.issue_code(session, commune_name=name, agency_code=code, clock=now_utc)
                    for name, code in agencies
                ]
        finally:
            db.engine.dispose()


def make_hub(instance: Path, database_url: str | None = None) -> HubSite:
    """Initialise a hub (key, database, published catalogue) the way ``central-hub init``
    does, in this process; serve it with :meth:`HubSite.start`."""
    from central_hub import create_app
    from central_hub.services import identity as identity_service
    from central_hub.services import publishing

    if instance.exists():
        shutil.rmtree(instance)
    instance.mkdir(parents=True)
    url = database_url or f"sqlite:///{instance / 'hub.sqlite3'}"
    app = create_app({"DATABASE_URL": url}, instance_path=str(instance))
    db = app.extensions["db"]
    db.upgrade()
    with db.write() as session:
        hub = identity_service.create_identity(session, instance, name=HUB_NAME, level="province")
        publishing.publish_sample(session, hub=hub, clock=now_utc)
    db.engine.dispose()
    return HubSite(instance, url)


def node_process(
    instance: Path,
    *,
    sync_interval: int,
    log: Path,
    cpus: set[int] | None = None,
    unlock: str | None = None,
) -> tuple[Process, float]:
    """``commune-node run`` on a free port; returns it and its start-up time."""
    port = free_port()
    argv = [
        *_cli("commune_node"),
        "--instance",
        str(instance),
        "run",
        "--port",
        str(port),
        "--sync-interval",
        str(sync_interval),
    ]
    env = {"COMMUNE_NODE_UNLOCK": unlock} if unlock else None
    return start_process(
        argv, port=port, log=log, env=env, ready_path="/api/v1/openapi.json", cpus=cpus
    )
