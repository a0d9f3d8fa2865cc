"""A commune's laptop is stolen, with real ``central-hub`` and ``commune-node`` processes
(SQLite and PostgreSQL hubs): the administrator runs ``central-hub node replace``, a new
laptop is set up and enrolled with the code, takes back the commune's whole history and
goes on numbering after it; the stolen laptop, when it shows up again, is refused and told
it was replaced; the other commune syncs on."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from tests.faults.harness import (
    MARITAL,
    PASSWORD,
    PATIENCE,
    Observer,
    ProcessWorld,
    Template,
    _cli,
    _hub_env,
    _stop,
    free_port,
    pg_clone,
    pg_drop_all,
    required_documents,
    start_server,
)
from tests.faults.test_node_restore import hub_alerts, hub_names


@pytest.fixture
def world(life_template: Template, tmp_path: Path) -> Iterator[ProcessWorld]:
    db = None
    if life_template.hub_database:
        db = pg_clone(life_template.hub_database, f"replace{os.getpid()}")
    w = ProcessWorld(life_template, tmp_path / "w", hub_database=db)
    try:
        w.start()
        yield w
    finally:
        w.close()
        if db:
            pg_drop_all(db)


def test_a_stolen_laptop_is_replaced(world: ProcessWorld, tmp_path: Path) -> None:
    w = world
    u1 = w.nodes[0]
    codes = [w.intake(0, MARITAL, "Nguyễn Văn An") for _ in range(2)]
    assert w.sync(0)
    w.intake(1, MARITAL, "Phạm Thị Bình")
    assert w.sync(1)
    codes.append(w.intake(0, MARITAL, "Trần Thị Lan"))
    assert w.sync(0)
    w.stop_node(0, kill=True)  # stolen

    out = _cli("hub", w.hub_dir, "node", "replace", "--node", u1.seed.node_id, "--reason",
               "laptop stolen", env=_hub_env(w.hub_database))  # fmt: skip
    assert "1 key(s) revoked after record 3" in out
    code = re.findall(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", out)[0]

    new = tmp_path / "u1-new"
    _cli("node", new, "init", "--commune", u1.seed.commune, "--agency-code", u1.seed.agency,
         env={"COMMUNE_NODE_ADMIN_PASSWORD": PASSWORD})  # fmt: skip
    _cli("node", new, "officer", "add", "hoa.le", "--name", "Lê Thị Hoa", "--role", "receiver",
         "--password", PASSWORD)  # fmt: skip
    token = _cli("node", new, "officer", "token", "hoa.le")
    (new / "config.py").write_text("SESSION_COOKIE_SECURE = False\n")
    _cli("node", new, "enrol", "--hub", u1.proxy.url, "--code", code)
    out = _cli("node", new, "sync")
    assert "synced up to record 3" in out, out
    view = Observer.node(new / "node.sqlite3", with_states=True)
    assert set(view.states) == set(codes)  # the commune's history is back
    assert "node_restored" in view.alarms

    proc, port = start_server(
        [sys.executable, "-m", "commune_node.cli", "--instance", str(new), "run",
         "--sync-interval", "0"],
        free_port(), "/login", env=dict(os.environ), log=tmp_path / "u1-new.log",
    )  # fmt: skip
    try:
        r = requests.post(
            f"http://127.0.0.1:{port}/api/v1/dossiers",
            json={
                "procedure": MARITAL,
                "applicant_name": "Võ Thị Mai",
                "id_number": "062095001234",
                "phone": "0912345678",
                "address": "thôn 3",
                "documents": required_documents(MARITAL),
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=PATIENCE,
        )
        assert r.status_code == 201, r.text
        nxt = r.json()["dossier"]["code"]
    finally:
        _stop(proc, kill=False)
    assert nxt.endswith("-0004")  # the counter goes on where the hub's copy ends
    assert "synced up to record 4" in _cli("node", new, "sync")
    names = hub_names(w, u1.seed.agency)
    assert set(names) == {*codes, nxt}

    w.start_node(0)  # the stolen laptop shows up again
    assert not w.sync(0)
    assert "node_replaced" in Observer.node(u1.db).last_error
    assert "node_replaced" in Observer.node(u1.db).alarms
    assert "thay bằng máy mới" in w.sync_page(0)  # its officers are told
    kinds = hub_alerts(w)
    assert {"node_retired", "node_replaced", "replaced_laptop_used"} <= set(kinds)
    assert w.sync(1)  # the other commune syncs on
    with w.observer.hub_engine.connect() as c:
        assert not c.execute(text("select count(*) from equivocation")).scalar()
