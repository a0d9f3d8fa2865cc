"""Key rotation with real processes: ``central-hub run`` and ``commune-node run`` started
from the CLIs, ``commune-node rotate-key`` run beside a desk that keeps serving, SQLite and
PostgreSQL hubs (docs/operations.md, "Rotate a commune's key")."""

from __future__ import annotations

import contextlib
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from common import record
from tests.faults.harness import (
    MARITAL,
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


def _signer_of_head(w: World, i: int) -> str:
    with contextlib.closing(sqlite3.connect(f"file:{w.nodes[i].db}?mode=ro", uri=True)) as c:
        raw = c.execute("select record from event order by seq desc limit 1").fetchone()[0]
    return record.parse(bytes(raw)).key


def _rotation_seqs(w: World, i: int) -> list[int]:
    with contextlib.closing(sqlite3.connect(f"file:{w.nodes[i].db}?mode=ro", uri=True)) as c:
        rows = c.execute("select seq from event where type = 'key.rotated' order by seq")
        return [int(r[0]) for r in rows]


def _hub_alerts(w: World, kind: str) -> list[str]:
    with w.observer.hub_engine.connect() as c:
        rows = c.execute(text("select message from alert where kind = :k"), {"k": kind})
        return [r[0] for r in rows]


def _hub_keys(w: World, i: int) -> dict[str, tuple[int, int | None]]:
    """The hub's keys of node ``i``: key id → (first seq, last valid seq)."""
    with w.observer.hub_engine.connect() as c:
        rows = c.execute(
            text("select key_id, first_seq, last_valid_seq from node_key where node_id = :n"),
            {"n": w.nodes[i].seed.node_id},
        )
        return {r[0]: (int(r[1]), r[2]) for r in rows}


def test_rotate_key_beside_a_running_desk_after_another_commune_pushed(
    world: ProcessWorld,
) -> None:
    """u1 sync; u2 sync; u1 rotate-key (its desk running); u1 sync: the log grew between
    u1's syncs, so u1 cosigns with its new key before the hub has the rotation record. The
    running desk signs with the new key at once, the sync succeeds and keeps succeeding,
    and the old key file is gone once the hub acknowledged the rotation."""
    w = world
    assert w.intake(0, MARITAL, "Nguyễn Văn Đức") and w.sync(0)
    assert w.intake(1, MARITAL, "Trần Thị Mai") and w.sync(1)
    first_key = w.nodes[0].dir / "node_key.pem"
    old = w.nodes[0].seed.node_id
    assert first_key.exists()
    new = w.rotate_key(0)
    assert new != old
    assert w.intake(0, MARITAL, "Lê Hoàng Ánh")  # the running desk, after the rotation
    assert _signer_of_head(w, 0) == new
    assert w.sync(0), Observer.node(w.nodes[0].db).last_error
    assert not first_key.exists(), "the replaced key is deleted once the hub holds the rotation"
    assert (w.nodes[0].dir / f"node_key.{new}.pem").exists()
    for _ in range(2):
        for i in (0, 1, 2):
            assert w.intake(i, MARITAL, "Phạm Thị Ngọc Hân")
            assert w.sync(i), (i, Observer.node(w.nodes[i].db).last_error)
    node = Observer.node(w.nodes[0].db)
    assert node.acked == node.head and node.waiting == 0
    [rotation] = _rotation_seqs(w, 0)
    assert _hub_keys(w, 0) == {old: (1, rotation), new: (rotation + 1, None)}
    assert _hub_alerts(w, "bad_cosignature") == []
    assert w.converge() == []


def test_rotations_at_random_moments_under_load(world: ProcessWorld) -> None:
    """Three communes take dossiers and sync without pause while u1 and u2 each rotate their
    key at a random moment (u1 twice): nothing is refused or lost, and every commune syncs
    again within a few syncs of each rotation."""
    w = world
    rng = random.Random(11)
    stop = threading.Event()
    failures: list[BaseException] = []

    def desk(i: int) -> None:
        try:
            while not stop.is_set():
                w.intake(i, MARITAL, "Y Bơ Niê")
                w.sync(i)
        except BaseException as exc:  # reported below, with the step that failed
            failures.append(exc)

    workers = [threading.Thread(target=desk, args=(i,)) for i in range(3)]
    for t in workers:
        t.start()
    rotated: list[tuple[int, str]] = []
    try:
        for i in (0, 1, 0):
            time.sleep(rng.uniform(0.5, 3.0))
            rotated.append((i, w.rotate_key(i)))
    finally:
        time.sleep(1.0)
        stop.set()
        for t in workers:
            t.join()
    assert not failures, failures
    for i in range(3):
        assert syncs_again(w, i, within=3), (i, Observer.node(w.nodes[i].db).last_error)
    assert w.check() == []
    assert w.converge() == []
    for i in (0, 1):
        assert _signer_of_head(w, i) == [k for j, k in rotated if j == i][-1]
    assert not (w.nodes[0].dir / "node_key.pem").exists()
    assert sorted(p.name for p in w.nodes[0].dir.glob("node_key*.pem")) == [
        f"node_key.{rotated[-1][1]}.pem"
    ]
    assert _hub_alerts(w, "bad_cosignature") == []
