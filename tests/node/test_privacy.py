"""Personal data at the desk: the processing log (views, prints and exports logged, list rows
not), the citizen's rights page, the retention job and erasure on a lawful request."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select

from common.record import parse
from commune_node import db
from commune_node.cli import main
from commune_node.models import Dossier, ErasureRun, Event, PersonalDisclosure, ProcessingEntry
from commune_node.notify_models import OutboxMessage
from commune_node.services import privacy
from tests.node.conftest import Node
from tests.node.desk import MARITAL, act, csrf, login, logout, take_in, text

OTHER = {
    "applicant_name": "Phạm Thị Bình",
    "id_number": "079190054321",
    "phone": "0987654321",
    "email": "binh.pham@example.vn",
    "address": "Tổ 5, phường Trần Phú, tỉnh Quảng Ngãi",
}
REFUSAL = "Hồ sơ không thuộc thẩm quyền giải quyết của Ủy ban nhân dân xã"


def log_rows(node: Node) -> list[ProcessingEntry]:
    with db.read_session(node.app) as s:
        rows = s.scalars(select(ProcessingEntry).order_by(ProcessingEntry.id)).all()
        for r in rows:
            s.expunge(r)
    return list(rows)


def row_of(node: Node, code: str) -> Dossier:
    with db.read_session(node.app) as s:
        row = s.get(Dossier, code)
        assert row is not None
        s.expunge(row)
    return row


def cli(node: Node, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--instance", node.app.instance_path, *args])
    return result.exit_code, result.output


# --------------------------------------------------------------------------- processing log


def test_views_prints_and_exports_are_logged_but_list_rows_are_not(
    node: Node, client: FlaskClient
) -> None:
    login(client, "receiver")
    codes = [take_in(client, MARITAL), take_in(client, MARITAL, **OTHER)]
    assert log_rows(node) == []
    assert client.get("/dossiers").status_code == 200
    assert client.get("/").status_code == 200
    assert log_rows(node) == []  # a list shows names, not a dossier's data: no row per line
    assert client.get(f"/dossiers/{codes[0]}").status_code == 200
    assert client.get(f"/print/01/{codes[1]}").status_code == 200
    assert client.get("/print/07?from=2026-11-23&to=2026-11-23").status_code == 200
    logout(client)
    login(client, "leader")
    assert client.get("/reports/export.csv").status_code == 200
    rows = log_rows(node)
    assert [(r.officer, r.action, r.dossier_code) for r in rows] == [
        ("hoa.le", "view", codes[0]),
        ("hoa.le", "print", codes[1]),
        ("hoa.le", "print", None),  # the tracking book: one row for the whole book
        ("minh.tran", "export", None),
    ]
    assert rows[1].purpose == "form 01" and rows[0].at == node.clock()
    # a page that does not exist logs nothing
    assert client.get("/dossiers/000.00.12.H26-261123-9999").status_code == 404
    assert len(log_rows(node)) == 4
    # the JSON API's dossier read is a view too
    assert node.api(client, "GET", f"/dossiers/{codes[1]}").status_code == 200
    assert [(r.officer, r.action, r.purpose) for r in log_rows(node)][-1] == (
        "hoa.le",
        "view",
        "API",
    )


def test_processing_log_page_filters_and_pages_for_the_admin_only(
    node: Node, client: FlaskClient
) -> None:
    login(client, "receiver")
    a, b = take_in(client, MARITAL), take_in(client, MARITAL, **OTHER)
    for _ in range(3):
        client.get(f"/dossiers/{a}")
    node.clock.advance(days=2)
    client.get(f"/dossiers/{b}")
    assert client.get("/admin/processing-log").status_code == 403
    logout(client)
    login(client, "admin")
    html = text(client.get("/"))
    assert 'href="/admin/processing-log"' in html and 'href="/citizen-data"' in html
    html = text(client.get(f"/admin/processing-log?dossier={a}"))
    assert html.count(f'data-dossier="{a}"') == 3 and f'data-dossier="{b}"' not in html
    html = text(client.get("/admin/processing-log?from=2026-11-25&to=2026-11-25"))
    assert html.count('data-action="view"') == 1 and f'data-dossier="{b}"' in html
    html = text(client.get("/admin/processing-log?officer=nobody"))
    assert 'data-action="view"' not in html
    for i in range(60):  # more than one page
        with db.write_session(node.app) as s:
            privacy.record(
                s, officer="x", action="view", dossier_code=f"C{i}", purpose="p", at=node.clock()
            )
    html = text(client.get("/admin/processing-log"))
    assert html.count("<tr data-action=") == privacy.PAGE_SIZE and "page=2" in html
    html = text(client.get("/admin/processing-log?page=2"))
    assert html.count("<tr data-action=") == 64 - privacy.PAGE_SIZE
    assert client.get("/admin/processing-log?from=not-a-date").status_code == 422
    code, out = cli(node, "processing-log", "--dossier", a)
    assert code == 0 and out.count(a) == 3 and "3 entries" in out


# --------------------------------------------------------------------------- citizen's rights


def test_rights_page_lists_the_citizens_dossiers_and_nothing_of_another(
    node: Node, client: FlaskClient
) -> None:
    login(client, "receiver")
    mine = [take_in(client, MARITAL), take_in(client, MARITAL, outcome="refuse", reason=REFUSAL)]
    other = take_in(client, MARITAL, **OTHER)
    client.get(f"/dossiers/{mine[0]}")
    assert client.get("/citizen-data").status_code == 403
    logout(client)
    login(client, "leader")
    token = csrf(text(client.get("/citizen-data")))
    r = client.post("/citizen-data", data={"csrf_token": token, "id_number": "0010 9001 2345"})
    html = text(r)
    assert r.status_code == 200
    for code in mine:
        assert f'data-code="{code}"' in html
    assert other not in html and OTHER["applicant_name"] not in html and OTHER["phone"] not in html
    assert "Nguyễn Văn An" in html and "0912345678" in html
    assert "hoa.le" in html  # who viewed it
    assert "23/11/2046" in html  # refused 23/11/2026 + 20 years (civil status), shown as a date
    lookups = [r for r in log_rows(node) if r.action == "lookup"]
    assert sorted(r.dossier_code or "" for r in lookups) == sorted(mine)
    assert all(r.officer == "minh.tran" for r in lookups)
    # an ID number nobody has: a page that says so, and the look-up is logged all the same
    r = client.post("/citizen-data", data={"csrf_token": token, "id_number": "001090099999"})
    assert r.status_code == 200 and 'id="nothing-held"' in text(r)
    assert [r.dossier_code for r in log_rows(node) if r.action == "lookup"][-1] is None
    # not an ID number
    r = client.post("/citizen-data", data={"csrf_token": token, "id_number": "12-34"})
    assert r.status_code == 422 and "CCCD" in text(r)
    # without the CSRF token
    assert client.post("/citizen-data", data={"id_number": "001090012345"}).status_code == 400


# --------------------------------------------------------------------------- erasure


def walk_to_returned(client: FlaskClient) -> str:
    """A dossier of the other citizen taken in, resolved and returned (closed that day)."""
    login(client, "receiver")
    code = take_in(client, MARITAL, **OTHER)
    assert act(client, code, "processing").status_code == 302
    logout(client)
    login(client, "leader")
    assert act(client, code, "resolved", result="Đã cấp giấy xác nhận").status_code == 302
    logout(client)
    login(client, "receiver")
    assert act(client, code, "result_returned", collected_by="Phạm Thị Bình").status_code == 302
    logout(client)
    return code


def secrets_outside_records(path: Path, secrets: list[bytes]) -> dict[bytes, int]:
    """How many times each secret is in the database file beyond the copies inside the
    signed records (which, in the old record format, hold the applicant in clear); the
    write-ahead log is read too."""
    con = sqlite3.connect(path)
    records = [r for (r,) in con.execute("SELECT record FROM event")]
    con.close()
    wal = path.with_name(path.name + "-wal")
    raw = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    return {s: raw.count(s) - sum(r.count(s) for r in records) for s in secrets}


def test_retention_job_erases_closed_dossiers_only_and_the_chain_still_verifies(
    node: Node, client: FlaskClient
) -> None:
    closed, still_open = walk_to_returned(client), None
    login(client, "receiver")
    still_open = take_in(client, MARITAL)
    logout(client)
    with db.read_session(node.app) as s:
        outbox = s.scalars(select(OutboxMessage).where(OutboxMessage.dossier_code == closed))
        assert any(m.recipient == OTHER["phone"] for m in outbox)
    path = Path(node.app.instance_path) / "node.sqlite3"
    secrets = [
        OTHER["applicant_name"].encode(),
        b"pham thi binh",
        OTHER["phone"].encode(),
        OTHER["id_number"].encode(),
        OTHER["email"].encode(),
    ]
    assert all(n > 0 for n in secrets_outside_records(path, secrets).values())
    # not yet due: nothing happens
    node.clock.advance(days=365 * 19)
    run = privacy.run_retention(db.database(node.app), now=node.clock())
    assert run.dossiers == 0
    node.clock.advance(days=365 * 2)
    run = privacy.run_retention(db.database(node.app), now=node.clock())
    assert (run.dossiers, run.notifications) == (1, 2) and run.milliseconds >= 0
    assert secrets_outside_records(path, secrets) == dict.fromkeys(secrets, 0)
    row = row_of(node, closed)
    assert row.applicant_name.startswith("Dữ liệu cá nhân đã xoá ngày ")
    assert (row.id_number, row.phone, row.email, row.address) == ("", "", "", "")
    assert row_of(node, still_open).applicant_name == "Nguyễn Văn An"
    # idempotent: a second run finds nothing; the first erasure date stays
    again = privacy.run_retention(db.database(node.app), now=node.clock() + timedelta(days=3))
    assert again.dossiers == 0 and row_of(node, closed).applicant_name == row.applicant_name
    # the signed records are untouched and still verify
    code, out = cli(node, "verify-log")
    assert code == 0 and "chain intact" in out
    with db.read_session(node.app) as s:
        first = s.scalars(select(Event.record).where(Event.dossier_code == closed)).first()
        assert first is not None
        signed = parse(first)  # version 2: commitments, the values kept apart and now gone
        assert "pd" in signed.data and "name" not in signed.data["applicant"]
        kept = s.scalars(
            select(PersonalDisclosure).where(PersonalDisclosure.dossier_code == closed)
        ).all()
        assert kept == []
        assert s.scalars(
            select(PersonalDisclosure).where(PersonalDisclosure.dossier_code == still_open)
        ).all()
        assert [r.kind for r in s.scalars(select(ErasureRun))] == ["retention"] * 3
    erased = [r for r in log_rows(node) if r.action == "erase"]
    assert [(r.dossier_code, r.officer) for r in erased] == [(closed, privacy.SCHEDULER)]
    # every page shows the erasure where the name was, never the old record's data
    login(client, "admin")
    for path_ in (f"/dossiers/{closed}", f"/print/01/{closed}", f"/print/06/{closed}"):
        html = text(client.get(path_))
        assert "Dữ liệu cá nhân đã xoá ngày" in html, path_
        assert OTHER["applicant_name"] not in html and OTHER["phone"] not in html, path_
    r = client.post(
        "/dossiers", data={"csrf_token": csrf(text(client.get("/dossiers"))), "q": "Bình"}
    )
    assert closed not in text(client.get(r.headers["Location"]))
    html = text(client.get("/admin/erasure"))
    assert html.count('data-kind="retention"') == 3
    code, out = cli(node, "retention-run")
    assert code == 0 and out.startswith("0 dossiers erased")


def test_erasure_on_a_lawful_request_needs_the_admin_a_reason_and_a_confirmation(
    node: Node, client: FlaskClient
) -> None:
    login(client, "receiver")
    code = take_in(client, MARITAL, **OTHER)
    assert client.get("/admin/erasure").status_code == 403
    assert client.post("/admin/erasure", data={"code": code}).status_code in (400, 403)
    logout(client)
    login(client, "admin")
    token = csrf(text(client.get("/admin/erasure")))
    form = {"csrf_token": token, "code": code, "confirm": "yes", "reason": "Đơn yêu cầu xoá số 7"}
    r = client.post("/admin/erasure", data={**form, "reason": " "})
    assert r.status_code == 422 and 'name="reason"' in text(r)
    r = client.post("/admin/erasure", data={k: v for k, v in form.items() if k != "confirm"})
    assert r.status_code == 422
    r = client.post("/admin/erasure", data={**form, "code": "000.00.12.H26-261123-9999"})
    assert r.status_code == 404
    assert client.post("/admin/erasure", data={**form, "csrf_token": ""}).status_code == 400
    assert row_of(node, code).personal_erased_at is None
    r = client.post("/admin/erasure", data=form)
    assert r.status_code == 302
    assert row_of(node, code).personal_erased_at == node.clock()
    erased = [r for r in log_rows(node) if r.action == "erase"]
    assert [(r.officer, r.dossier_code, r.purpose) for r in erased] == [
        ("admin", code, "Đơn yêu cầu xoá số 7")
    ]
    assert 'data-kind="request"' in text(client.get("/admin/erasure"))
    # the CLI: a reason is required; an unknown dossier is said in words; erasing again is
    # harmless
    status, out = cli(node, "erase-personal", code)
    assert status != 0 and "--reason" in out
    status, out = cli(node, "erase-personal", "NOPE", "--reason", "Đơn yêu cầu xoá số 8")
    assert status != 0 and "not found" in out
    status, out = cli(node, "erase-personal", code, "--reason", "Đơn yêu cầu xoá số 9")
    assert status == 0 and "erased" in out
    assert row_of(node, code).personal_erased_at == node.clock()  # the first date stays
    code_, out = cli(node, "verify-log")
    assert code_ == 0


def test_an_erased_dossier_stays_erased_when_the_dossiers_are_folded_again(
    node: Node, client: FlaskClient
) -> None:
    from commune_node.services import replay

    login(client, "receiver")
    code = take_in(client, MARITAL, **OTHER)
    act(client, code, "processing")
    privacy.erase_on_request(
        db.database(node.app),
        code,
        reason="Đơn yêu cầu xoá số 1",
        officer="admin",
        now=node.clock(),
    )
    with db.write_session(node.app) as s:
        replay.rebuild_dossiers(s)
    row = row_of(node, code)
    assert row.phone == "" and row.applicant_name.startswith("Dữ liệu cá nhân đã xoá")
    assert row.status == 4


def test_a_retention_run_killed_half_way_leaves_whole_dossiers_and_the_next_run_finishes(
    node: Node,
) -> None:
    """kill -9 in the middle of a run: every dossier is erased wholly or not at all (one
    transaction each), and the next run erases the rest."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from datetime import UTC, datetime

    from sqlalchemy import insert

    count = 800
    ended = datetime.now(UTC) - timedelta(days=365 * 30)
    rows = [
        {
            "code": f"000.00.12.H26-961123-{i:04d}",
            "procedure_code": MARITAL,
            "channel": 1,
            "status": 10,
            "applicant_name": f"Người Thử {i}",
            "applicant_search": f"nguoi thu {i}",
            "id_number": f"0010900{i:05d}",
            "phone": f"09{i:08d}",
            "created_at": ended,
            "ended_at": ended,
            "last_seq": 0,
            "state": {},
        }
        for i in range(count)
    ]
    with db.write_session(node.app) as s:
        s.execute(insert(Dossier), rows)
    path = Path(node.app.instance_path) / "node.sqlite3"
    command = [sys.executable, "-m", "commune_node.cli", "--instance", node.app.instance_path]
    proc = subprocess.Popen(
        [*command, "retention-run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def erased() -> int:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            n = con.execute(
                "SELECT count(*) FROM dossier WHERE personal_erased_at IS NOT NULL"
            ).fetchone()[0]
        finally:
            con.close()
        return int(n)

    deadline = time.monotonic() + 60
    while erased() < 20 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = erased()
    assert 0 < done < count, done
    con = sqlite3.connect(path)
    states = con.execute(
        "SELECT personal_erased_at IS NOT NULL, applicant_name LIKE 'Dữ liệu cá nhân đã xoá%', "
        "id_number = '', phone = '', applicant_search = '' FROM dossier"
    ).fetchall()
    logged = con.execute("SELECT count(*) FROM processing_log WHERE action = 'erase'").fetchone()
    con.close()
    assert set(states) <= {(1, 1, 1, 1, 1), (0, 0, 0, 0, 0)}  # never half erased
    assert logged[0] == done  # each erased dossier has its log row, in the same transaction
    run = privacy.run_retention(db.database(node.app), now=datetime.now(UTC))
    assert run.dossiers == count - done
    assert erased() == count


def test_the_schedulers_daily_run_writes_its_report_to_the_run_log(
    node: Node, client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    from commune_node import scheduler

    closed = walk_to_returned(client)
    node.clock.advance(days=365 * 21)
    scheduler.retention_tick(node.app)
    err = capsys.readouterr().err
    assert "erasure of personal data (retention): 1 dossiers erased, 2 notifications" in err
    assert row_of(node, closed).personal_erased_at == node.clock()
