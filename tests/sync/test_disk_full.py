"""A full disk (a small tmpfs holding the node's folder, filled to the last byte): the desk, the sync page and the CLI say the disk is full and what to
do; the database stays intact and the commune syncs again once there is room."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from commune_node import db as node_db
from commune_node.cli import main as node_cli
from tests.node.desk import intake_form, login
from tests.sync.conftest import Site, sync
from tests.sync.helpers import hub_records, take_in


@pytest.fixture
def small_disk(site: Site) -> Iterator[Path]:
    """A 8 MiB tmpfs under the test's folder (root may mount; elsewhere the test is skipped)."""
    where = site.tmp / "small"
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Fill the disk to the last byte with one file; remove it to make room again."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 1 << 14, 1 << 10, 64, 1):
            try:
                while os.write(fd, b"x" * size):
                    pass
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_is_said_in_plain_words_everywhere(site: Site, small_disk: Path) -> None:
    a = site.node("small/a", "000.00.12.H26")
    client = a.app.test_client()
    login(client, "receiver")
    take_in(a)
    sync(a)
    take_in(a)
    take_in(a)  # two records waiting
    form = intake_form(client)
    filler = fill(small_disk)
    # the desk: 507 and what to do, not "system error"
    r = client.post("/dossiers/new", data=form)
    assert r.status_code == 507
    page = r.get_data(as_text=True)
    assert "Ổ đĩa của máy tính đã đầy" in page and "Lỗi hệ thống" not in page
    r = a.api(
        client,
        "POST",
        "/dossiers",
        json={
            "procedure": "1.004873.000.00.00.H38",
            "applicant_name": "Nguyễn Văn Đức",
            "id_number": "062095001234",
            "phone": "0912345678",
            "address": "thôn 3",
            "documents": {"to_khai": {"original": 1}},
        },
    )
    assert r.status_code == 507 and r.json["error"]["code"] == "disk_full"
    # the CLI: the message, no traceback
    got = CliRunner().invoke(node_cli, ["sync"], obj={"app": a.app})
    assert got.exit_code == 1 and "disk of this computer is full" in got.output, got.output
    assert "Traceback" not in got.output
    # the sync page: not "Connected", the disk is full
    page = client.get("/sync/").get_data(as_text=True)
    assert 'data-error-code="disk_full"' in page and "Đã kết nối" not in page
    # intact, and the commune syncs again once there is room
    filler.unlink()
    with node_db.read_session(a.app) as s:
        assert s.execute(text("PRAGMA quick_check")).scalar() == "ok"
        count = s.execute(text("SELECT count(*) FROM dossier")).scalar()
    assert count == 3
    result = sync(a)
    assert result.acked_seq == 3
    page = client.get("/sync/").get_data(as_text=True)
    assert "Đã kết nối" in page and "data-error-code" not in page
    with node_db.read_session(a.app) as s:
        node_id = str(s.execute(text("SELECT value FROM setting WHERE key='node_id'")).scalar())
    assert len(hub_records(site.hub, node_id)) == 3
