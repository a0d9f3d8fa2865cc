"""``central-hub demo``: a hub and two commune nodes on localhost, enrolled, with sample data
and background sync — the quickest way to see the whole product working.

Each part runs as its own process with its own instance folder under ``folder`` (SQLite),
exactly as it would in the field; a second run reuses the folders and data.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import requests

DEMO_PASSWORD = "demo-password"
UNLOCK_ENV = "COMMUNE_NODE_UNLOCK"  # commune_node.vault.UNLOCK_ENV
COMMUNES = [
    ("xa-dak-pxi", "Xã Đăk Pxi", "000.00.12.H26"),
    ("xa-ngok-reo", "Xã Ngọk Réo", "000.00.13.H26"),
]


def _run(args: list[str]) -> str:
    done = subprocess.run(
        args,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    if done.returncode != 0:
        raise click.ClickException(f"{' '.join(args[:4])} … failed:\n{done.stderr or done.stdout}")
    return done.stdout.strip()


def _wait(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise click.ClickException(f"{url} did not answer within {seconds:.0f} s")


PLAIN_HTTP_SETTINGS = (
    "# The demo serves its pages over plain HTTP on 127.0.0.1: the session cookie may not\n"
    "# insist on HTTPS here. A real instance keeps the default (docs/cli.md, Settings).\n"
    "SESSION_COOKIE_SECURE = False\n"
)


def allow_plain_http(instance: Path) -> None:
    """Settings of a demo instance served over plain HTTP (kept if already there)."""
    path = instance / "config.py"
    text = path.read_text() if path.exists() else ""
    if "SESSION_COOKIE_SECURE" not in text:
        path.write_text(text + PLAIN_HTTP_SETTINGS)


def run_demo(folder: Path, *, base_port: int, sync_interval: int) -> None:
    hub_cmd = [sys.executable, "-m", "central_hub.cli"]
    node_cmd = [sys.executable, "-m", "commune_node.cli"]
    folder.mkdir(parents=True, exist_ok=True)
    hub_dir = folder / "hub"
    hub_url = f"http://127.0.0.1:{base_port}"
    env_pw = {"CENTRAL_HUB_ADMIN_PASSWORD": DEMO_PASSWORD}
    if not (hub_dir / "hub_key.pem").exists():
        click.echo("Creating the hub …")
        os.environ.update(env_pw)
        _run(
            [
                *hub_cmd,
                "--instance",
                str(hub_dir),
                "init",
                "--name",
                "Trung tâm Phục vụ hành chính công tỉnh Quảng Ngãi",
                "--level",
                "province",
            ]
        )
        os.environ["CENTRAL_HUB_USER_PASSWORD"] = DEMO_PASSWORD
        _run(
            [
                *hub_cmd,
                "--instance",
                str(hub_dir),
                "user",
                "add",
                "lan.pham",
                "--name",
                "Phạm Thị Lan",
                "--role",
                "hub_officer",
            ]
        )
        _run(
            [
                *hub_cmd,
                "--instance",
                str(hub_dir),
                "user",
                "add",
                "thanh.tra",
                "--name",
                "Thanh tra tỉnh",
                "--role",
                "auditor",
            ]
        )
    allow_plain_http(hub_dir)
    procs: list[subprocess.Popen[bytes]] = []

    def stop(*_: object) -> None:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()

    def on_term(*_: object) -> None:
        stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_term)
    try:
        procs.append(
            subprocess.Popen(
                [*hub_cmd, "--instance", str(hub_dir), "run", "--port", str(base_port)]
            )
        )
        _wait(hub_url + "/sync/v1/hello")
        lines = [f"Hub ({hub_url}/): admin, lan.pham (hub officer), thanh.tra (auditor)"]
        # The desks' databases are encrypted; the demo starts them unlocked with the demo
        # admin's password, so their background sync runs before anyone logs in (a real desk
        # waits for the first log-in: docs/operations.md, "Encryption at rest").
        os.environ[UNLOCK_ENV] = f"admin:{DEMO_PASSWORD}"
        for i, (name, commune, agency) in enumerate(COMMUNES, start=1):
            node_dir = folder / name
            port = base_port + i
            if not (node_dir / "node_key.pem").exists():
                click.echo(f"Creating {commune} …")
                os.environ["COMMUNE_NODE_ADMIN_PASSWORD"] = DEMO_PASSWORD
                made = _run(
                    [
                        *node_cmd,
                        "--instance",
                        str(node_dir),
                        "init",
                        "--commune",
                        commune,
                        "--agency-code",
                        agency,
                    ]
                )
                click.echo(f"  recovery secret of {commune}: {made.split()[-1]}")
                _run(
                    [
                        *node_cmd,
                        "--instance",
                        str(node_dir),
                        "sample-data",
                        "--dossiers",
                        "40",
                        "--password",
                        DEMO_PASSWORD,
                    ]
                )
                code = _run(
                    [
                        *hub_cmd,
                        "--instance",
                        str(hub_dir),
                        "enrol-code",
                        "--commune",
                        commune,
                        "--agency-code",
                        agency,
                    ]
                ).splitlines()[-1]
                _run(
                    [
                        *node_cmd,
                        "--instance",
                        str(node_dir),
                        "enrol",
                        "--hub",
                        hub_url,
                        "--code",
                        code,
                    ]
                )
            allow_plain_http(node_dir)
            procs.append(
                subprocess.Popen(
                    [
                        *node_cmd,
                        "--instance",
                        str(node_dir),
                        "run",
                        "--port",
                        str(port),
                        "--sync-interval",
                        str(sync_interval),
                    ]
                )
            )
            _wait(f"http://127.0.0.1:{port}/login")
            lines.append(
                f"{commune} (http://127.0.0.1:{port}/): admin, hoa.le (receiver), "
                "minh.tran (leader)"
            )
        click.echo("\nThe demo is running. Every demo login uses the password: " + DEMO_PASSWORD)
        for line in lines:
            click.echo("  " + line)
        click.echo(f"Instance folders: {folder}\nPress Ctrl-C to stop.")
        while all(p.poll() is None for p in procs):
            time.sleep(1)
        raise click.ClickException("a demo process stopped unexpectedly; see its output above")
    except KeyboardInterrupt:
        click.echo("\nStopping …")
    finally:
        stop()
