"""A commune's laptop replaced in a fault campaign's world (docs/operations.md, "Replace a
lost or stolen laptop"): the old laptop is gone (``kill -9``), the hub administrator retires
it (``central-hub node replace``), a new laptop set up beforehand (:class:`Spare`) enrols
with the code through the commune's link, takes the commune's history back at its first
sync, and the world goes on with it in the commune's place. The old laptop may show up
again: it must be refused ``node_replaced``."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import shutil
import sqlite3
from pathlib import Path

from tests.faults.harness import (
    NodeRun,
    Observer,
    ProcessWorld,
    ThreadWorld,
    World,
    _cli,
    _hub_env,
    free_port,
    hub_app,
    node_app,
)

CODE = re.compile(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}")


def can_replace(w: World, i: int) -> bool:
    """Whether the administrator can replace node ``i``'s laptop now without losing what
    only the old laptop held: the hub is up and not rebuilding its log, it knows the commune
    and holds what the old laptop showed as synced (after a hub restore: the laptop gave it
    back), and a new laptop is ready."""
    n = w.nodes[i]
    spares = w.template.spares.get(n.seed.name, [])
    return (
        w.hub_up
        and n.laptop < len(spares)
        and i not in w.restored_since
        and i not in w.node_restored
        and not w.recovering()
    )


def replace_laptop(w: World, i: int, *, old_comes_back: bool) -> NodeRun:
    """Replace node ``i``'s laptop (see the module); the old laptop's run is returned."""
    old = w.nodes[i]
    spare = w.template.spares[old.seed.name][old.laptop]
    w.stop_node(i, kill=True)  # stolen, burnt, dead
    code = _retire(w, old.seed.node_id)
    new_dir = w.root / f"{old.seed.name}-laptop{old.laptop + 1}"
    shutil.copytree(spare.dir, new_dir)
    _enrol(w, new_dir, code, old.proxy.url)
    new = NodeRun(
        seed=dataclasses.replace(old.seed, tokens=spare.tokens),
        dir=new_dir,
        port=free_port() if w.template.processes else 0,
        proxy=old.proxy,
        max_acked_seen=old.max_acked_seen,
        handovers={**old.handovers, _first_seq(new_dir): spare.public_key},
        laptop=old.laptop + 1,
    )
    w.nodes[i] = new
    w.node_restored.add(i)  # it holds nothing until its first sync takes the history back
    w.start_node(i)
    w.sync(i)  # the IT officer's first sync (docs/operations.md)
    if old_comes_back:
        refused(w, i, old)
    return old


def refused(w: World, i: int, old: NodeRun) -> None:
    """The old laptop is switched on again and tries to sync: refused ``node_replaced``."""
    new = w.nodes[i]
    w.nodes[i] = old
    try:
        w.start_node(i)
        assert not w.sync(i), "the replaced laptop synced"
        error = Observer.node(old.db).last_error
        assert "node_replaced" in error, error[:300]
    finally:
        w.stop_node(i, kill=True)
        w.nodes[i] = new


def _first_seq(node_dir: Path) -> int:
    """The seq the new laptop signs from (its ``replacement`` setting)."""
    uri = f"file:{node_dir / 'node.sqlite3'}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as c:
        row = c.execute("select value from setting where key = 'replacement'").fetchone()
    return int(json.loads(row[0])["first_seq"])


def _retire(w: World, node_id: str) -> str:
    """``central-hub node replace``: the enrolment code for the new laptop."""
    if isinstance(w, ProcessWorld):
        out = _cli("hub", w.hub_dir, "node", "replace", "--node", node_id, "--reason",
                   "laptop stolen", env=_hub_env(w.hub_database))  # fmt: skip
        return CODE.findall(out)[-1]
    assert isinstance(w, ThreadWorld)
    from central_hub.services import identity, replacement

    app = hub_app(w.hub_dir, w.hub_database)
    try:
        with app.extensions["db"].write() as session:
            hub = identity.load_identity(session, w.hub_dir)
            done = replacement.replace(session, hub=hub, node_id=node_id,
                                       reason="laptop stolen", clock=app.extensions["clock"])  # fmt: skip
    finally:
        app.extensions["db"].engine.dispose()
    return done.code


def _enrol(w: World, node_dir: Path, code: str, url: str) -> None:
    """``commune-node enrol --hub URL --code CODE`` on the new laptop."""
    if isinstance(w, ProcessWorld):
        _cli("node", node_dir, "enrol", "--hub", url, "--code", code)
        return
    from common_io.clock import system_clock
    from commune_node import db
    from commune_node.services.enrolment import enrol
    from commune_node.transport import HttpTransport
    from commune_node.web.context import node_identity

    app = node_app(node_dir, system_clock)
    try:
        with app.app_context():
            enrol(db.database(app), identity=node_identity(), transport=HttpTransport(url),
                  hub_url=url, code=code)  # fmt: skip
    finally:
        db.database(app).engine.dispose()
