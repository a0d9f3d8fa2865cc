"""A hub restored from an older backup whose recovery the administrator closes early, with
real ``central-hub run`` and ``commune-node run`` processes and the ``central-hub
log-recovery --close`` command (SQLite and PostgreSQL hubs). One commune never comes back;
the close must stick however often a commune proves the larger checkpoint it verified, and
across a restart of the hub (docs/operations.md, "Closing a hub log recovery early")."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.faults.harness import (
    MARITAL,
    PATIENCE,
    Observer,
    ProcessWorld,
    Template,
    World,
)
from tests.faults.lifecycle import process_world, syncs_again

pytestmark = pytest.mark.slow


@pytest.fixture
def world(three_communes: Template, tmp_path: Path) -> Iterator[ProcessWorld]:
    with process_world(three_communes, tmp_path) as w:
        yield w


def _log_recovery(w: ProcessWorld, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    if w.hub_database:
        env["CENTRAL_HUB_DATABASE_URL"] = w.hub_database
    return subprocess.run(
        [sys.executable, "-m", "central_hub.cli", "--instance", str(w.hub_dir),
         "log-recovery", *args],
        capture_output=True, text=True, env=env, timeout=PATIENCE, check=False,
    )  # fmt: skip


def _recovering(w: World) -> bool:
    with w.observer.hub_engine.connect() as c:
        value = c.execute(text("select value from hub_setting where key = 'log_recovery'"))
        return bool(value.scalar())


def _hub_alerts(w: World, kind: str) -> list[str]:
    with w.observer.hub_engine.connect() as c:
        rows = c.execute(text("select message from alert where kind = :k"), {"k": kind})
        return [r[0] for r in rows]


def _anchor_size(w: World, i: int) -> int:
    uri = f"file:{w.nodes[i].db}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as c:
        row = c.execute("select value from setting where key = 'anchor_size'").fetchone()
    return int(row[0]) if row else 0


def _hub_log_size(w: World) -> int:
    with w.observer.hub_engine.connect() as c:
        return int(c.execute(text("select count(*) from log_record")).scalar_one())


def test_an_early_close_sticks_while_a_commune_never_comes_back(world: ProcessWorld) -> None:
    w = world
    u1, u2, u3 = 0, 1, 2
    w.backup_hub()
    for _ in range(2):  # records only u3 holds, then checkpoints u1 and u2 verify over them
        assert w.intake(u3, MARITAL, "Y Bơ Niê")
    assert w.sync(u3)
    assert w.intake(u1, MARITAL, "Nguyễn Văn Đức") and w.sync(u1)
    assert w.intake(u2, MARITAL, "Trần Thị Mai") and w.sync(u2)
    assert w.sync(u1)
    verified = _anchor_size(w, u1)
    w.stop_node(u3)  # u3's computer is destroyed: it never comes back
    w.restore_hub(0)
    for i in (u1, u2):  # they give back what they hold; u3's records are missing
        assert not w.sync(i)
        assert "log_recovering" in Observer.node(w.nodes[i].db).last_error
    assert _recovering(w)
    assert _hub_log_size(w) < verified

    shown = _log_recovery(w)
    assert shown.returncode == 0, shown.stderr
    assert f"waiting for {w.nodes[u3].seed.node_id}" in shown.stdout
    closed = _log_recovery(w, "--close", "--by", "admin", "--reason", "u3 destroyed by flood")
    assert closed.returncode == 0, closed.stderr
    assert "Declared log break" in closed.stdout
    assert not _recovering(w)
    w.stop_hub(kill=True)  # a restart at once: the log head file must not reopen it
    w.start_hub()

    # u1 verified a larger checkpoint than the log now holds, and says so at every request
    assert _anchor_size(w, u1) > _hub_log_size(w)
    assert w.intake(u1, MARITAL, "Lê Hoàng Ánh")
    assert syncs_again(w, u1, within=2), Observer.node(w.nodes[u1].db).last_error
    assert not _recovering(w), "a commune proving a given-up checkpoint reopened the recovery"
    assert w.intake(u2, MARITAL, "Phạm Thị Ngọc Hân")
    assert syncs_again(w, u2, within=2), Observer.node(w.nodes[u2].db).last_error

    w.stop_hub(kill=True)
    w.start_hub()
    for _ in range(2):
        for i in (u1, u2):
            assert w.intake(i, MARITAL, "Nguyễn Văn Đức")
            assert w.sync(i), (i, Observer.node(w.nodes[i].db).last_error)
            assert not _recovering(w)
    for i in (u1, u2):
        node = Observer.node(w.nodes[i].db)
        assert node.alarms.count("log_break") == 1, node.alarms
        assert "proof_failed" not in node.alarms and "hub_rollback" not in node.alarms
        assert node.acked == node.head and node.waiting == 0
    assert any("u3 destroyed by flood" in m for m in _hub_alerts(w, "log_recovered"))
    assert u3 in w.restored_since  # gone: what it synced after the backup is declared lost
    assert w.check() == []
