"""A local stand-in for the province's LGSP in front of the national portal: a TEST DOUBLE
for tests and the demo, not the portal.

It reads the field list from ``docs/national-portal.md`` itself (the mapping table) and
checks every message against that list with its own rules (types, formats, codes, required
fields), independently of ``common/portal.py``. It answers like a gateway: success, a
content refusal (400 with the reasons), a 5xx, a timeout, a lost answer (the message is
kept, the answer never comes), an expired token (401). It records what it received and keeps
one entry per delivery key (MaHoSo|TrangThaiHoSo|NgayCapNhat), as the portal does.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[2] / "docs" / "national-portal.md"
FAULTS = ("5xx", "timeout", "lost", "expired")


def documented_fields(doc: Path = DOC) -> list[str]:
    """The field names of the mapping table ("| field | meaning | ..."), in order."""
    names: list[str] = []
    in_table = False
    for line in doc.read_text(encoding="utf-8").splitlines():
        if line.startswith("| field |"):
            in_table = True
            continue
        if in_table:
            if not line.startswith("|"):
                break
            cell = line.split("|")[1].strip()
            if cell and not set(cell) <= {"-"}:
                names.append(cell)
    return names


_T = re.compile(r"^\d{4}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])([01]\d|2[0-3])[0-5]\d[0-5]\d$")
_AG = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")
_TEXT = ("SoBienNhan", "MaTTHC", "TenTTHC", "TenLinhVuc", "ChuHoSo", "MaDoiTuong", "DonViTinh")
_ENDED = {3, 7, 8, 9, 10}


def check(msg: Any, names: list[str]) -> list[str]:
    """Reasons to refuse ``msg`` (empty: conforms)."""
    if not isinstance(msg, dict):
        return ["body: not an object"]
    out = [f"{n}: required" for n in names if n not in msg]
    out += [f"{n}: unknown field" for n in msg if n not in names]
    if out:
        return out

    def whole(v: Any) -> bool:
        return type(v) is int

    if not re.fullmatch(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}-\d{6}-\d{4}", str(msg["MaHoSo"])):
        out.append("MaHoSo: format")
    for n in _TEXT:
        if not isinstance(msg[n], str) or not msg[n].strip():
            out.append(f"{n}: empty")
    if not isinstance(msg["MaLinhVuc"], str):
        out.append("MaLinhVuc: type")
    if not re.fullmatch(r"\d{12}|[A-Z0-9][A-Z0-9/.\-]{5,29}", str(msg["MaDoiTuong"])):
        out.append("MaDoiTuong: not a 12-digit citizen ID nor a passport or document number")
    if not _AG.match(str(msg["DonViXuLy"])):
        out.append("DonViXuLy: format")
    for n in ("NgayTiepNhan", "NgayCapNhat"):
        if not isinstance(msg[n], str) or not _T.match(msg[n]):
            out.append(f"{n}: yyyyMMddHHmmss")
    for n in ("NgayHenTra", "NgayKetThucXuLy"):
        if not isinstance(msg[n], str) or (msg[n] and not _T.match(msg[n])):
            out.append(f"{n}: yyyyMMddHHmmss or empty")
    status = msg["TrangThaiHoSo"]
    if not whole(status) or not 1 <= status <= 10:
        out.append("TrangThaiHoSo: code 1-10")
    elif bool(msg["NgayKetThucXuLy"]) != (status in _ENDED):
        out.append("NgayKetThucXuLy: only for an ended dossier")
    if not whole(msg["KenhThucHien"]) or msg["KenhThucHien"] not in (1, 2, 3):
        out.append("KenhThucHien: code 1-3")
    if msg["LoaiDoiTuong"] not in (1, 2) or not whole(msg["LoaiDoiTuong"]):
        out.append("LoaiDoiTuong: code 1-2")
    if msg["HinhThuc"] not in (0, 1) or not whole(msg["HinhThuc"]):
        out.append("HinhThuc: code 0-1")
    if not whole(msg["ThoiGianGiaiQuyet"]) or msg["ThoiGianGiaiQuyet"] < 0:
        out.append("ThoiGianGiaiQuyet: whole number")
    for n in ("DuocThanhToanTrucTuyen", "DuocSoHoa"):
        if msg[n] not in (0, 1) or not whole(msg[n]):
            out.append(f"{n}: 0 or 1")
    fees = msg["DanhSachPhiLePhi"]
    if not isinstance(fees, list) or not all(
        isinstance(f, dict) and isinstance(f.get("TenPhiLePhi"), str) and whole(f.get("MucPhi"))
        for f in fees
    ):
        out.append("DanhSachPhiLePhi: list of {TenPhiLePhi, MucPhi}")
    for n in ("TaiLieuNop", "DanhSachGiayToKetQua"):
        if not isinstance(msg[n], list):
            out.append(f"{n}: list")
    return out


@dataclass
class Portal:
    url: str = ""
    token_url: str = ""
    client_id: str = "hub-client"
    client_secret: str = "hub-secret"
    api_key: str = ""
    fields: list[str] = field(default_factory=documented_fields)
    script: list[str] = field(default_factory=list)  # faults to give first, in order
    fault_rate: float = 0.0  # then, at random: one of FAULTS with this probability
    hang: float = 1.5  # how long a timeout or a lost answer keeps the connection
    refuse_keys: set[str] = field(default_factory=set)  # content refusals on these keys
    seed: int = 0
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> message
    order: dict[str, list[str]] = field(default_factory=dict)  # dossier -> keys, first seen
    received: list[str] = field(default_factory=list)  # every request's key, duplicates too
    refused: list[tuple[str, list[str]]] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    in_flight: dict[str, int] = field(default_factory=dict)  # key -> requests at once
    overlaps: int = 0  # times one key was being handled twice at the same moment
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)

    def _fault(self) -> str:
        with self.lock:
            if self.script:
                return self.script.pop(0)
            if self.fault_rate and self.random.random() < self.fault_rate:
                return self.random.choice(FAULTS)
        return ""

    def statuses(self, code: str) -> list[int]:
        return [int(self.entries[k]["TrangThaiHoSo"]) for k in self.order.get(code, [])]


@contextmanager
def serve(**options: Any) -> Iterator[Portal]:
    portal = Portal(**options)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up waiting (a timeout it was meant to see)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/token":
                return self._token(raw)
            if self.path != "/dvcqg/dongbohoso":
                return self._answer(404, {"error": "no such endpoint"})
            fault = portal._fault()
            if fault == "expired":
                with portal.lock:
                    portal.tokens.clear()
            if not self._authorised():
                return self._answer(401, {"error": "token expired or missing"})
            if fault == "5xx":
                return self._answer(503, {"error": "gateway busy"})
            if fault == "timeout":
                time.sleep(portal.hang)
                return self._answer(504, {"error": "too late"})
            try:
                msg = json.loads(raw.decode("utf-8"))
            except ValueError:
                return self._answer(400, {"error": ["body: not JSON"]})
            reasons = check(msg, portal.fields)
            key = (
                f"{msg.get('MaHoSo')}|{msg.get('TrangThaiHoSo')}|{msg.get('NgayCapNhat')}"
                if isinstance(msg, dict) else ""
            )  # fmt: skip
            if not reasons and self.headers.get("Idempotency-Key") != key:
                reasons = ["Idempotency-Key: not MaHoSo|TrangThaiHoSo|NgayCapNhat"]
            if not reasons and key in portal.refuse_keys:
                reasons = ["MaTTHC: procedure not published on the portal"]
            if reasons:
                with portal.lock:
                    portal.refused.append((key, reasons))
                return self._answer(400, {"error": reasons})
            with portal.lock:
                portal.in_flight[key] = portal.in_flight.get(key, 0) + 1
                if portal.in_flight[key] > 1:
                    portal.overlaps += 1
                portal.received.append(key)
                if key not in portal.entries:
                    portal.entries[key] = msg
                    portal.order.setdefault(str(msg["MaHoSo"]), []).append(key)
            try:
                if fault == "lost":
                    time.sleep(portal.hang)  # kept, but the answer comes too late
                    return None
                return self._answer(200, {"MaHoSo": msg["MaHoSo"], "result": "ok"})
            finally:
                with portal.lock:
                    portal.in_flight[key] -= 1

        def _authorised(self) -> bool:
            if portal.api_key:
                return self.headers.get("X-API-Key") == portal.api_key
            given = self.headers.get("Authorization", "")
            with portal.lock:
                return given.startswith("Bearer ") and given[7:] in portal.tokens

        def _token(self, raw: bytes) -> None:
            import base64

            basic = self.headers.get("Authorization", "")
            want = base64.b64encode(f"{portal.client_id}:{portal.client_secret}".encode())
            if basic != f"Basic {want.decode()}" or b"grant_type=client_credentials" not in raw:
                return self._answer(401, {"error": "invalid_client"})
            token = secrets.token_hex(16)
            with portal.lock:
                portal.tokens.add(token)
            return self._answer(200, {"access_token": token, "expires_in": 3600})

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    base = f"http://127.0.0.1:{server.server_address[1]}"
    portal.url, portal.token_url = f"{base}/dvcqg/dongbohoso", f"{base}/token"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield portal
    finally:
        server.shutdown()
        server.server_close()
