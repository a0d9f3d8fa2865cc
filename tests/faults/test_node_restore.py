"""A commune laptop put back from an older backup, with real ``central-hub`` and
``commune-node`` processes (SQLite and PostgreSQL hubs): the backup is taken while the desk
runs, the disk dies after more dossiers were synced, the backup is restored, the desk takes
dossiers before the next sync — and that sync brings everything back, no code is held by two
citizens, the officer and the administrator are told, and every commune syncs on."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.faults.harness import (
    MARITAL,
    Observer,
    ProcessWorld,
    Template,
    _cli,
    pg_clone,
    pg_drop_all,
)


@pytest.fixture
def world(life_template: Template, tmp_path: Path) -> Iterator[ProcessWorld]:
    db = None
    if life_template.hub_database:
        db = pg_clone(life_template.hub_database, f"restore{os.getpid()}")
    w = ProcessWorld(life_template, tmp_path / "w", hub_database=db)
    try:
        w.start()
        yield w
    finally:
        w.close()
        if db:
            pg_drop_all(db)


def hub_alerts(w: ProcessWorld) -> list[str]:
    with w.observer.hub_engine.connect() as c:
        return [r[0] for r in c.execute(text("select kind from alert")).all()]


def hub_names(w: ProcessWorld, agency: str) -> dict[str, str]:
    """Each dossier's applicant as the hub holds it: the keyed hash of the name (the name
    itself is only in the encrypted ``disclosure`` table), told back by trying ``NAMES``."""
    from central_hub.services.identity import load_data_key
    from common import personal, validators

    key = personal.lookup_key(load_data_key(w.hub_dir))
    known = {personal.lookup_hash(key, "name", validators.fold_diacritics(n)): n for n in NAMES}
    with w.observer.hub_engine.connect() as c:
        rows = c.execute(
            text("select code, applicant_key from hub_dossier where code like :p"),
            {"p": f"{agency}-%"},
        ).all()
    return {code: known.get(str(k), str(k)) for code, k in rows}


NAMES = ("Lê Văn Hùng", "Nguyễn Văn Đức", "Trần Thị Lan")


def test_a_laptop_restored_from_last_weeks_backup_recovers(
    world: ProcessWorld, tmp_path: Path
) -> None:
    w = world
    u1 = w.nodes[0]
    early = [w.intake(0, MARITAL, "Nguyễn Văn An") for _ in range(2)]
    assert w.sync(0)
    w.intake(1, MARITAL, "Phạm Thị Bình")
    assert w.sync(1)
    archive = tmp_path / "u1-backup.tar.gz"
    out = _cli("node", u1.dir, "backup", str(archive))  # while the desk runs
    assert "records up to 2" in out
    lost = [w.intake(0, MARITAL, "Trần Thị Lan") for _ in range(3)]
    assert w.sync(0)
    w.intake(1, MARITAL, "Phạm Thị Bình")
    assert w.sync(1)

    w.stop_node(0, kill=True)  # the disk dies
    shutil.rmtree(u1.dir)
    out = _cli("node", u1.dir, "restore", str(archive))
    assert "restored" in out
    w.start_node(0)
    u1.csrf = ""
    with contextlib.suppress(Exception):
        u1.http.cookies.clear()
    offline = [w.intake(0, MARITAL, "Lê Văn Hùng") for _ in range(3)]
    assert [c and c[-4:] for c in offline] == ["5001", "5002", "5003"]

    assert w.sync(0), Observer.node(u1.db).last_error
    view = Observer.node(u1.db)
    assert "node_restored" in view.alarms and "hub_mismatch" not in view.alarms
    assert "Máy đã lấy lại 3 bản ghi" in w.sync_page(0)  # the officer is told
    assert "node_restored" in hub_alerts(w)  # the administrator is told
    names = hub_names(w, u1.seed.agency)
    assert set(names) == {*early, *lost, *offline}  # nothing lost, no code for two
    assert [names[c] for c in offline] == ["Lê Văn Hùng"] * 3
    assert w.converge() == []  # every commune syncs on; node and hub agree
