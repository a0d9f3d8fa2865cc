"""A node put back from an older copy of its instance folder recovers at its next sync:
it takes back from the hub what the lost copy synced, keeps what it did offline since the
restore (signed again after the hub's head), and no dossier code is held by two citizens.
Several communes on one hub, the log growing in between; over real HTTP."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_hub.models import Alert, HubDossier
from central_hub.services import disclosures
from common import protocol, record
from commune_node import create_app, db
from commune_node.models import Alarm, Dossier, Event, SupersededEvent
from commune_node.notify_models import OutboxMessage
from commune_node.services import backup, personal_data
from commune_node.services.hublink import SyncRefused, hub_link
from commune_node.services.sync import store_receipt
from commune_node.transport import HttpTransport
from tests.node.conftest import Node
from tests.sync.conftest import Site, sync
from tests.sync.helpers import hub_records, take_in

A, B = "000.00.12.H26", "000.00.13.H26"


def _restore(site: Site, node: Node, archive: Path, name: str, *, marker: bool = True) -> Node:
    """The laptop's disk died: its folder is put back from ``archive`` (with the command, or
    by hand — then there is no restore marker)."""
    target = site.tmp / name
    backup.restore(archive, target, force=False, now=datetime.now(UTC))
    if not marker:
        con = sqlite3.connect(target / "node.sqlite3")
        with con:
            con.execute("DELETE FROM setting WHERE key = 'restored'")
        con.close()
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "CLOCK": node.clock}, instance_path=str(target)
    )
    db.upgrade(app)
    url = site.url
    app.config["SYNC_TRANSPORT"] = lambda: HttpTransport(url, read_timeout=30)
    return Node(app, node.clock, node.tokens)


def _backup(node: Node, to: Path) -> Path:
    instance = Path(node.app.instance_path)
    backup.make(instance, to, database=instance / "node.sqlite3", now=datetime.now(UTC))
    return to


def _alarms(node: Node) -> list[Alarm]:
    with db.read_session(node.app) as s:
        return list(s.scalars(select(Alarm)))


def _world(site: Site) -> tuple[Node, Node, Path, list[str]]:
    """u1 and u2 sync; u1 is backed up; then u1 takes 3 more dossiers (synced), u2 one."""
    u1, u2 = site.node("u1", A), site.node("u2", B, "Xã Đăk Long")
    early = [take_in(u1), take_in(u1)]
    sync(u1)
    take_in(u2)
    sync(u2)
    archive = _backup(u1, site.tmp / "u1-last-week.tar.gz")
    site.clock.advance(hours=2)
    later = [take_in(u1, name="Trần Thị Lan") for _ in range(3)]
    sync(u1)
    take_in(u2)
    sync(u2)
    return u1, u2, archive, early + later


def _hub_codes(site: Site) -> dict[str, str]:
    """Each dossier's applicant as the hub shows it (decrypted from its disclosures)."""
    with site.hub.db.read() as s:
        return {
            d.code: disclosures.applicant(s, d.code, hub=site.hub.identity).get("name", "")
            for d in s.scalars(select(HubDossier))
        }


def test_restored_node_takes_back_its_chain_and_numbers_apart(site: Site) -> None:
    u1, u2, archive, synced = _world(site)
    restored = _restore(site, u1, archive, "u1-restored")
    offline = [take_in(restored, name="Lê Văn Hùng") for _ in range(3)]
    assert all(code.endswith(f"-{5001 + i:04d}") for i, code in enumerate(offline))
    from tests.node.desk import login

    page = restored.app.test_client()
    login(page, "receiver")
    assert 'id="restored-note"' in page.get("/sync/").get_data(as_text=True)

    result = sync(restored)

    shown = page.get("/sync/").get_data(as_text=True)
    assert 'id="restored-note"' not in shown and "Máy đã lấy lại 3 bản ghi" in shown

    with db.read_session(restored.app) as s:
        codes = {d.code for d in s.scalars(select(Dossier))}
        events = list(s.scalars(select(Event).order_by(Event.seq)))
    assert codes == set(synced) | set(offline)  # the lost copy's dossiers are back
    hub = hub_records(site.hub, _node_id(restored))
    assert [r.record_id for r in hub] == [e.record_id for e in events]  # one chain again
    assert result.acked_seq == len(events) == 5 + 3
    kinds = [a.kind for a in _alarms(restored)]
    assert kinds.count("node_restored") == 1 and "hub_mismatch" not in kinds
    with site.hub.db.read() as s:
        alerts = [a.kind for a in s.scalars(select(Alert).where(Alert.kind == "node_restored"))]
    assert alerts == ["node_restored"]
    hub_codes = _hub_codes(site)
    assert set(offline) <= set(hub_codes)
    # after reconciling, the counter goes on after the highest code the hub knows
    nxt = take_in(restored)
    assert nxt.endswith("-0006")
    sync(restored)
    sync(u2)  # the other commune syncs on


