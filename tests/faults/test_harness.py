"""The campaign's harness itself: a server it starts is the process it started, whoever else
starts servers on this machine, and a node's link comes up even when its port is taken."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults import laptops
from tests.faults.harness import (
    MARITAL,
    Observer,
    Template,
    ThreadWorld,
    _link,
    _stop,
    build_template,
    listens,
    node_codes,
    start_server,
)
from tests.faults.lifecycle import every_commune_syncs, syncs_again
from tests.support import ThreadServer, serve

# A tiny server with the CLIs' calling convention (``… --port N``): it answers "mine".
SERVER = (
    "import sys, wsgiref.simple_server as s\n"
    "def app(env, start):\n"
    "    start('200 OK', [('Content-Length', '4')])\n"
    "    return [b'mine']\n"
    "s.make_server('127.0.0.1', int(sys.argv[-1]), app).serve_forever()\n"
)


def other(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Length", "5")])
    return [b"other"]


@pytest.fixture
def held() -> Iterator[ThreadServer]:
    """Another server, of another test run, on a port of its own."""
    with serve(other) as server:
        yield server


def test_listens_tells_the_owner_of_a_listening_socket() -> None:
    with socket.socket() as s, socket.socket() as bound_only:
        s.bind(("127.0.0.1", 0))
        s.listen()
        bound_only.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        if listens(os.getpid(), port) is None:
            pytest.skip("no /proc/net tables here")
        assert listens(os.getpid(), port) is True
        assert listens(os.getppid(), port) is False
        assert listens(os.getpid(), bound_only.getsockname()[1]) is False  # not listening


def test_a_server_on_a_port_another_process_took_is_not_taken_for_ours(
    held: ThreadServer, tmp_path: Path
) -> None:
    """Regression: the campaign restarted a killed node on its old port, which another test
    run's commune node had taken in the meantime; the restart could not bind and exited, but
    the harness took the other node's answer for it, and the next intake with this node's
    bearer token got "401 unauthorised — the bearer token is unknown or revoked"."""
    if listens(os.getpid(), held.port) is None:
        pytest.skip("no /proc/net tables here")
    proc, port = start_server([sys.executable, "-c", SERVER], held.port, "/",
                              env=dict(os.environ), log=tmp_path / "server.log")  # fmt: skip
    try:
        assert port != held.port  # moved to a free port…
        assert listens(proc.pid, port)  # …where the process started is the one that listens
        import requests

        assert requests.get(f"http://127.0.0.1:{port}/", timeout=30).content == b"mine"
    finally:
        _stop(proc, kill=True)


def test_a_link_whose_port_is_taken_moves_and_the_node_follows(
    held: ThreadServer, tmp_path: Path
) -> None:
    db = tmp_path / "node.sqlite3"
    with contextlib.closing(sqlite3.connect(db)) as c, c:
        c.execute("create table setting (key text primary key, value text)")
        c.execute("insert into setting values ('hub_url', ?)", (f"http://127.0.0.1:{held.port}",))
    proxy = _link(tmp_path, held.port, hub_port=held.port)
    try:
        assert proxy.port != held.port
        with contextlib.closing(sqlite3.connect(db)) as c:
            assert c.execute("select value from setting").fetchone() == (proxy.url,)
    finally:
        proxy.close()


@pytest.fixture(scope="module")
def two_communes(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return build_template(tmp_path_factory.mktemp("tmpl-life"), nodes=2, processes=False,
                          life=True)  # fmt: skip


def test_the_campaigns_life_events_end_with_every_commune_syncing(
    two_communes: Template, tmp_path: Path
) -> None:
    """The steps the campaign draws at random, in one fixed order: a laptop put back from an
    older copy with offline intake, a flipped byte repaired from the hub, a hub restore
    closed early, a clock years off, a laptop replaced (the old one refused when it comes
    back), a hub put back from before a commune's enrolment; every commune syncs again and
    the invariants hold."""
    w = ThreadWorld(two_communes, tmp_path / "w")
    try:
        w.start()
        assert w.intake(0, MARITAL, "Nguyễn Văn Đức") and w.sync(0)
        w.backup_node(0)
        w.backup_hub()
        assert w.intake(0, MARITAL, "Trần Thị Mai") and w.intake(1, MARITAL, "Lê Hoàng Ánh")
        assert w.sync(0) and w.sync(1)
        w.restore_node(0, 0)
        w.nodes[0].proxy.set_down(True)
        offline = w.intake(0, MARITAL, "Phạm Thị Ngọc Hân")
        assert offline is not None and offline.endswith("-5001")
        w.nodes[0].proxy.set_down(False)
        assert w.sync(0), Observer.node(w.nodes[0].db).last_error
        assert w.check() == []
        assert w.flip_synced_record(0, 1) is not None
        w.restore_hub(0)
        assert not w.sync(1) and w.recovering()  # it waits for node 0's records
        assert w.close_recovery()
        assert syncs_again(w, 0, within=2) and syncs_again(w, 1, within=2)
        w.set_clock(1, (3 * 365 + 1) * 86400)
        assert w.intake(1, MARITAL, "Y Bơ Niê") and w.sync(1)
        assert w.check() == []

        held = set(node_codes(w.nodes[0].db))
        assert laptops.can_replace(w, 0)
        old = laptops.replace_laptop(w, 0, old_comes_back=True)
        assert w.nodes[0].dir != old.dir and set(node_codes(w.nodes[0].db)) == held
        code = w.intake(0, MARITAL, "Võ Thị Mai")  # the counter goes on after the hub's
        assert code is not None and code not in held and not code.endswith("-5001")
        assert syncs_again(w, 0, within=2) and syncs_again(w, 1, within=2)
        assert w.check() == []

        w.restore_hub_before_enrolment(1)  # the hub no longer knows commune 1
        assert every_commune_syncs(w, rounds=3), [Observer.node(n.db).last_error for n in w.nodes]
        assert Observer.node(w.nodes[1].db).alarms.count("hub_reintroduced") == 1
        assert not w.recovering()  # the recovery ended
        assert w.check() == []
        w.restore_hub_before_enrolment(0)  # nor either commune
        assert every_commune_syncs(w, rounds=3), [Observer.node(n.db).last_error for n in w.nodes]
        assert Observer.node(w.nodes[0].db).alarms.count("hub_reintroduced") == 1
        assert not w.recovering()
        assert w.converge() == []

    finally:
        w.close()
