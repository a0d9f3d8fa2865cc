"""A record damaged on a commune laptop's disk, with real ``central-hub`` and
``commune-node`` processes (SQLite and PostgreSQL hub): an unsynced one is declared lost by a
signed break and the records after it still go; a synced one is restored from the hub; the
officer (sync page) and the administrator (alerts, last error) are told; every commune
syncs again."""

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
    ProcessWorld,
    Template,
    build_template,
    chain_problems,
    pg_clone,
    pg_drop_all,
)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Template]:
    if request.param == "sqlite":
        yield build_template(tmp_path_factory.mktemp("tmpl-dmg"), nodes=2, processes=True)
        return
    from tests.support import fresh_postgres_database

    with fresh_postgres_database() as url:
        yield build_template(tmp_path_factory.mktemp("tmpl-dmg-pg"), nodes=2, processes=True,
                             hub_database=url)  # fmt: skip


@pytest.fixture
def world(template: Template, tmp_path: Path) -> Iterator[ProcessWorld]:
    db = None
    if template.hub_database:
        db = pg_clone(template.hub_database, f"dmg{os.getpid()}")
    w = ProcessWorld(template, tmp_path / "w", hub_database=db)
    try:
        w.start()
        yield w
    finally:
        w.close()
        if db:
            pg_drop_all(db)


def flip(node_db: Path, seq: int) -> None:
    """One bit of the stored record ``seq`` flips (in its signature), under the running desk."""
    with contextlib.closing(sqlite3.connect(node_db, timeout=30)) as c, c:
        raw = bytearray(c.execute("select record from event where seq = ?", (seq,)).fetchone()[0])
        raw[-1] ^= 0x01
        c.execute("update event set record = ? where seq = ?", (bytes(raw), seq))


def node_cli(instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "commune_node.cli", "--instance", str(instance), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def head(node_db: Path) -> int:
    with contextlib.closing(sqlite3.connect(node_db, timeout=30)) as c:
        return int(c.execute("select max(seq) from event").fetchone()[0])


def test_a_damaged_record_is_repaired_or_declared_and_every_commune_syncs_again(
    world: ProcessWorld,
) -> None:
    w = world
    a, b = w.nodes
    w.intake(0, MARITAL, "Nguyễn Văn An")
    w.intake(0, MARITAL, "Trần Thị Bình")
    assert w.sync(0)
    synced = head(a.db)
    for name in ("Lê Văn Cường", "Phạm Thị Dung", "Võ Văn Em"):
        w.intake(0, MARITAL, name)
    w.intake(1, MARITAL, "Đỗ Thị Giang")
    flip(a.db, synced + 2)  # not yet at the hub
    flip(a.db, synced)  # at the hub already
    # the officer's "sync now": the unsynced record is declared lost, the rest go
    assert w.sync(0)
    page = w.sync_page(0)
    assert "bị hỏng trên ổ đĩa" in page  # the record_lost alarm
    assert f'data-damaged="{synced + 2}" data-outcome="lost"' in page
    # verify-log lists the damaged synced record, no traceback; repair restores it
    done = node_cli(a.dir, "verify-log")
    assert done.returncode == 1 and f"seq {synced}: damaged" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    done = node_cli(a.dir, "repair")
    assert done.returncode == 0 and f"seq {synced}: restored" in done.stdout, done
    done = node_cli(a.dir, "verify-log")
    assert done.returncode == 0 and "chain intact" in done.stdout, done
    assert f"seq {synced + 2}: lost earlier" in done.stdout
    # the hub: one declared break, no chain problem; the administrator is told
    hub = w.observer.hub()
    assert chain_problems(hub, a.seed.node_id) == []
    assert chain_problems(hub, b.seed.node_id) == []
    assert len(hub.breaks) == 1
    with w.observer.hub_engine.connect() as c:
        kinds = [
            r[0]
            for r in c.execute(
                text("select kind from alert where node_id = :n"), {"n": a.seed.node_id}
            )
        ]
        last_error = c.execute(
            text("select last_error from node where node_id = :n"), {"n": a.seed.node_id}
        ).scalar()
    assert kinds.count("record_refused") == 1 and kinds.count("chain_break") == 1
    assert "bad_signature" in (last_error or "")
    # every commune syncs again
    w.intake(0, MARITAL, "Hồ Văn Hải")
    assert w.sync(0) and w.sync(1)
    hub = w.observer.hub()
    assert chain_problems(hub, a.seed.node_id) == []
    assert hub.heads[a.seed.node_id] == head(a.db)
