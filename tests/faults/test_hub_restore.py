"""The hub's database put back from an older backup, between real nodes and a real hub over
HTTP: the hub rebuilds the very log the communes witnessed from what they give back
(central_hub/services/recovery.py), and nothing is lost, stored twice or forked."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select

from central_hub import loghead
from central_hub.cli import main as hub_cli
from central_hub.models import Alert, Checkpoint, HubDossier, LogBreak, RefillRecord
from central_hub.services import export, processing, recovery, translog
from common import keys, protocol
from common.audit.report import Report
from common.audit.verifier import verify_bundle
from common.calendar import WorkingCalendar
from commune_node import db as node_db
from commune_node.models import Alarm, Event
from commune_node.services.hublink import Client, SyncRefused
from commune_node.services.identity import get_setting, set_setting
from commune_node.web.context import node_identity
from tests.faults.conftest import ProxyFactory
from tests.faults.harness import pg_copy, pg_restore, sqlite_copy
from tests.faults.test_link_faults import acked, linked, node_id
from tests.hub.test_pages import ADMIN, OFFICER, Person
from tests.node.conftest import Node
from tests.sync.conftest import Site, sync
from tests.sync.helpers import CRIMINAL_RECORD, act, hub_count, hub_records, take_in


def _backup(site: Site, tmp_path: Path) -> str:
    """A copy of the hub's database as it is now (SQLite file or PostgreSQL database), and
    of its log head file (for a restore of the whole instance folder)."""
    name = f"backup{len(list(tmp_path.glob('backup*')))}"
    (tmp_path / name).write_bytes(_head_file(site).read_bytes())
    site.hub.db.engine.dispose()
    if site.hub.db.engine.dialect.name == "postgresql":
        pg_copy(_url(site), name)
    else:
        sqlite_copy(tmp_path / "hub" / "hub.sqlite3", tmp_path / f"{name}.sqlite3")
    return name


def _restore(site: Site, tmp_path: Path, name: str, *, head_too: bool = False) -> None:
    """Put an earlier copy of the database back in place, and restart the hub (it checks
    its log head file again). ``head_too``: the instance folder was put back as well, so
    the head file is as old as the database and only the communes can tell."""
    site.hub.db.engine.dispose()
    if site.hub.db.engine.dialect.name == "postgresql":
        pg_restore(_url(site), name)
    else:
        sqlite_copy(tmp_path / f"{name}.sqlite3", tmp_path / "hub" / "hub.sqlite3")
    if head_too:
        _head_file(site).write_bytes((tmp_path / name).read_bytes())
    site.hub.db.engine.dispose()
    site.hub.app.extensions.pop("loghead_checked", None)  # as after a restart


def _head_file(site: Site) -> Path:
    return Path(site.hub.app.instance_path) / "log_head"


def _url(site: Site) -> str:
    return site.hub.db.engine.url.render_as_string(hide_password=False)


def _restore_hub_from_an_earlier_backup(
    site: Site, tmp_path: Path, a: Node, b: Node, *, head_too: bool = False, b_first: bool = False
) -> None:
    """Both nodes sync; a backup of the hub is taken; more records sync (a's first, unless
    ``b_first``); the backup is put back (the hub now holds less than the nodes have
    receipts and checkpoints for)."""
    take_in(a)
    take_in(b)
    sync(a)
    sync(b)
    backup = _backup(site, tmp_path)
    for _ in range(3):
        take_in(a)
        take_in(b)
    for n in (b, a) if b_first else (a, b):
        sync(n)
    _restore(site, tmp_path, backup, head_too=head_too)


def _anchor(n: Node) -> tuple[int, str]:
    with node_db.read_session(n.app) as s:
        return int(get_setting(s, "anchor_size", "0") or 0), get_setting(s, "anchor_root") or ""


def _hub_root(site: Site, size: int) -> str | None:
    with site.hub.db.read() as s:
        cp = s.get(Checkpoint, size)
        return cp.root if cp else None


def _client(site: Site, n: Node) -> Client:
    """The node's own signed-request client (its real key), for hand-made requests."""
    with n.app.app_context():
        ident = node_identity()
    return Client(node_db.database(n.app), ident, n.app.config["SYNC_TRANSPORT"](), site.clock)


