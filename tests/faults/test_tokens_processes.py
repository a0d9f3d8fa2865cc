"""Bearer tokens with real processes: a token the CLI prints is committed first, so a
running desk knows it at once, and a ``kill -9`` of the desk loses none (the process
campaign's one ``401 unknown or revoked`` was another server answering on a reused port,
``tests/faults/test_harness.py``; this pins that no token is lost or late)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.faults.harness import MARITAL, PATIENCE, ProcessWorld, Template, _cli
from tests.faults.lifecycle import process_world

pytestmark = pytest.mark.slow


@pytest.fixture
def world(three_communes: Template, tmp_path: Path) -> Iterator[ProcessWorld]:
    with process_world(three_communes, tmp_path) as w:
        yield w


def _status(w: ProcessWorld, i: int, token: str) -> int:
    r = requests.get(w.nodes[i].url + "/api/v1/dossiers", timeout=PATIENCE,
                     headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    return int(r.status_code)


@pytest.mark.parametrize("three_communes", ["sqlite"], indirect=True)  # the node's own database
def test_a_token_the_cli_printed_works_at_once_and_after_a_kill(world: ProcessWorld) -> None:
    w = world
    fresh = [_cli("node", w.nodes[0].dir, "officer", "token", "hoa.le") for _ in range(3)]
    for token in fresh:  # the desk was running while they were issued
        assert _status(w, 0, token) == 200
    w.stop_node(0, kill=True)
    w.start_node(0)
    for token in [*fresh, *w.nodes[0].seed.tokens.values()]:
        assert _status(w, 0, token) == 200
    assert w.intake(0, MARITAL, "Nguyễn Văn Đức")
    assert _status(w, 0, "dn_" + "x" * 43) == 401  # an unknown token is still refused
