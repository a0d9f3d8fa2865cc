"""A hub database put back from a backup older than a commune's enrolment, with real
``central-hub`` and ``commune-node`` processes: the commune is unknown to the restored hub,
shows the enrolment the hub signed, is known again, gives its records back, and every
commune goes on syncing (docs/operations.md, "A commune the restored hub does not know")."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.faults.harness import (
    PASSWORD,
    PATIENCE,
    ProcessWorld,
    Template,
    _cli,
    _hub_env,
    _stop,
    build_template,
    free_port,
    pg_drop_all,
    required_documents,
    start_server,
)
from tests.support import fresh_postgres_database

pytestmark = pytest.mark.slow
MARITAL = "1.004873.000.00.00.H38"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Template]:
    if request.param == "sqlite":
        yield build_template(tmp_path_factory.mktemp("tmpl-reintro"), nodes=1, processes=True)
        return
    with fresh_postgres_database() as url:
        yield build_template(tmp_path_factory.mktemp("tmpl-reintro-pg"), nodes=1,
                             processes=True, hub_database=url)  # fmt: skip


@pytest.fixture
def world(template: Template, tmp_path: Path) -> Iterator[ProcessWorld]:
    db = None
    if template.hub_database:
        from tests.faults.harness import pg_clone

        db = pg_clone(template.hub_database, f"reintro_{os.getpid()}")
    w = ProcessWorld(template, tmp_path / "w", hub_database=db)
    w.start()
    try:
        yield w
    finally:
        w.close()
        if db:
            pg_drop_all(db)


class LateNode:
    """A commune enrolled after the hub's backup was taken: a real ``commune-node`` process."""

    def __init__(self, root: Path, hub_url: str) -> None:
        self.dir = root / "xa-late"
        _cli("node", self.dir, "init", "--commune", "Xã Ngọc Linh", "--agency-code",
             "000.00.14.H26", env={"COMMUNE_NODE_ADMIN_PASSWORD": PASSWORD})  # fmt: skip
        _cli("node", self.dir, "officer", "add", "hoa.le", "--name", "Lê Thị Hoa", "--role",
             "receiver", "--password", PASSWORD)  # fmt: skip
        self.token = _cli("node", self.dir, "officer", "token", "hoa.le")
        (self.dir / "config.py").write_text("SESSION_COOKIE_SECURE = False  # plain HTTP\n")
        self.hub_url = hub_url
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = free_port()

    def enrol(self, hub_dir: Path, hub_database: str | None) -> None:
        out = _cli("hub", hub_dir, "enrol-code", "--commune", "Xã Ngọc Linh", "--agency-code",
                   "000.00.14.H26", env=_hub_env(hub_database))  # fmt: skip
        code = re.findall(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", out)[0]
        _cli("node", self.dir, "enrol", "--hub", self.hub_url, "--code", code)

    def start(self) -> None:
        self.proc, self.port = start_server(
            [sys.executable, "-m", "commune_node.cli", "--instance", str(self.dir), "run",
             "--sync-interval", "0"],
            self.port, "/login", env=dict(os.environ), log=self.dir.parent / "logs" / "late.log",
        )  # fmt: skip

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc, kill=False)
            self.proc = None

    def intake(self, name: str) -> str:
        r = requests.post(
            f"http://127.0.0.1:{self.port}/api/v1/dossiers",
            json={"procedure": MARITAL, "applicant_name": name, "id_number": "062095001234",
                  "phone": "0912345678", "address": "thôn 3",
                  "documents": required_documents(MARITAL)},
            headers={"Authorization": f"Bearer {self.token}"}, timeout=PATIENCE,
        )  # fmt: skip
        assert r.status_code == 201, r.text[:300]
        return str(r.json()["dossier"]["code"])

    def sync(self) -> subprocess.CompletedProcess[str]:
        """``commune-node sync``, the IT officer's command."""
        return subprocess.run(
            [sys.executable, "-m", "commune_node.cli", "--instance", str(self.dir), "sync"],
            capture_output=True, text=True, timeout=PATIENCE, check=False,
        )  # fmt: skip

    def alarms(self) -> list[str]:
        with contextlib.closing(sqlite3.connect(self.dir / "node.sqlite3")) as c:
            return [r[0] for r in c.execute("select kind from alarm")]

    def head(self) -> int:
        with contextlib.closing(sqlite3.connect(self.dir / "node.sqlite3")) as c:
            return int(c.execute("select coalesce(max(seq), 0) from event").fetchone()[0])

    def node_id(self) -> str:
        with contextlib.closing(sqlite3.connect(self.dir / "node.sqlite3")) as c:
            row = c.execute("select value from setting where key = 'node_id'").fetchone()
        return str(row[0])


def _hub_rows(world: ProcessWorld, query: str, **params: object) -> list[tuple[object, ...]]:
    url = world.hub_database or f"sqlite:///{world.hub_dir / 'hub.sqlite3'}"
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            return [tuple(r) for r in c.execute(text(query), params)]
    finally:
        engine.dispose()


def test_a_commune_enrolled_after_the_hubs_backup_is_known_again(world: ProcessWorld) -> None:
    a = 0
    assert world.intake(a, MARITAL, "Nguyễn Văn An")
    assert world.sync(a)
    world.backup_hub()  # the backup the administrator will put back

    late = LateNode(world.root, world.hub_base)
    late.enrol(world.hub_dir, world.hub_database)
    late.start()
    try:
        for name in ("Trần Thị Bình", "Lê Văn Cường"):
            late.intake(name)
        assert late.sync().returncode == 0
        late_id = late.node_id()
        assert world.intake(a, MARITAL, "Phạm Thị Dung")
        assert world.sync(a)  # a verifies a checkpoint that holds the late commune's records

        world.restore_hub(0)  # the database from before the late commune's enrolment
        assert world.intake(a, MARITAL, "Hoàng Văn Em")
        world.sync(a)  # a gives back what it verified; the late commune's leaves are missing
        shown = _cli("hub", world.hub_dir, "log-recovery", env=_hub_env(world.hub_database))
        assert "a commune this database does not know" in shown, shown

        late.intake("Võ Thị Giang")  # the desk never stopped
        done = late.sync()  # unknown_node → it shows its signed enrolment and gives back
        assert done.returncode == 0, done.stdout + done.stderr
        assert late.alarms().count("hub_reintroduced") == 1, late.alarms()
        assert "proof_failed" not in late.alarms() and "hub_rollback" not in late.alarms()
        seqs = _hub_rows(world, "select seq from log_record where node_id = :n order by seq",
                         n=late_id)  # fmt: skip
        assert [int(s[0]) for s in seqs] == list(range(1, late.head() + 1))
        kinds = _hub_rows(world, "select kind from alert where node_id = :n", n=late_id)
        assert ("node_reintroduced",) in kinds

        problems = world.converge()  # every commune syncing again, nothing lost or forked
        assert not problems, problems
        assert late.sync().returncode == 0
        shown = _cli("hub", world.hub_dir, "log-recovery", env=_hub_env(world.hub_database))
        assert "No log recovery is open." in shown, shown
    finally:
        late.stop()