def _audit(site: Site, checkpoint: bytes, sizes: list[int]) -> Report:
    """Export every commune's records and verify them against ``checkpoint``."""
    out = io.BytesIO()
    with site.hub.db.read() as s:
        export.export_bundle(s, out, hub=site.hub.identity, communes=None, since=None,
                             until=None, checkpoint_sizes=sizes)  # fmt: skip
    return verify_bundle(
        out.getvalue().splitlines(),
        trusted_checkpoint=checkpoint,
        hub_public_key=keys.public_bytes(site.hub.identity.key),
    )


def _recovering(site: Site) -> bool:
    with site.hub.db.read() as s:
        return recovery.current(s) is not None


def test_a_restored_hub_rebuilds_the_log_the_communes_witnessed(site: Site, tmp_path: Path) -> None:
    a = site.node("a", "000.00.12.H26")
    b = site.node("b", "000.00.13.H26")
    _restore_hub_from_an_earlier_backup(site, tmp_path, a, b)
    witnessed = _anchor(b)  # the largest tree any commune verified
    take_in(a)
    # a gives back its lost records at their leaves; the hub then waits for b (which also
    # witnessed more than the backup holds) before it takes a's new record.
    with pytest.raises(SyncRefused) as info:
        sync(a)
    assert info.value.code == "log_recovering" and info.value.retryable
    assert hub_count(site.hub, node_id(a)) == 4 and acked(a) == 4
    assert _recovering(site)
    with node_db.read_session(a.app) as s:
        assert "hub_restored" in {x.kind for x in s.scalars(select(Alarm))}
    page = a.app.test_client()
    from tests.node.desk import login

    login(page, "receiver")
    shown = page.get("/sync/").get_data(as_text=True)
    assert 'data-error-code="log_recovering"' in shown and "không cần làm gì thêm" in shown
    admin = Person(site.hub.app, ADMIN)
    banner = admin.get("/nodes").text
    assert 'id="log-recovery"' in banner  # the target: the hub's own log head file
    assert f'data-target="{witnessed[0]}"' in banner and "1 xã chưa liên lạc" in banner
    # b gives back its own: the log is exactly the tree b verified, and the recovery closes
    sync(b)
    assert not _recovering(site)
    assert 'id="log-recovery"' not in admin.get("/nodes").text
    assert _hub_root(site, witnessed[0]) == witnessed[1]
    assert hub_count(site.hub, node_id(b)) == 4 and acked(b) == 4
    # from there on, both go on as before: a's waiting record goes in on top
    result = sync(a)
    assert result.pushed == 1 and acked(a) == 5
    take_in(b)
    assert sync(b).pushed == 1 and acked(b) == 5
    for n in (a, b):
        with node_db.read_session(n.app) as s:
            kinds = {x.kind for x in s.scalars(select(Alarm))}
        assert "proof_failed" not in kinds and "hub_rollback" not in kinds
        assert [r.seq for r in hub_records(site.hub, node_id(n))] == [1, 2, 3, 4, 5]
    with site.hub.db.read() as s:
        alerts = [(x.kind, x.node_id) for x in s.scalars(select(Alert))]
        assert s.scalar(select(RefillRecord.seq)) is None  # nothing left staged
    assert ("log_recovery", None) in alerts and ("log_recovered", None) in alerts
    assert alerts.count(("log_behind_witness", node_id(b))) == 1


