"""Worlds of real processes for the tests of a commune's life events (key rotation, a hub
restore closed early): a hub and three communes made once per hub database, each test
starting from a copy."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path

from tests.faults.harness import ProcessWorld, Template, World, pg_clone, pg_drop_all

_worlds = count()


@contextmanager
def process_world(template: Template, tmp_path: Path) -> Iterator[ProcessWorld]:
    """A started :class:`ProcessWorld` copied from ``template`` (on PostgreSQL, with its own
    database); stopped and its databases dropped afterwards."""
    db = None
    if template.hub_database:
        db = pg_clone(template.hub_database, f"life{os.getpid()}_{next(_worlds)}")
    w = ProcessWorld(template, tmp_path / "world", hub_database=db)
    try:
        w.start()
        yield w
    finally:
        w.close()
        if db:
            pg_drop_all(db)


def syncs_again(w: World, i: int, *, within: int) -> bool:
    """Whether node ``i`` completes a sync without error within ``within`` attempts."""
    return any(w.sync(i) for _ in range(within))


def every_commune_syncs(w: World, *, rounds: int) -> bool:
    """Whether, within ``rounds`` rounds of "sync now" on every node in turn, a round ends
    with every node synced (one may wait ``log_recovering`` for another's records)."""
    return any(all([w.sync(i) for i in range(len(w.nodes))]) for _ in range(rounds))
