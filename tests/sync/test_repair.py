"""A record damaged on the node's disk: found, repaired from the hub or declared lost, and
the sync goes on — over real HTTP, several communes on one hub."""

from __future__ import annotations

import io
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select, text

from central_hub.models import Alert, LogRecord
from central_hub.models import Node as HubNode
from central_hub.services import export
from common import chain_break, record
from common.audit.report import Policy, Report
from common.audit.verifier import verify_bundle
from commune_node import db as node_db
from commune_node.cli import main as node_cli
from commune_node.models import Alarm, DamagedRecord, Event
from commune_node.services import storage
from tests.node.conftest import Node
from tests.node.desk import login
from tests.sync.conftest import Site, sync
from tests.sync.helpers import hub_records, take_in


def flip(node: Node, seq: int, at: int = -1) -> None:
    """Flip one bit of the stored record ``seq`` (by default in its signature)."""
    with node_db.write_session(node.app) as s:
        row = s.get(Event, seq)
        assert row is not None
        raw = bytearray(row.record)
        raw[at] ^= 0x01
        s.execute(text("UPDATE event SET record = :r WHERE seq = :s"), {"r": bytes(raw), "s": seq})


def cli(node: Node, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(node_cli, ["--instance", node.app.instance_path, *args])
    return result.exit_code, result.output


def node_id(node: Node) -> str:
    with node_db.read_session(node.app) as s:
        return str(s.scalar(text("SELECT value FROM setting WHERE key = 'node_id'")))


def alarms(node: Node) -> set[str]:
    with node_db.read_session(node.app) as s:
        return set(s.scalars(select(Alarm.kind)))


def hub_alerts(site: Site, nid: str) -> list[str]:
    with site.hub.db.read() as s:
        return list(s.scalars(select(Alert.kind).where(Alert.node_id == nid)))


def audit(site: Site) -> Report:
    buf = io.BytesIO()
    with site.hub.db.read() as s:
        export.export_bundle(
            s, buf, hub=site.hub.identity, communes=None, since=None, until=None,
            clock=site.clock,
        )  # fmt: skip
    return verify_bundle(buf.getvalue().splitlines(keepends=True), policy=Policy())


def test_a_synced_damaged_record_is_restored_from_the_hub(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    b = site.node("b", "000.00.13.H26", commune="Xã Đăk Pne")
    for _ in range(3):
        take_in(a)
    take_in(b)
    sync(a)
    sync(b)
    flip(a, 2)
    flip(a, 3, at=40)  # inside the body: the bytes no longer parse or verify
    code, out = cli(a, "verify-log")
    assert code == 1, out
    assert "seq 2: damaged" in out and "seq 3: damaged" in out and "Traceback" not in out
    code, out = cli(a, "repair")
    assert code == 0, out
    assert "seq 2: restored" in out and "seq 3: restored" in out
    code, out = cli(a, "verify-log")
    assert code == 0 and "chain intact" in out, out
    held = {r.seq: r.raw for r in hub_records(site.hub, node_id(a))}
    with node_db.read_session(a.app) as s:
        assert {e.seq: e.record for e in s.scalars(select(Event))} == held
        assert {r.seq: r.outcome for r in s.scalars(select(DamagedRecord))} == {
            2: "restored",
            3: "restored",
        }
    assert "record_restored" in alarms(a)
    take_in(a)
    assert sync(a).pushed == 1  # and the commune goes on syncing
    assert sync(b).pushed == 0


def test_a_record_damaged_again_after_its_repair_is_restored_again(site: Site) -> None:
    """Found by the fault campaign: the second repair of one seq crashed on the row the
    first had left (``damaged_record.seq`` is unique); the latest damage is kept."""
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    take_in(a)
    sync(a)
    for _ in range(2):
        flip(a, 1)
        code, out = cli(a, "repair")
        assert code == 0 and "seq 1: restored" in out, out
    code, out = cli(a, "verify-log")
    assert code == 0 and "chain intact" in out, out
    with node_db.read_session(a.app) as s:
        assert [(r.seq, r.outcome) for r in s.scalars(select(DamagedRecord))] == [(1, "restored")]


def test_an_unsynced_damaged_record_becomes_a_declared_break_and_the_rest_go(
    site: Site,
) -> None:
    a = site.node("a", "000.00.12.H26")
    b = site.node("b", "000.00.13.H26", commune="Xã Đăk Pne")
    take_in(a)
    sync(a)  # seq 1 at the hub
    for _ in range(3):
        take_in(a)  # seq 2, 3, 4: not yet sent
    take_in(b)
    flip(a, 3)
    result = sync(a)
    assert result.acked_seq == 4
    nid = node_id(a)
    stored = hub_records(site.hub, nid)
    assert [r.seq for r in stored] == [1, 2, 3, 4]
    brk = record.parse(stored[2].raw)
    assert brk.type == chain_break.TYPE and not stored[2].dead
    assert brk.data["first_seq"] == brk.data["last_seq"] == 3
    assert brk.data["last_good"] == brk.prev == stored[1].record_id
    assert record.parse(stored[3].raw).prev == brk.data["next_prev"]
    assert not stored[3].dead  # the record after the lost one is stored and applied
    # the hub administrator is told: the refusal (last_error, one alert) and the break
    with site.hub.db.read() as s:
        hub_node = s.get(HubNode, nid)
        assert hub_node is not None and "bad_signature" in (hub_node.last_error or "")
    kinds = hub_alerts(site, nid)
    assert kinds.count("record_refused") == 1 and kinds.count("chain_break") == 1
    # the officer is told; the damaged bytes are kept as a dead letter
    assert "record_lost" in alarms(a)
    with node_db.read_session(a.app) as s:
        assert [(r.seq, r.outcome) for r in s.scalars(select(DamagedRecord))] == [(3, "lost")]
    client = a.app.test_client()
    login(client, "receiver")
    page = client.get("/sync/").get_data(as_text=True)
    assert 'data-damaged="3" data-outcome="lost"' in page and "bị hỏng trên ổ đĩa" in page
    code, out = cli(a, "verify-log")
    assert code == 0 and "seq 3: lost earlier" in out, out
    # the auditor sees exactly one declared gap with its reason, and the bundle passes
    report = audit(site)
    assert report.ok, [f.as_dict() for f in report.findings]
    assert [(n.cls, n.node, n.seq) for n in report.notices] == [("declared_gap", nid, 3)]
    assert "damaged on the node's disk" in report.notices[0].message
    # and everyone goes on syncing
    take_in(a)
    assert sync(a).pushed == 1
    assert sync(b).pushed == 1
    with site.hub.db.read() as s:
        assert s.scalar(select(LogRecord.seq).where(LogRecord.node_id == nid).order_by(
            LogRecord.seq.desc()).limit(1)) == 5  # fmt: skip


def test_verify_log_on_a_damaged_database_file_says_so_without_a_traceback(
    site: Site, tmp_path: Path
) -> None:
    a = site.node("a", "000.00.12.H26")
    for _ in range(5):
        take_in(a)
    path = Path(a.app.instance_path) / "node.sqlite3"
    node_db.database(a.app).engine.dispose()
    data = bytearray(path.read_bytes())
    page = 4096
    for at in range(2 * page, len(data), page):  # wreck every page after the first two
        data[at : at + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    code, out = cli(a, "verify-log")
    assert code != 0 and "Traceback" not in out
    assert "damaged" in out and "commune-node restore" in out, out


def test_a_damaged_database_file_found_at_start_stops_intake_with_the_way_out(
    site: Site,
) -> None:
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)
    for _ in range(40):
        take_in(a)
    path = Path(a.app.instance_path) / "node.sqlite3"
    engine = node_db.database(a.app).engine
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        root = conn.exec_driver_sql(
            "SELECT rootpage FROM sqlite_master WHERE name = 'dossier'"
        ).scalar()
        size = conn.exec_driver_sql("PRAGMA page_size").scalar()
    engine.dispose()
    data = bytearray(path.read_bytes())
    at = (root - 1) * size
    data[at : at + 12] = b"\xff" * 12  # the header of one B-tree page
    path.write_bytes(bytes(data))
    found = storage.check_at_start(a.app)
    assert found is not None
    client = a.app.test_client()
    r = client.get("/login")
    assert r.status_code == 503 and "commune-node restore" in r.get_data(as_text=True)
    r = a.api(client, "POST", "/dossiers", json={})
    assert r.status_code == 503 and r.json["error"]["code"] == "database_damaged"
    assert "commune-node restore" in r.json["error"]["message"]


def test_consecutive_damaged_records_are_one_declared_gap(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)
    for _ in range(4):
        take_in(a)  # seq 2..5, not yet sent
    flip(a, 3)
    flip(a, 4, at=30)
    assert sync(a).acked_seq == 5
    stored = hub_records(site.hub, node_id(a))
    assert [r.seq for r in stored] == [1, 2, 3, 5]  # 4 is inside the declared range
    brk = record.parse(stored[2].raw)
    assert (brk.data["first_seq"], brk.data["last_seq"]) == (3, 4)
    assert record.parse(stored[3].raw).prev == brk.data["next_prev"]
    assert "proof_failed" not in alarms(a)
    report = audit(site)
    assert report.ok, [f.as_dict() for f in report.findings]
    assert [(n.cls, n.seq) for n in report.notices] == [("declared_gap", 3)]
    code, out = cli(a, "verify-log")
    assert code == 0, out
    take_in(a)
    assert sync(a).pushed == 1


def test_a_period_that_starts_or_ends_inside_a_declared_gap_exports_the_break(
    site: Site,
) -> None:
    """A break over seq 3..4 with nothing after it when it was signed; the node writes on
    from the break (seq 4, naming it), sent an hour later. The whole log, a period that
    starts after the break, and one that ends with it all pass."""
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)
    take_in(a)
    take_in(a)  # seq 2, 3, 4 (3 and 4 damaged before they are sent)
    take_in(a)
    flip(a, 3)
    flip(a, 4, at=30)
    assert sync(a).acked_seq == 3  # the break, the chain's head at the hub
    stored = hub_records(site.hub, node_id(a))
    assert [r.seq for r in stored] == [1, 2, 3]
    assert record.parse(stored[2].raw).data["last_seq"] == 4
    site.clock.advance(hours=1)
    middle = site.clock()
    site.clock.advance(hours=1)
    take_in(a)
    assert sync(a).pushed == 1  # seq 4: the node writes on from the break, naming it
    assert [r.seq for r in hub_records(site.hub, node_id(a))] == [1, 2, 3, 4]
    code, out = cli(a, "verify-log")  # the node's own check accepts what the hub accepted
    assert code == 0 and "chain intact" in out, out
    for since, until in ((None, None), (middle, None), (None, middle)):
        buf = io.BytesIO()
        with site.hub.db.read() as s:
            export.export_bundle(
                s, buf, hub=site.hub.identity, communes=["000.00.12.H26"], since=since,
                until=until, clock=site.clock,
            )  # fmt: skip
        report = verify_bundle(buf.getvalue().splitlines(keepends=True), policy=Policy())
        assert report.ok, (since, until, [f.as_dict() for f in report.findings])