def test_after_the_rebuild_an_auditor_finds_the_log_whole(site: Site, tmp_path: Path) -> None:
    """The auditor's bundle from the rebuilt hub verifies against the checkpoint a commune
    verified before the restore, obtained separately: nothing lost, nothing forked. A
    cosignature b still held for a checkpoint the restore lost does not stall it."""
    a = site.node("a", "000.00.12.H26")
    b = site.node("b", "000.00.13.H26")
    _restore_hub_from_an_earlier_backup(site, tmp_path, a, b)
    with node_db.read_session(b.app) as s:
        witnessed = protocol.unb64(get_setting(s, "anchor_checkpoint"), "checkpoint")
    with b.app.app_context():
        ident = node_identity()
    size, root = _anchor(b)
    body = {"origin": site.hub.identity.origin, "root": root, "size": size, "time": "x"}
    cosig = protocol.sign_statement(
        protocol.COSIGNATURE_PREFIX,
        protocol.cosignature_body(body, node=ident.node_id, key=ident.key_id),
        ident.key,
    )
    with node_db.write_session(b.app) as s:
        set_setting(s, "pending_cosignature", protocol.b64(cosig))
    for n in (a, b, a):
        sync(n)
    assert not _recovering(site)
    take_in(a)
    sync(a)
    report = _audit(site, witnessed, [size])
    assert report.ok, report.by_class


def test_a_hub_restored_from_a_backup_catches_up_from_the_nodes(site: Site, tmp_path: Path) -> None:
    """The instance folder was put back too (its log head file as old as the database): the
    communes' reports alone open the recovery, and it still completes."""
    a = site.node("a", "000.00.12.H26")
    b = site.node("b", "000.00.13.H26")
    _restore_hub_from_an_earlier_backup(site, tmp_path, a, b, head_too=True)
    take_in(a)
    for n in (a, b, a, b):
        try:
            sync(n)
        except SyncRefused as exc:
            assert exc.code == "log_recovering"
    assert hub_count(site.hub, node_id(a)) == 5 and acked(a) == 5
    assert hub_count(site.hub, node_id(b)) == 4 and acked(b) == 4
    take_in(b)
    sync(b)  # and the node goes on syncing afterwards
    assert acked(b) == 5


def test_records_whose_receipt_was_lost_are_placed_by_the_witnessed_roots(
    site: Site, tmp_path: Path, fault_proxy: ProxyFactory
) -> None:
    """a's push was stored but its answer lost, so a holds no proof of where its record
    sits; b's later proof pins the leaf after it. The hub puts a's record back only because
    the root b witnessed confirms it."""
    a, link = linked(site, fault_proxy, "a", "000.00.12.H26")
    b = site.node("b", "000.00.13.H26")
    take_in(a)
    take_in(b)
    sync(a)
    sync(b)
    backup = _backup(site, tmp_path)
    take_in(a)
    link.drop_responses(1, match=b"POST /sync/v1/push")
    with pytest.raises(Exception):  # noqa: B017  (the link error the node reports)
        sync(a)
    link.clear()
    assert acked(a) == 1 and hub_count(site.hub, node_id(a)) == 2
    take_in(b)
    sync(b)
    witnessed = _anchor(b)
    _restore(site, tmp_path, backup)
    with pytest.raises(SyncRefused):
        sync(b)  # b gives back its record; a's leaf before it is still missing
    assert _recovering(site)
    sync(a)  # a gives back its unreceipted record; the roots place it, the log is whole
    assert not _recovering(site)
    assert _hub_root(site, witnessed[0]) == witnessed[1]
    sync(b)
    sync(a)
    assert acked(a) == 2 and acked(b) == 2
    assert [r.seq for r in hub_records(site.hub, node_id(a))] == [1, 2]


