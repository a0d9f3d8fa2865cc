"""The CouchDB-style peer of the benchmarks: its documents, and the reasons it is skipped
(no Node.js, or nothing installed in a smoke run). No network is needed here."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import couch, data
from bench.core import Settings

SPECS = [
    data.Spec(
        datetime(2026, 11, 3, 8, 15, tzinfo=UTC),
        "000.00.12.H26-261103-0001",
        "dossier.received",
        "le.thi.hoa",
        {"applicant": {"name": "Nguyễn Văn An", "address": "Thôn 3, Xã Đăk Pxi"}},
    ),
    data.Spec(
        datetime(2026, 11, 3, 9, 0, tzinfo=UTC),
        "000.00.12.H26-261103-0001",
        "dossier.forwarded",
        "le.thi.hoa",
        {"to": "Phòng Tư pháp"},
    ),
]


def _settings(tmp_path: Path, *, smoke: bool) -> Settings:
    return Settings(smoke=smoke, work=tmp_path / "work", cache=tmp_path / "cache", postgres=False)


def test_documents_are_the_desk_actions_unsigned_with_their_vietnamese_text() -> None:
    docs = couch.documents(SPECS, agency="000.01.02.H26")
    assert [d["_id"] for d in docs] == ["000.01.02.H26:00000001", "000.01.02.H26:00000002"]
    assert docs[0]["dossier"] == "000.01.02.H26-261103-0001"
    assert docs[0]["data"] == SPECS[0].data
    assert set(docs[0]) == {"_id", "seq", "at", "dossier", "type", "actor", "data"}
    line = json.dumps(docs[0], ensure_ascii=False, separators=(",", ":"))
    assert "Nguyễn Văn An" in line
    assert couch.raw_bytes(docs) > len("Nguyễn Văn An")


def test_without_node_the_peer_is_skipped_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no node, no npm
    peer = couch.Peer(_settings(tmp_path, smoke=False), SPECS)
    why = peer.skipped()
    assert why is not None and "`node`" in why and "`npm`" in why
    assert peer.rate() is None and peer.wire() is None


def test_a_smoke_run_never_installs_and_says_so(tmp_path: Path) -> None:
    if couch.shutil.which("node") is None or couch.shutil.which("npm") is None:
        pytest.skip("needs node and npm on PATH to reach the install step")
    peer = couch.Peer(_settings(tmp_path, smoke=True), SPECS)
    why = peer.skipped()
    assert why is not None and "--smoke does not run npm install" in why
    assert not any((tmp_path / "cache").glob("peer-npm-*"))
