"""A real ``commune-node run`` on an encrypted instance: it starts locked (pages say so, the
API refuses intake, background sync waits without dying), the first officer's log-in unlocks
it, and from then on it takes dossiers in and its background sync reaches a real hub."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from commune_node import vault
from tests.faults.harness import _cli, _stop, start_server

pytestmark = pytest.mark.slow

HUB_PW = "encryption hub password"
ADMIN_PW = "encryption admin pw"
AGENCY = "000.00.12.H26"
COMMUNE = "Xã Đăk Pxi"


def node_cli(instance: Path, *args: str, unlock: bool = True) -> str:
    env = {**os.environ, "COMMUNE_NODE_ADMIN_PASSWORD": ADMIN_PW}
    env.pop(vault.UNLOCK_ENV, None)
    if unlock:
        env[vault.UNLOCK_ENV] = f"admin:{ADMIN_PW}"
    done = subprocess.run(
        [sys.executable, "-m", "commune_node.cli", "--instance", str(instance), *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout.strip()


@contextlib.contextmanager
def running(argv: list[str], port: int, path: str, env: dict[str, str], log: Path) -> Iterator[int]:
    proc, port = start_server(argv, port, path, env=env, log=log)
    try:
        yield port
    finally:
        _stop(proc, kill=False)


def test_a_served_desk_starts_locked_unlocks_at_log_in_and_syncs(tmp_path: Path) -> None:
    hub_dir, node_dir = tmp_path / "hub", tmp_path / "node"
    _cli("hub", hub_dir, "init", "--name", "Tỉnh Quảng Ngãi", "--level", "province",
         env={"CENTRAL_HUB_ADMIN_PASSWORD": HUB_PW})  # fmt: skip
    (hub_dir / "config.py").write_text("SESSION_COOKIE_SECURE = False\n")
    made = node_cli(node_dir, "init", "--commune", COMMUNE, "--agency-code", AGENCY, unlock=False)
    node_id = re.findall(r"Node ([0-9a-f]{32})", made)[0]
    assert (node_dir / vault.FILE).exists()
    node_cli(node_dir, "officer", "add", "hoa.le", "--name", "Lê Thị Hoa", "--role", "receiver",
             "--password", "receiver password 1")  # fmt: skip
    token = node_cli(node_dir, "officer", "token", "hoa.le")
    (node_dir / "config.py").write_text("SESSION_COOKIE_SECURE = False\n")
    env = {k: v for k, v in os.environ.items() if k != vault.UNLOCK_ENV}
    logs = tmp_path / "logs"
    hub_argv = [sys.executable, "-m", "central_hub.cli", "--instance", str(hub_dir), "run"]
    with running(hub_argv, 7301, "/sync/v1/hello", env, logs / "hub.log") as hub_port:
        code = _cli("hub", hub_dir, "enrol-code", "--commune", COMMUNE, "--agency-code", AGENCY)
        code = re.findall(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", code)[0]
        node_cli(node_dir, "enrol", "--hub", f"http://127.0.0.1:{hub_port}", "--code", code)
        node_argv = [sys.executable, "-m", "commune_node.cli", "--instance", str(node_dir),
                     "run", "--sync-interval", "1"]  # fmt: skip
        with running(node_argv, 7302, "/login", env, logs / "node.log") as port:
            base = f"http://127.0.0.1:{port}"
            page = requests.get(base + "/", timeout=30)
            assert page.status_code == 503
            assert "log in to unlock" in page.text or "đăng nhập để mở khoá" in page.text
            form = {
                "procedure": "1.004873.000.00.00.H38",
                "applicant_name": "Hoàng Thị Bí Mật",
                "id_number": "079301998877",
                "phone": "0987654321",
                "address": "thôn 3, xã Đăk Pxi",
                "documents": {"to_khai": {"original": 1}},
            }
            auth = {"Authorization": f"Bearer {token}"}
            refused = requests.post(base + "/api/v1/dossiers", json=form, headers=auth, timeout=30)
            assert refused.status_code == 503
            assert refused.json()["error"]["code"] == "desk_locked"
            time.sleep(3)  # a few background ticks while locked: no crash, nothing sent
            assert requests.get(base + "/login", timeout=30).status_code == 200
            assert "sync failed" not in (logs / "node.log").read_text()

            s = requests.Session()
            login = s.get(base + "/login", timeout=30).text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', login)
            assert csrf is not None
            wrong = s.post(base + "/login", data={"username": "admin", "password": "nope nope",
                           "csrf_token": csrf.group(1)}, timeout=60)  # fmt: skip
            assert wrong.status_code == 401
            right = s.post(base + "/login", data={"username": "admin", "password": ADMIN_PW,
                           "csrf_token": csrf.group(1)}, timeout=60)  # fmt: skip
            assert right.status_code == 200 and "/login" not in right.url
            assert s.get(base + "/", timeout=30).status_code == 200

            taken = requests.post(base + "/api/v1/dossiers", json=form, headers=auth, timeout=30)
            assert taken.status_code == 201, taken.text
            deadline = time.monotonic() + 60
            held = 0
            while time.monotonic() < deadline and held < 1:
                with contextlib.closing(sqlite3.connect(hub_dir / "hub.sqlite3")) as c:
                    held = c.execute(
                        "SELECT count(*) FROM log_record WHERE node_id = ?", (node_id,)
                    ).fetchone()[0]
                time.sleep(0.5)
            assert held >= 1, (logs / "node.log").read_text()