def test_a_copy_made_by_hand_gets_new_codes_for_colliding_dossiers(site: Site) -> None:
    """No restore marker: the offline intake reuses -0003..-0005, which the lost copy gave
    to other citizens. Reconciling gives them the next free codes, says so, and the hub
    never holds one code for two citizens."""
    u1, u2, archive, synced = _world(site)
    restored = _restore(site, u1, archive, "u1-by-hand", marker=False)
    offline = [take_in(restored, name="Lê Văn Hùng") for _ in range(3)]
    assert set(offline) <= set(synced)  # the collision the issue describes

    sync(restored)

    alarm = next(a for a in _alarms(restored) if a.kind == "node_restored")
    for code in offline:
        assert code in alarm.message
    hub_codes = _hub_codes(site)
    with db.read_session(restored.app) as s:
        names = {d.code: d.applicant_name for d in s.scalars(select(Dossier))}
        kept = list(s.scalars(select(SupersededEvent)))
    assert names == {c: n for c, n in hub_codes.items() if c.startswith(A)}
    assert sorted(n for n in names.values()).count("Lê Văn Hùng") == 3
    assert all(names[c] == "Trần Thị Lan" for c in offline)  # the hub's citizens keep theirs
    assert len(kept) == 3 and all(k.new_code and k.resigned_seq for k in kept)
    with db.read_session(restored.app) as s:
        notices = {m.dossier_code: m.text for m in s.scalars(select(OutboxMessage))}
    for k in kept:  # the citizen's notice names the new code, not the one of the lost copy
        assert k.new_code in notices and k.new_code in notices[k.new_code]
    sync(u2)


def test_a_receipt_that_does_not_match_leaves_its_alarm(site: Site) -> None:
    u1 = site.node("u1", A)
    take_in(u1)
    sync(u1)
    hub = site.hub.identity
    with db.read_session(u1.app) as s:
        link = hub_link(s)
    body = {"hub": hub.hub_id, "node": _node_id(u1), "seq": 1, "id": "0" * 64, "time": 0}
    raw = protocol.sign_statement(protocol.RECEIPT_PREFIX, body, hub.key)
    from commune_node.web.context import node_identity

    with u1.app.app_context():
        ident = node_identity()
    try:
        store_receipt(
            db.database(u1.app), link, {"receipt": protocol.b64(raw)}, now=u1.clock(),
            identity=ident,
        )  # fmt: skip
        raise AssertionError("refused expected")
    except SyncRefused as exc:
        assert exc.code == "bad_receipt"
    assert [a.kind for a in _alarms(u1)] == ["bad_receipt"]


def _node_id(node: Node) -> str:
    with db.read_session(node.app) as s:
        from commune_node.services.identity import get_setting

        return str(get_setting(s, "node_id"))


