"""Personal data at the hub (SQLite and PostgreSQL): the processing log, the citizen's rights
look-up across communes, and erasure at node and hub when the retention period ends — after
which no hub table outside the log holds the citizen, and the log still verifies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner
from sqlalchemy import select

from central_hub.audit_commands import register as register_audit
from central_hub.models import Base as HubBase
from central_hub.models import HubDisclosure, HubDossier, LogRecord, ProcessingEntry
from central_hub.notify_models import HubNotification, StatusKey
from central_hub.privacy_commands import register as register_privacy
from central_hub.privacy_commands import retention_round
from common import keys
from common_io.audit_cli import main as audit_main
from commune_node import db as node_db
from commune_node.services import privacy as node_privacy
from tests.hub.test_pages import Person
from tests.node.conftest import Node
from tests.sync.conftest import Site, sync
from tests.sync.helpers import MARITAL, act

CITIZEN = {
    "applicant_name": "Phạm Thị Bình",
    "id_number": "079190054321",
    "phone": "0987654321",
    "email": "binh.pham@example.vn",
    "address": "Tổ 5, phường Trần Phú",
}
OTHER = {
    "applicant_name": "Lê Văn Cường",
    "id_number": "062095001234",
    "phone": "0912000111",
    "email": "cuong.le@example.vn",
    "address": "Thôn 2, xã Ba Tơ",
}
# Every table that keeps the signed records themselves (in the old format they hold the
# applicant in clear: docs/privacy.md).
RECORD_TABLES = {"log_record", "refill_record"}


def take_in(node: Node, person: dict[str, str], *, notify: str = "sms") -> str:
    form: dict[str, Any] = {
        "procedure": MARITAL,
        **person,
        "notify": notify,
        "documents": {"to_khai": {"original": 1}},
    }
    r = node.api(node.app.test_client(), "POST", "/dossiers", json=form)
    assert r.status_code == 201, r.json
    return str(r.json["dossier"]["code"])


def returned(node: Node, person: dict[str, str]) -> str:
    code = take_in(node, person)
    act(node, code, "processing")
    act(node, code, "resolved", who="leader", result="Đã cấp giấy xác nhận")
    act(node, code, "result_returned", collected_by=person["applicant_name"])
    return code


def hub_cli(site: Site, *args: str) -> tuple[int, str]:
    group = click.Group("central-hub")
    register_privacy(group)
    register_audit(group)
    result = CliRunner().invoke(group, list(args), obj={"app": site.hub.app})
    return result.exit_code, result.output


def hub_rows_with(site: Site, secrets: list[str]) -> list[tuple[str, str]]:
    """(table, secret) for every hub table outside the records that holds a secret."""
    found = []
    with site.hub.db.read() as s:
        for table in HubBase.metadata.sorted_tables:
            if table.name in RECORD_TABLES:
                continue
            for row in s.execute(select(table)):
                text = json.dumps([str(v) for v in row], ensure_ascii=False)
                found += [(table.name, x) for x in secrets if x in text]
    return found


def test_rights_look_up_across_communes_finds_the_citizen_and_no_one_else(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    b = site.node("b", "000.00.13.H26", commune="Xã Ba Tơ")
    mine = [take_in(a, CITIZEN), take_in(b, CITIZEN)]
    other = take_in(a, OTHER)
    sync(a)
    sync(b)
    with site.hub.db.read() as s:
        row = s.get(HubDossier, mine[0])
        assert row is not None and row.id_digest and CITIZEN["id_number"] not in row.id_digest
    officer = Person(site.hub.app, "hub_officer")
    assert officer.get("/citizen-data").status_code == 403
    assert officer.get("/processing-log").status_code == 403
    admin = Person(site.hub.app, "administrator")
    assert "/processing-log" in admin.get("/").text
    admin.get(f"/dossiers/{other}")  # a view at the hub
    r = admin.post("/citizen-data", {"id_number": CITIZEN["id_number"]})
    assert r.status_code == 200
    for code in mine:
        assert f'data-code="{code}"' in r.text
    assert other not in r.text and "Lê Văn Cường" not in r.text and "Xã Ba Tơ" in r.text
    r = admin.post("/citizen-data", {"id_number": "abc"})
    assert r.status_code == 422 and 'id="id-error"' in r.text
    r = admin.post("/citizen-data", {"id_number": "001090099999"})
    assert r.status_code == 200 and 'id="nothing-held"' in r.text
    with site.hub.db.read() as s:
        rows = s.scalars(select(ProcessingEntry).order_by(ProcessingEntry.id)).all()
        logged = [(e.officer, e.action, e.dossier_code) for e in rows]
    expected = [("admin", "view", other), *[("admin", "lookup", c) for c in mine]]
    assert sorted(logged[:-1], key=str) == sorted(expected, key=str)
    assert logged[-1] == ("admin", "lookup", None)
    html = admin.get(f"/processing-log?dossier={other}").text
    assert html.count('data-action="view"') == 1
    code, out = hub_cli(site, "processing-log", "--officer", "admin")
    assert code == 0 and "4 entries" in out


def test_retention_erases_at_node_and_hub_and_every_log_still_verifies(
    site: Site, tmp_path: Path
) -> None:
    a = site.node("a", "000.00.12.H26")
    closed = returned(a, CITIZEN)
    still_open = take_in(a, OTHER)
    sync(a)
    secrets = [CITIZEN["applicant_name"], CITIZEN["phone"], CITIZEN["email"]]
    # nothing in clear at the hub even before erasure: the values are encrypted at rest
    assert hub_rows_with(site, secrets) == []
    with site.hub.db.read() as s:
        assert s.scalars(select(HubDisclosure).where(HubDisclosure.dossier_code == closed)).all()
    site.clock.advance(days=365 * 21)
    node_run = node_privacy.run_retention(node_db.database(a.app), now=site.clock())
    hub_run = retention_round(site.hub.app)
    assert node_run.dossiers == 1 and hub_run.dossiers == 1 and hub_run.notifications >= 1
    assert hub_rows_with(site, secrets) == []
    with site.hub.db.read() as s:
        gone = s.scalars(select(HubDisclosure).where(HubDisclosure.dossier_code == closed)).all()
        left = s.scalars(select(HubDisclosure).where(HubDisclosure.dossier_code == still_open))
        assert gone == [] and left.all()
    if site.hub.db.engine.dialect.name == "sqlite":  # the file's bytes, beyond the log's records
        path = Path(site.hub.app.instance_path) / "hub.sqlite3"
        with site.hub.db.read() as s:
            raws = [bytes(r) for (r,) in s.execute(select(LogRecord.raw))]
        wal = path.with_name(path.name + "-wal")
        raw = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        for x in (y.encode() for y in secrets):
            assert raw.count(x) == sum(r.count(x) for r in raws), x
    with site.hub.db.read() as s:
        row = s.get(HubDossier, closed)
        assert row is not None and row.applicant_name.startswith("Dữ liệu cá nhân đã xoá ngày")
        assert row.id_digest is None and s.get(StatusKey, closed) is None
        kept = s.get(HubDossier, still_open)
        assert kept is not None and kept.applicant_name == ""  # never in clear at the hub
        assert kept.applicant_key is not None and kept.id_digest is not None
        assert all(
            n.recipient == ""
            for n in s.scalars(
                select(HubNotification).where(HubNotification.dossier_code == closed)
            )
        )
    # the rights look-up no longer finds the erased dossier
    admin = Person(site.hub.app, "administrator")
    html = admin.post("/citizen-data", {"id_number": CITIZEN["id_number"]}).text
    assert 'id="nothing-held"' in html
    page = admin.get(f"/dossiers/{closed}").text
    assert "Dữ liệu cá nhân đã xoá ngày" in page and CITIZEN["applicant_name"] not in page
    # idempotent
    assert retention_round(site.hub.app).dossiers == 0
    code, out = hub_cli(site, "retention-run")
    assert code == 0 and out.startswith("0 dossiers erased")
    assert 'data-kind="retention"' in admin.get("/erasure").text
    # the node still syncs, and the log, the node's chain and the auditor's check all pass
    sync(a)
    from commune_node.cli import main as node_main

    result = CliRunner().invoke(node_main, ["--instance", a.app.instance_path, "verify-log"])
    assert result.exit_code == 0, result.output
    bundle = tmp_path / "audit.jsonl"
    code, out = hub_cli(site, "audit-export", "--out", str(bundle))
    assert code == 0, out
    hub_key = keys.public_bytes(site.hub.identity.key).hex()
    result = CliRunner().invoke(audit_main, ["verify", str(bundle), "--hub-key", hub_key])
    assert result.exit_code == 0, result.output
    with site.hub.db.read() as s:
        exports = s.scalars(select(ProcessingEntry).where(ProcessingEntry.action == "export"))
        assert [e.purpose.startswith("audit bundle") for e in exports] == [True]


def test_erasure_on_a_lawful_request_at_the_hub(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    code = take_in(a, CITIZEN)
    sync(a)
    officer = Person(site.hub.app, "hub_officer")
    assert (
        officer.post("/erasure", {"code": code, "confirm": "yes", "reason": "x" * 20}).status_code
        == 403
    )
    admin = Person(site.hub.app, "administrator")
    form = {"code": code, "confirm": "yes", "reason": "Đơn yêu cầu xoá số 7/2026"}
    assert admin.post("/erasure", {**form, "reason": "ngắn"}).status_code == 422
    assert (
        admin.post("/erasure", {k: v for k, v in form.items() if k != "confirm"}).status_code == 422
    )
    assert admin.post("/erasure", {**form, "code": "000.00.12.H26-000000-0000"}).status_code == 404
    r = admin.client.post("/erasure", data=form)  # no CSRF token
    assert r.status_code == 400
    with site.hub.db.read() as s:
        row = s.get(HubDossier, code)
        assert row is not None and row.personal_erased_at is None
    assert admin.post("/erasure", form).status_code == 302
    with site.hub.db.read() as s:
        row = s.get(HubDossier, code)
        assert row is not None and row.personal_erased_at is not None
        log = s.scalars(select(ProcessingEntry).where(ProcessingEntry.action == "erase")).all()
        assert [(e.officer, e.dossier_code, e.purpose) for e in log] == [
            ("admin", code, "Đơn yêu cầu xoá số 7/2026")
        ]
    status, out = hub_cli(site, "erase-personal", code)
    assert status != 0 and "--reason" in out
    status, out = hub_cli(site, "erase-personal", "NOPE", "--reason", "Đơn yêu cầu xoá số 8")
    assert status != 0 and "no dossier" in out
    status, out = hub_cli(site, "erase-personal", code, "--reason", "Đơn yêu cầu xoá số 9")
    assert status == 0
