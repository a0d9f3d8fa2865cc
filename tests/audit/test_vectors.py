"""The audit test vectors (``tests/vectors/``, docs/audit.md §10): ``dossier-audit verify``
reports on each exactly what its ``.expected.json`` says; the vectors are what
``tests/make_vectors.py`` rebuilds; and the independent verifier, written from the
documents alone, agrees with the product on every vector and on randomly tampered
bundles."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.audit.bundle import BundleError, Policy, verify_bundle
from common.audit.bundle_read import read_checkpoint
from tests import make_vectors
from tests.audit import independent_verifier as iv

VECTORS = make_vectors.FOLDER
NAMES = sorted(p.name.removesuffix(".expected.json") for p in VECTORS.glob("*.expected.json"))


def _expected(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / f"{name}.expected.json").read_text(encoding="utf-8"))


def _checkpoint(name: str) -> Path | None:
    path = VECTORS / f"{name}.checkpoint.json"
    return path if path.exists() else None


def _keyed(findings: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return iv.findings_key(findings)


def test_one_vector_per_finding_class() -> None:
    from common.audit.report import CLASSES

    shown = {c for n in NAMES for c in _expected(n)["findings_by_class"]}
    shown |= {f["class"] for n in NAMES for f in _expected(n).get("notices", [])}
    assert shown == set(CLASSES)
    assert _expected("valid")["ok"] is True
    # every class the auditor's table (docs/audit.md §4) lists, and no other
    doc = (Path(__file__).resolve().parents[2] / "docs" / "audit.md").read_text(encoding="utf-8")
    table = doc.split("## 4. Finding classes", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([a-z_]+)` \|", table, re.MULTILINE))
    assert listed == shown


@pytest.mark.parametrize("name", NAMES)
def test_dossier_audit_verify_reports_what_the_vector_expects(name: str) -> None:
    want = _expected(name)
    cp = _checkpoint(name)
    args = [str(VECTORS / f"{name}.jsonl"), "--json", *want["args"]]
    args += ["--checkpoint", str(cp)] if cp else []
    run = subprocess.run(
        [sys.executable, "-m", "common_io.audit_cli", "verify", *args],
        capture_output=True,
        check=False,
    )
    assert run.returncode == want["exit"], run.stderr
    got = json.loads(run.stdout)
    assert got["ok"] is want["ok"]
    assert got["counts"] == want["counts"]
    assert got["findings_by_class"] == want["findings_by_class"]
    assert _keyed(got["findings"]) == _keyed(want["findings"])
    assert _keyed(got["notices"]) == _keyed(want.get("notices", []))


def test_the_vectors_are_what_the_generator_makes(tmp_path: Path) -> None:
    make_vectors.build(tmp_path)
    for path in sorted(VECTORS.iterdir()):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def _policy_args(args: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        out[flag.removeprefix("--").replace("-", "_")] = int(value)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_the_independent_verifier_agrees_on_every_vector(name: str) -> None:
    want = _expected(name)
    cp = _checkpoint(name)
    lines = (VECTORS / f"{name}.jsonl").read_bytes().splitlines(keepends=True)
    got = iv.verify(
        lines,
        checkpoint_file=cp.read_bytes() if cp else None,
        **_policy_args(want["args"]),
    )
    assert got["ok"] is want["ok"]
    assert got["counts"] == want["counts"]
    assert _keyed(got["findings"]) == _keyed(want["findings"])
    assert _keyed(got["notices"]) == _keyed(want.get("notices", []))


def _product(lines: list[bytes], cp: bytes | None) -> tuple[str, Any]:
    try:
        file = read_checkpoint(cp) if cp else None
        report = verify_bundle(
            lines,
            trusted_checkpoint=file.signed if file else None,
            trusted_cosignature=file.cosignature if file else None,
            trusted_enrolment=file.enrolment if file else None,
            policy=Policy(),
        )
    except BundleError:
        return "unusable", None
    found = [f.as_dict() for f in report.findings]
    return "ok" if report.ok else "findings", (report.counts, _keyed(found))


def _independent(lines: list[bytes], cp: bytes | None) -> tuple[str, Any]:
    try:
        got = iv.verify(lines, checkpoint_file=cp)
    except iv.Unusable:
        return "unusable", None
    return "ok" if got["ok"] else "findings", (got["counts"], _keyed(got["findings"]))


def _tamper(lines: list[bytes], ops: list[tuple[int, int, int]]) -> list[bytes]:
    out = [*lines]
    for op, i, j in ops:
        i, j = i % len(out), j % len(out)
        if op == 0 and len(out) > 1:
            del out[i]
        elif op == 1:
            out.insert(j, out[i])
        elif op == 2:
            out[i], out[j] = out[j], out[i]
        elif op == 3:
            o = json.loads(out[i])
            fields = ("raw", "signed", "rotation", "revocation")
            field = next((k for k in fields if isinstance(o.get(k), str)), None)
            if field:
                blob = bytearray(base64.b64decode(o[field]))
                blob[j % len(blob)] ^= 1 << (j % 8)
                o[field] = base64.b64encode(bytes(blob)).decode()
                out[i] = (
                    json.dumps(
                        o, ensure_ascii=False, sort_keys=True, separators=(",", ":")
                    ).encode()
                    + b"\n"
                )
        elif op == 4:
            o = json.loads(out[i])
            if o.get("kind") == "node":
                o["head_seq"] = max(0, o["head_seq"] + (j % 5) - 2)
                out[i] = (
                    json.dumps(
                        o, ensure_ascii=False, sort_keys=True, separators=(",", ":")
                    ).encode()
                    + b"\n"
                )
    return out


BASES = [
    "valid",
    "cosigned_head",
    "revoked_key",
    "fork",
    "missing_end",
    "replaced_key",
    "declared_gap",
    "declared_gap_range",
]


def test_the_tampered_bases_hold_a_replaced_key_and_declared_breaks() -> None:
    """The random tampering starts from bundles with a new laptop's key (``key.replaced``)
    and with declared chain breaks, one of them over several records."""
    kinds: set[str] = set()
    for base in BASES:
        for line in (VECTORS / f"{base}.jsonl").read_bytes().splitlines():
            o = json.loads(line)
            blob = o.get("raw") or o.get("rotation")
            if isinstance(blob, str):
                body = json.loads(base64.b64decode(blob)[20:-64])
                if body["type"] == "chain.break":
                    d = body["data"]
                    kinds.add("break over several" if d["last_seq"] > d["first_seq"] else "break")
                if body["type"] == "key.replaced" and "rotation" in o:
                    kinds.add("replaced key line")
    assert kinds == {"break", "break over several", "replaced key line"}


@settings(max_examples=240, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(BASES),
    ops=st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 10_000), st.integers(0, 10_000)),
        min_size=1,
        max_size=3,
    ),
)
def test_the_independent_verifier_agrees_on_tampered_bundles(
    base: str, ops: list[tuple[int, int, int]]
) -> None:
    lines = _tamper((VECTORS / f"{base}.jsonl").read_bytes().splitlines(keepends=True), ops)
    cp = _checkpoint(base)
    data = cp.read_bytes() if cp else None
    assert _independent(lines, data) == _product(lines, data)