def test_a_code_collision_reaching_the_hub_is_flagged_never_overwritten(site: Site) -> None:
    """However it came about (an older node, a copy made by hand and synced by an older
    version), a record opening a second dossier under a code the hub holds is kept as a dead
    letter; the first dossier is flagged and the administrator alerted."""
    from commune_node.services import eventlog
    from commune_node.web.context import node_identity

    u1, u2 = site.node("u1", A), site.node("u2", B, "Xã Đăk Long")
    code = take_in(u1)
    sync(u1)
    take_in(u2)
    sync(u2)
    with db.read_session(u1.app) as s:
        first = personal_data.data_of(s, record_of(s, code))
    data = {**first, "applicant": {**first["applicant"], "name": "Phạm Văn Tư"}}
    with u1.app.app_context():
        ident = node_identity()
    with db.write_session(u1.app) as s:
        eventlog.append(
            s, identity=ident, clock=u1.clock, dossier=code, type="dossier.received", actor="hoa.le",
            data=data,
        )  # fmt: skip
    result = sync(u1)
    assert result.dead == 1
    with site.hub.db.read() as s:
        row = s.get(HubDossier, code)
        alerts = [a.message for a in s.scalars(select(Alert).where(Alert.kind == "code_collision"))]
        name = disclosures.applicant(s, code, hub=site.hub.identity).get("name")
    assert row is not None and name == "Nguyễn Văn Đức"  # not overwritten
    assert row.flag and "code_collision" in row.flag
    assert len(alerts) == 1 and code in alerts[0]
    assert "Phạm Văn Tư" not in row.flag + alerts[0]  # flags and alerts hold no names
    from commune_node.models import DeadLetter

    with db.read_session(u1.app) as s:
        dead = list(s.scalars(select(DeadLetter)))
    assert [d.code for d in dead] == ["code_collision"]  # the officers see it on the node
    from tests.hub.test_pages import OFFICER, Person

    page = Person(site.hub.app, OFFICER).get(f"/dossiers/{code}").text
    assert 'id="dossier-flag"' in page  # the hub officer sees it
    assert "Nguyễn Văn Đức" in page  # and the applicant, decrypted from the disclosures
    sync(u2)


def record_of(session: Session, code: str) -> record.Record:
    raw = session.scalars(
        select(Event.record).where(Event.dossier_code == code).order_by(Event.seq)
    ).first()
    assert raw is not None
    return record.parse(raw)


def test_an_auditor_finds_the_restored_communes_chain_whole(site: Site) -> None:
    """The records signed again after the hub's head are an ordinary part of the chain: the
    auditor's bundle verifies with no finding."""
    import io

    from central_hub.services import export
    from common import keys
    from common.audit.verifier import verify_bundle
    from commune_node.services.identity import get_setting

    u1, u2, archive, _ = _world(site)
    restored = _restore(site, u1, archive, "u1-restored", marker=False)
    site.clock.advance(hours=1)
    for _ in range(3):
        take_in(restored, name="Lê Văn Hùng")
    sync(restored)
    sync(u2)
    with db.read_session(restored.app) as s:
        witnessed = protocol.unb64(get_setting(s, "anchor_checkpoint"), "checkpoint")
    out = io.BytesIO()
    with site.hub.db.read() as s:
        export.export_bundle(s, out, hub=site.hub.identity, communes=None, since=None,
                             until=None)  # fmt: skip
    report = verify_bundle(
        out.getvalue().splitlines(),
        trusted_checkpoint=witnessed,
        hub_public_key=keys.public_bytes(site.hub.identity.key),
    )
    assert report.ok, (report.by_class, [f.message for f in report.findings])


def test_records_given_back_that_are_not_the_nodes_chain_stop_the_sync_with_an_alarm(
    site: Site,
) -> None:
    """A hub that gives back another node's record as this node's: nothing of it is taken,
    the sync stops with ``hub_mismatch``, and the alarm outlives the refusal."""
    import pytest
    from sqlalchemy import update

    from central_hub.models import LogRecord

    u1, u2, archive, _ = _world(site)
    other = hub_records(site.hub, _node_id(u2))[0].raw
    with site.hub.db.write() as s:
        s.execute(
            update(LogRecord)
            .where(LogRecord.node_id == _node_id(u1), LogRecord.seq == 4)
            .values(raw=other)
        )
    restored = _restore(site, u1, archive, "u1-restored")
    with pytest.raises(SyncRefused) as refusal:
        sync(restored)
    assert refusal.value.code == "hub_mismatch"
    assert [a.kind for a in _alarms(restored)] == ["hub_mismatch"]
    with db.read_session(restored.app) as s:
        assert len(list(s.scalars(select(Event)))) == 2  # nothing taken