def test_hub_records_the_nodes_pulled_are_given_back(site: Site, tmp_path: Path) -> None:
    """The hub's own record on a forwarded dossier was lost with the restore; the commune
    that pulled it gives it back, and the hub's chain and the dossier come back as they were."""
    a = site.node("a", "000.00.12.H26")
    code = take_in(a, procedure=CRIMINAL_RECORD)
    act(a, code, "forwarded")
    sync(a)
    backup = _backup(site, tmp_path)
    with site.hub.db.write() as s:
        processing.act(s, code, "processing", {}, hub=site.hub.identity, clock=site.clock,
                       actor="lan.pham", calendar=WorkingCalendar())  # fmt: skip
    sync(a)  # pulls the hub's record, and witnesses the checkpoint that holds it
    with site.hub.db.read() as s:
        status_before = s.get(HubDossier, code).status  # type: ignore[union-attr]
    witnessed = _anchor(a)
    _restore(site, tmp_path, backup)
    sync(a)
    assert not _recovering(site)
    assert _hub_root(site, witnessed[0]) == witnessed[1]
    with site.hub.db.read() as s:
        assert s.get(HubDossier, code).status == status_before  # type: ignore[union-attr]
    take_in(a)
    assert sync(a).pushed == 1


def _close(site: Site, *args: str) -> Any:
    instance = str(Path(site.hub.app.instance_path))
    env = {"CENTRAL_HUB_DATABASE_URL": _url(site)}
    return CliRunner(env=env).invoke(hub_cli, ["--instance", instance, "log-recovery", *args])


def _alarms(n: Node) -> list[str]:
    with node_db.read_session(n.app) as s:
        return [x.kind for x in s.scalars(select(Alarm))]


def test_an_early_close_sticks_and_is_a_declared_break(site: Site, tmp_path: Path) -> None:
    """b is lost for a while: the administrator closes the recovery. The close sticks when
    b comes back with the larger checkpoint it verified (it used to reopen the recovery and
    stop every commune again); b verifies the hub's signed break, raises one alarm, sends
    again what the hub lost and goes on; the auditor sees a declared break, not a fork."""
    a = site.node("a", "000.00.12.H26")
    b = site.node("b", "000.00.13.H26")
    _restore_hub_from_an_earlier_backup(site, tmp_path, a, b)
    b_saw = _anchor_checkpoint(b)
    take_in(a)
    with pytest.raises(SyncRefused):
        sync(a)
    shown = _close(site)
    assert shown.exit_code == 0, shown.output
    assert "Log recovery open" in shown.output and f"waiting for {node_id(b)}" in shown.output
    refused = _close(site, "--close")
    assert refused.exit_code != 0 and "--reason" in refused.output
    anonymous = _close(site, "--close", "--reason", "b burnt")
    assert anonymous.exit_code != 0 and "--by" in anonymous.output
    assert _recovering(site)
    closed = _close(site, "--close", "--reason", "b burnt", "--by", "admin")
    assert closed.exit_code == 0, closed.output
    assert "Declared log break" in closed.output
    assert not _recovering(site)
    site.hub.app.extensions.pop("loghead_checked", None)  # a restart: no new recovery opens
    assert sync(a).pushed == 1 and acked(a) == 5  # a's record takes a leaf b had verified
    # b comes back: its proof of the larger checkpoint reopens nothing
    take_in(b)
    assert sync(b).pushed == 4  # its records 2..4 the hub lost are sent again, and 5
    assert not _recovering(site)
    assert acked(b) == 5 and [r.seq for r in hub_records(site.hub, node_id(b))] == [1, 2, 3, 4, 5]
    sync(b)
    sync(a)
    alarms = _alarms(b)
    assert alarms.count("log_break") == 1, alarms
    assert "proof_failed" not in alarms and "hub_rollback" not in alarms
    with node_db.read_session(b.app) as s:
        told = next(x for x in s.scalars(select(Alarm)) if x.kind == "log_break")
    assert "admin" in told.message and "b burnt" in told.message and "sent again" in told.message
    assert "proof_failed" not in _alarms(a)
    with site.hub.db.read() as s:
        messages = [
            x.message for x in s.scalars(select(Alert).where(Alert.kind == "log_recovered"))
        ]
        assert any("b burnt" in m and "admin" in m for m in messages)
        sizes = [cp.size for cp in s.scalars(select(Checkpoint))]
    # The auditor, with the checkpoint b verified before the restore: a declared break
    found = _audit(site, b_saw, []).by_class
    assert "declared_break" in found, found
    assert not {"inconsistent_checkpoint", "unlinked_checkpoint", "anchor_missing"} & set(found)
    # Without the hub's declaration, the same loss is a fork the auditor reports
    with site.hub.db.write() as s:
        s.execute(delete(LogBreak))
    found = _audit(site, b_saw, sizes).by_class
    assert "declared_break" not in found
    assert {"inconsistent_checkpoint", "unlinked_checkpoint", "anchor_missing"} & set(found), found


