"""``commune-node backup`` / ``restore``: a consistent copy taken while the desk writes (the
WAL's writes included), put back into an empty folder and marked restored."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from common import record
from commune_node import db
from commune_node.cli import main
from commune_node.models import Dossier, Event, Setting
from tests.node.conftest import Node
from tests.sync.helpers import take_in


def _events(database: Path) -> list[tuple[int, bytes]]:
    con = sqlite3.connect(database)
    try:
        return list(con.execute("SELECT seq, record FROM event ORDER BY seq"))
    finally:
        con.close()


def test_a_plain_copy_of_the_database_file_loses_what_the_wal_holds(
    node: Node, tmp_path: Path
) -> None:
    """Why the backup uses SQLite's backup API: committed dossiers still in the WAL are not in
    node.sqlite3 until a checkpoint."""
    for _ in range(3):
        take_in(node)
    copy = tmp_path / "copy.sqlite3"
    shutil.copyfile(Path(node.app.instance_path) / "node.sqlite3", copy)
    con = sqlite3.connect(copy)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
    finally:
        con.close()
    assert "event" not in tables or len(_events(copy)) < 3


def test_backup_while_the_desk_writes_is_consistent_and_restores(
    node: Node, tmp_path: Path
) -> None:
    instance = Path(node.app.instance_path)
    for _ in range(3):
        take_in(node)
    stop = threading.Event()
    taken: list[str] = []

    def desk() -> None:
        while not stop.is_set():
            taken.append(take_in(node))

    writer = threading.Thread(target=desk)
    writer.start()
    try:
        while len(taken) < 2:
            stop.wait(0.01)
        result = CliRunner().invoke(
            main, ["--instance", str(instance), "backup", str(tmp_path / "b.tar.gz")]
        )
        during = len(taken)
    finally:
        stop.set()
        writer.join()
    assert result.exit_code == 0, result.output
    assert "written to" in result.output
    assert len(taken) >= during

    target = tmp_path / "restored"
    result = CliRunner().invoke(
        main, ["--instance", str(target), "restore", str(tmp_path / "b.tar.gz")]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in target.glob("node_key*.pem")) == ["node_key.pem"]
    events = _events(target / "node.sqlite3")
    # every dossier taken in before the backup began is there, WAL writes included, and
    # the copy is one consistent state: a gap-free chain whose records verify
    assert len(events) >= 3 + 2
    assert [seq for seq, _ in events] == list(range(1, len(events) + 1))
    prev = None
    for _, raw in events:
        rec = record.parse(raw)
        assert rec.prev == prev
        prev = rec.id
    con = sqlite3.connect(target / "node.sqlite3")
    try:
        marker = json.loads(
            con.execute("SELECT value FROM setting WHERE key='restored'").fetchone()[0]
        )
        dossiers = con.execute("SELECT count(*) FROM dossier").fetchone()[0]
    finally:
        con.close()
    assert marker["head_seq"] == len(events)
    assert dossiers == len(events)


def test_restore_refuses_a_folder_that_holds_a_node_unless_forced(
    node: Node, tmp_path: Path
) -> None:
    instance = Path(node.app.instance_path)
    take_in(node)
    runner = CliRunner()
    assert (
        runner.invoke(
            main, ["--instance", str(instance), "backup", str(tmp_path / "b.tar.gz")]
        ).exit_code
        == 0
    )
    take_in(node)
    db.database(node.app).engine.dispose()
    refused = runner.invoke(
        main, ["--instance", str(instance), "restore", str(tmp_path / "b.tar.gz")]
    )
    assert refused.exit_code != 0
    assert "already holds a node" in refused.output
    forced = runner.invoke(
        main, ["--instance", str(instance), "restore", "--force", str(tmp_path / "b.tar.gz")]
    )
    assert forced.exit_code == 0, forced.output
    aside = next(instance.glob("replaced-*"))
    assert (aside / "node.sqlite3").exists()  # what was there is kept, not deleted
    assert len(_events(instance / "node.sqlite3")) == 1


def test_a_restored_node_numbers_new_dossiers_from_5001(node: Node, tmp_path: Path) -> None:
    instance = Path(node.app.instance_path)
    first = take_in(node)
    runner = CliRunner()
    runner.invoke(main, ["--instance", str(instance), "backup", str(tmp_path / "b.tar.gz")])
    target = tmp_path / "restored"
    assert (
        runner.invoke(
            main, ["--instance", str(target), "restore", str(tmp_path / "b.tar.gz")]
        ).exit_code
        == 0
    )
    from commune_node import create_app

    app = create_app(
        {"TESTING": True, "SECRET_KEY": "t", "CLOCK": node.clock}, instance_path=str(target)
    )
    restored = Node(app, node.clock, node.tokens)
    code = take_in(restored)
    assert first.endswith("-0001")
    assert code.endswith("-5001")
    with db.read_session(app) as s:
        assert s.get(Setting, "restored") is not None
        assert s.get(Dossier, code) is not None
        assert len(list(s.scalars(select(Event)))) == 2
    db.database(app).engine.dispose()
