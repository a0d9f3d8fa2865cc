"""The reverse proxy of docs/deployment.md, run as written in a real nginx in front of a real
hub (served as ``central-hub run`` serves it, with ``--trusted-proxy``): TLS, the body
limit, a slow header cut off while others are served, and the client's address as the hub
counts it. Skipped, saying why, where nginx is not installed (scripts/test.sh installs
it). Only the ports, the certificate's paths and the timeouts (shortened) are changed."""

from __future__ import annotations

import http.client
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from common_io import serving
from tests.hub.fixtures import make_hub
from tests.support import MovableClock

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (apt-get install nginx-light)"
)


def documented_config() -> str:
    text = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    found = re.search(
        r"<!-- nginx-config: begin -->\s*```nginx\n(.*?)```\s*<!-- nginx-config: end -->",
        text,
        re.S,
    )
    assert found, "docs/deployment.md has no nginx configuration block"
    return found.group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _certificate(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub.example.gov.vn")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Proxy:
    def __init__(self, port: int, hub_port: int) -> None:
        self.port, self.hub_port = port, hub_port

    def connect(self, source: str = "127.0.0.1") -> http.client.HTTPSConnection:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection(
            "127.0.0.1", self.port, timeout=10, context=ctx, source_address=(source, 0)
        )

    def request(
        self, method: str, path: str, body: bytes = b"", *, source: str = "127.0.0.1",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:  # fmt: skip
        conn = self.connect(source)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Proxy]:
    clock = MovableClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
    hub = make_hub(tmp_path / "hub", clock, ENROL_ATTEMPTS=2)
    server = serving.create_server(hub.app, host="127.0.0.1", port=0, threads=4,
                                   ident="central-hub", trusted_proxy="127.0.0.1")  # fmt: skip
    hub_port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    cert, key = _certificate(tmp_path)
    port, http_port = _free_port(), _free_port()
    site = (
        documented_config()
        .replace("listen 80;", f"listen 127.0.0.1:{http_port};")
        .replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
        .replace("/etc/ssl/hub/fullchain.pem", str(cert))
        .replace("/etc/ssl/hub/privkey.pem", str(key))
        .replace("http://127.0.0.1:5000", f"http://127.0.0.1:{hub_port}")
        .replace("client_header_timeout 10s", "client_header_timeout 2s")
    )
    run = tmp_path / "nginx"
    run.mkdir()
    temps = "\n".join(
        f"  {name}_temp_path {run / name};" for name in ("client_body", "proxy", "fastcgi",
                                                         "uwsgi", "scgi")
    )  # fmt: skip
    conf = run / "nginx.conf"
    conf.write_text(
        f"user root;\nworker_processes 1;\npid {run / 'nginx.pid'};\n"
        f"error_log {run / 'error.log'} info;\nevents {{ worker_connections 512; }}\n"
        f"http {{\n  access_log off;\n{temps}\n{site}\n}}\n"
    )
    assert NGINX is not None
    check = subprocess.run([NGINX, "-t", "-p", str(run), "-c", str(conf)],
                           capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(
        [NGINX, "-p", str(run), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # nginx writes to error.log
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)
        yield Proxy(port, hub_port)
    finally:
        process.terminate()
        process.wait(10)
        serving.stop(server)
        thread.join(5)


def test_the_hub_answers_through_the_documented_proxy_over_tls(proxy: Proxy) -> None:
    status, body = proxy.request("GET", "/sync/v1/hello")
    assert status == 200 and b'"public_key"' in body


def test_a_body_over_the_limit_is_refused_by_the_proxy(proxy: Proxy) -> None:
    status, body = proxy.request(
        "POST", "/sync/v1/push", b"x" * (5 * 1024 * 1024),
        headers={"Content-Type": "application/vnd.vn-dossier.batch"},
    )  # fmt: skip
    assert status == 413, body[:200]
    assert b"nginx" in body  # refused by the proxy, the hub never read it


def test_a_slow_header_is_cut_off_while_others_are_served(proxy: Proxy) -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    slow = []
    for _ in range(20):
        raw = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
        s = ctx.wrap_socket(raw)
        s.sendall(b"GET /sync/v1/hello HTTP/1.1\r\nHost: hub\r\n")
        slow.append(s)
    assert proxy.request("GET", "/sync/v1/hello")[0] == 200
    time.sleep(3)  # past the (shortened) client_header_timeout
    for s in slow:
        try:
            answer = s.recv(256)
        except (ConnectionError, ssl.SSLError):
            answer = b""
        assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer
        s.close()
    assert proxy.request("GET", "/sync/v1/hello")[0] == 200


def test_the_hub_counts_the_clients_own_address(proxy: Proxy) -> None:
    """Through the proxy the hub counts the client's address (``ENROL_ATTEMPTS`` = 2 here),
    and a client that sends its own ``X-Forwarded-For`` cannot choose another."""
    body = b'{"code": "AAAA-BBBB-CCCC", "node_id": "x"}'
    headers = {"Content-Type": "application/json"}
    codes = [
        proxy.request("POST", "/sync/v1/enrol", body, source="127.0.0.2",
                      headers={**headers, "X-Forwarded-For": f"198.51.100.{i}"})[0]
        for i in range(3)
    ]  # fmt: skip
    assert codes == [400, 400, 429]
    other = proxy.request("POST", "/sync/v1/enrol", body, source="127.0.0.3", headers=headers)
    assert other[0] == 400  # another client, behind the same proxy, is not held up