def _anchor_checkpoint(n: Node) -> bytes:
    with node_db.read_session(n.app) as s:
        return protocol.unb64(get_setting(s, "anchor_checkpoint"), "checkpoint")


def test_a_refill_with_a_false_proof_is_refused_and_nothing_is_kept(
    site: Site, tmp_path: Path
) -> None:
    a = site.node("a", "000.00.12.H26")
    b = site.node("b", "000.00.13.H26")
    _restore_hub_from_an_earlier_backup(site, tmp_path, a, b)
    sync(a)  # opens the recovery (b not heard from)
    assert _recovering(site)
    with node_db.read_session(b.app) as s:
        raws = list(s.scalars(select(Event.record).where(Event.seq >= 2).order_by(Event.seq)))
        anchor = get_setting(s, "anchor_checkpoint")
    body = {
        "anchor": anchor,
        "ranges": [
            {
                "checkpoint": anchor,
                "first_leaf": 3,
                "frontier": ["00" * 32] * 2,
                "records": [protocol.b64(r) for r in raws],
            }
        ],
    }
    with pytest.raises(SyncRefused) as info:
        _client(site, b).call("POST", "/sync/v1/refill", json.dumps(body).encode(),
                              content_type="application/json")  # fmt: skip
    assert info.value.code == "bad_refill" and info.value.status == 400
    assert "ranges[0]" in info.value.en
    with site.hub.db.read() as s:
        assert s.scalar(select(RefillRecord.seq)) is None


def test_a_refill_outside_a_recovery_stages_nothing(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)
    body = json.dumps({"ranges": [], "records": []}).encode()
    r = _client(site, a).call("POST", "/sync/v1/refill", body, content_type="application/json")
    assert r.status == 200 and r.json()["recovering"] is False


def test_what_the_hub_holds_already_is_not_sent_again(
    site: Site, tmp_path: Path, fault_proxy: ProxyFactory
) -> None:
    """On 2G every byte counts: while a waits for b, its next runs give back nothing twice."""
    a, link = linked(site, fault_proxy, "a", "000.00.12.H26")
    b = site.node("b", "000.00.13.H26")
    # b's records come first in the lost range: a's wait for them
    _restore_hub_from_an_earlier_backup(site, tmp_path, a, b, b_first=True)
    take_in(a)  # waits on a until the recovery closes
    sent = []
    for _ in range(2):
        before = link.stats().bytes_up
        with pytest.raises(SyncRefused):
            sync(a)
        sent.append(link.stats().bytes_up - before)
    with node_db.read_session(a.app) as s:
        given = sum(len(r) for r in s.scalars(select(Event.record).where(Event.seq.in_([2, 3, 4]))))
    assert sent[0] - sent[1] > given  # the second run sent none of a's lost records again
    sync(b)
    assert not _recovering(site) and sync(a).pushed == 1


def test_a_commune_that_saw_nothing_cannot_take_a_lost_leaf(site: Site, tmp_path: Path) -> None:
    """Found by the campaign: b had never verified a checkpoint, so its report could not
    tell the hub anything, and its first push took the leaf a's lost record had held; a
    then found the log forked. The hub's own log head file opens the recovery first."""
    a = site.node("a", "000.00.12.H26")
    b = site.node("b", "000.00.13.H26")
    for _ in range(4):
        take_in(a)
    backup = _backup(site, tmp_path)
    sync(a)
    take_in(b)
    _restore(site, tmp_path, backup)
    with pytest.raises(SyncRefused) as info:
        sync(b)  # b reports; the hub knows it lost records and takes no new leaf
    assert info.value.code == "log_recovering"
    sync(a)
    assert not _recovering(site)
    sync(b)
    assert hub_count(site.hub, node_id(a)) == 4 and acked(b) == 1
    with node_db.read_session(a.app) as s:
        assert "proof_failed" not in {x.kind for x in s.scalars(select(Alarm))}


def test_the_log_head_file_follows_commits_only(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)
    head = loghead.read(_head_file(site))
    with site.hub.db.read() as s:
        newest = translog.latest_checkpoint(s)
        assert newest is not None and head == newest.signed
    with pytest.raises(RuntimeError), site.hub.db.write() as s:  # a transaction that fails
        translog.sign_checkpoint(s, hub=site.hub.identity, size=10**6, root=b"\0" * 32,
                                 now=site.clock())  # fmt: skip
        raise RuntimeError("the commit never happens")
    assert loghead.read(_head_file(site)) == head
    _head_file(site).write_text("not base64 at all\n")
    assert loghead.read(_head_file(site)) is None  # a damaged file is ignored, not trusted


def _hub_record_no_one_pulled(site: Site, tmp_path: Path) -> tuple[Node, Node, str, str]:
    """a's forwarded dossier gets an officer's action after the backup; a does not pull it,
    b pushes after it (and verifies the checkpoint). Returns a, b, the code, the backup."""
    a = site.node("a", "000.00.12.H26")
    b = site.node("b", "000.00.13.H26")
    code = take_in(a, procedure=CRIMINAL_RECORD)
    act(a, code, "forwarded")
    sync(a)
    sync(b)
    backup = _backup(site, tmp_path)
    with site.hub.db.write() as s:
        processing.act(s, code, "processing", {}, hub=site.hub.identity, clock=site.clock,
                       actor="lan.pham", calendar=WorkingCalendar())  # fmt: skip
    take_in(b)
    sync(b)  # b's record goes in after the hub's; b verifies that checkpoint
    return a, b, code, backup


def test_a_hub_record_no_commune_had_pulled_comes_back_from_the_hubs_journal(
    site: Site, tmp_path: Path
) -> None:
    """The officer acted on a's forwarded dossier; a had not pulled it when b's push (and
    checkpoint) came after it, then the database was lost. No commune holds that record:
    the hub's own journal gives it back, placed by the root b proved."""
    a, b, code, backup = _hub_record_no_one_pulled(site, tmp_path)
    with site.hub.db.read() as s:
        status_before = s.get(HubDossier, code).status  # type: ignore[union-attr]
    witnessed = _anchor(b)
    _restore(site, tmp_path, backup)
    sync(b)
    sync(a)  # a reports (and pulls what it had not pulled yet)
    assert not _recovering(site)
    assert _hub_root(site, witnessed[0]) == witnessed[1]
    with site.hub.db.read() as s:
        assert s.get(HubDossier, code).status == status_before  # type: ignore[union-attr]
    r = a.api(a.app.test_client(), "GET", f"/dossiers/{code}")
    assert r.json["dossier"]["status"]["code"] == status_before  # the feed item came back too


def test_without_the_journal_the_recovery_waits_for_the_missing_record(
    site: Site, tmp_path: Path
) -> None:
    a, b, _, backup = _hub_record_no_one_pulled(site, tmp_path)
    _restore(site, tmp_path, backup)
    (Path(site.hub.app.instance_path) / "hub_records.log").unlink()
    for n in (b, a, b):
        with contextlib.suppress(SyncRefused):
            sync(n)
    assert _recovering(site)  # the hub's record is nowhere: it waits, it does not guess
    assert hub_count(site.hub, node_id(b)) == 0


def test_the_first_page_after_a_restart_opens_the_recovery_before_an_officer_acts(
    site: Site, tmp_path: Path
) -> None:
    """No commune has synced since the restart: the first page an officer opens already
    finds the database behind the log head, and the officer's action waits."""
    a = site.node("a", "000.00.12.H26")
    code = take_in(a, procedure=CRIMINAL_RECORD)
    act(a, code, "forwarded")
    sync(a)
    backup = _backup(site, tmp_path)
    take_in(a)
    sync(a)  # the log grows past the backup
    _restore(site, tmp_path, backup)
    officer = Person(site.hub.app, OFFICER)
    assert _recovering(site)  # opened by the login page, before any sync
    with pytest.raises(recovery.LogRecovering), site.hub.db.write() as s:
        processing.act(s, code, "processing", {}, hub=site.hub.identity, clock=site.clock,
                       actor="lan.pham", calendar=WorkingCalendar())  # fmt: skip
    assert officer.get("/").status_code == 200
    sync(a)
    assert not _recovering(site) and hub_count(site.hub, node_id(a)) == 3


def test_a_commune_the_restored_hub_does_not_know_introduces_itself_again(
    site: Site, tmp_path: Path
) -> None:
    """The backup is older than c's enrolment: the restored hub answers ``unknown_node``.
    c shows the enrolment the hub signed (a node enrolled before the enrolment answer
    carried it fetched it at its next sync), the hub re-creates it, c gives its records
    back and the recovery closes; everyone goes on syncing."""
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)
    backup = _backup(site, tmp_path)
    c = site.node("c", "000.00.14.H26", commune="Xã Ngọc Linh")
    with node_db.write_session(c.app) as s:
        set_setting(s, "enrolment", "")  # as a node enrolled by an older hub
    take_in(c)
    take_in(c)
    sync(c)
    with node_db.read_session(c.app) as s:
        assert get_setting(s, "enrolment")  # fetched from the hub and kept
    take_in(a)
    sync(a)
    _restore(site, tmp_path, backup)
    take_in(a)
    with pytest.raises(SyncRefused) as info:
        sync(a)  # a gives back its own; c's lost records come before its new one
    assert info.value.code == "log_recovering"
    shown = _close(site)
    assert "0 active communes not heard from" in shown.output
    assert "a commune this database does not know" in shown.output
    sync(c)  # unknown_node → c re-introduces itself and gives back its records
    assert not _recovering(site)
    assert [r.seq for r in hub_records(site.hub, node_id(c))] == [1, 2]
    alarms = _alarms(c)
    assert alarms.count("hub_reintroduced") == 1, alarms
    assert "proof_failed" not in alarms and "hub_rollback" not in alarms
    with site.hub.db.read() as s:
        alerts = [(x.kind, x.node_id) for x in s.scalars(select(Alert))]
    assert ("node_reintroduced", node_id(c)) in alerts
    assert sync(a).pushed == 1 and acked(a) == 3
    take_in(c)
    assert sync(c).pushed == 1 and acked(c) == 3
    assert _alarms(c).count("hub_reintroduced") == 1


def test_an_enrolment_the_hub_never_signed_reintroduces_nothing(site: Site, tmp_path: Path) -> None:
    """A node cannot make itself known to a hub with an enrolment statement it made up."""
    a = site.node("a", "000.00.12.H26")
    with a.app.app_context():
        ident = node_identity()
    body = protocol.enrolment_body(origin=site.hub.identity.origin, node=ident.node_id,
                                   public_key=keys.public_bytes(ident.key).hex(),
                                   agency_code="000.00.19.H26", commune_name="x",
                                   time="2026-12-01T00:00:00+00:00")  # fmt: skip
    forged = protocol.sign_statement(protocol.ENROLMENT_PREFIX, body, ident.key)
    proof = keys.sign(ident.key, protocol.reintroduce_message(forged))
    r = a.app.config["SYNC_TRANSPORT"]().request(
        "POST", "/sync/v1/reintroduce",
        body=json.dumps({"enrolment": protocol.b64(forged), "proof": protocol.b64(proof)}).encode(),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert r.status == 403 and r.json()["error"]["code"] == "enrol_refused"
