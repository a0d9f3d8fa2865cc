"""``dossier-audit verify`` and ``central-hub audit-export`` as an operator and an auditor
run them: exit codes, output, hostile files, and independence from the hub's code."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import click
from click.testing import CliRunner

from central_hub.audit_commands import audit_export, parse_when, register
from common import keys, protocol
from common_io.audit_cli import main, read_lines
from tests.audit.conftest import DAY1, DAY2, Desk, scenario
from tests.audit.forge import Forge, dump, fix_end, obj


def _write(tmp_path: Path, lines: list[bytes], name: str = "bundle.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(lines))
    return path


def _forge_bundle() -> tuple[Forge, list[bytes]]:
    f = Forge()
    a = f.node()
    f.push(a, 3)
    f.push(f.node("000.00.13.H26", "Xã B"), 2)
    f.push(a, 1)
    return f, f.bundle()


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_a_whole_bundle_passes_with_exit_0(tmp_path: Path) -> None:
    f, lines = _forge_bundle()
    path = _write(tmp_path, lines)
    code, out = _run("verify", str(path), "--hub-key", keys.public_bytes(f.hub_key).hex())
    assert code == 0, out
    assert "RESULT: PASSED" in out and "pinned by you" in out
    assert "Xã B" in out  # the per-chain table


def test_findings_give_exit_1_and_are_listed(tmp_path: Path) -> None:
    _, lines = _forge_bundle()
    rec = next(i for i, ln in enumerate(lines) if obj(ln)["kind"] == "record")
    path = _write(tmp_path, fix_end(lines[:rec] + lines[rec + 1 :]))
    code, out = _run("verify", str(path))
    assert code == 1
    assert "missing_start" in out and "RESULT: FAILED" in out
    assert "Note: The hub key was read from the bundle itself" in out


def test_json_report(tmp_path: Path) -> None:
    _, lines = _forge_bundle()
    lines = fix_end([*lines[:-1], lines[-2], lines[-1]])
    code, out = _run("verify", str(_write(tmp_path, lines)), "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False
    assert report["findings_by_class"] == {"duplicate_record": 1}
    finding = report["findings"][0]
    assert {"class", "message", "line", "node", "seq", "leaf", "record_id"} <= set(finding)


def test_auditor_checkpoint_from_the_hubs_hello_answer(tmp_path: Path) -> None:
    f, lines = _forge_bundle()
    size, _, signed = f.checkpoints[1]
    hello = {"hub_id": f.hub_id, "checkpoint": {"size": size, "signed": protocol.b64(signed)}}
    cp = tmp_path / "hello.json"
    cp.write_text(json.dumps(hello))
    code, out = _run("verify", str(_write(tmp_path, lines)), "--checkpoint", str(cp))
    assert code == 0 and f"size {size}: linked" in out
    raw = tmp_path / "cp.json"
    raw.write_text(
        json.dumps({"checkpoint": {"signed": protocol.b64(f.sign_checkpoint(size, bytes(32)))}})
    )
    code, out = _run("verify", str(_write(tmp_path, lines)), "--checkpoint", str(raw))
    assert code == 1 and "inconsistent_checkpoint" in out


def test_unusable_input_gives_exit_2(tmp_path: Path) -> None:
    _f, lines = _forge_bundle()
    good = _write(tmp_path, lines)
    empty = _write(tmp_path, [], "empty.jsonl")
    junk = _write(tmp_path, [b"PK\x03\x04 not a bundle\n"], "junk.jsonl")
    nocp = tmp_path / "nocp.json"
    nocp.write_text("{}")
    for args in (
        ["verify", str(tmp_path / "missing.jsonl")],
        ["verify", str(empty)],
        ["verify", str(junk)],
        ["verify", str(good), "--hub-key", "abc"],
        ["verify", str(good), "--hub-key", "zz" * 32],
        ["verify", str(good), "--checkpoint", str(nocp)],
        ["verify", str(good), "--checkpoint", str(tmp_path / "nope.json")],
    ):
        code, out = _run(*args)
        assert code == 2, (args, out)
        assert "Traceback" not in out


def test_overlong_deep_and_huge_lines_are_findings_not_memory(tmp_path: Path) -> None:
    _, lines = _forge_bundle()
    path = tmp_path / "hostile.jsonl"
    with path.open("wb") as f:
        f.write(b"".join(lines[:-1]))
        f.write(b'{"kind":"comment","text":"' + b"x" * (3 << 20) + b'"}\n')  # 3 MB line
        f.write(b'{"kind":"end","counts":' + b"[" * 10_000 + b"]" * 10_000 + b"}\n")
        f.write(lines[-1])
    code, out = _run("verify", str(path), "--json")
    report = json.loads(out)
    assert code == 1
    assert report["findings_by_class"] == {"malformed": 2}
    reasons = {f["detail"]["reason"] for f in report["findings"]}
    assert reasons == {"overlong", "too_deep"}


def test_read_lines_cuts_overlong_lines_without_keeping_them() -> None:
    data = b"short\n" + b"y" * 100 + b"\nlast"
    got = list(read_lines(io.BytesIO(data), 10))
    assert got == [b"short\n", b"y" * 11, b"last"]


def test_policy_options(tmp_path: Path) -> None:
    f = Forge()
    w = f.node()
    f.push(w, 1)
    f.now += timedelta(days=9)
    f.push(w, 1)  # written on a nine-day-old anchor
    path = _write(tmp_path, f.bundle())
    assert _run("verify", str(path))[0] == 1
    assert _run("verify", str(path), "--max-offline-days", "10")[0] == 0
    assert _run("verify", str(path), "--max-offline-days", "10", "--min-cosignatures", "1")[0] == 1


def test_every_command_has_help_with_an_example() -> None:
    for args in (["--help"], ["verify", "--help"]):
        code, out = _run(*args)
        assert code == 0 and "Example" in out
    out = CliRunner().invoke(audit_export, ["--help"]).output
    assert "Example" in out and "--commune" in out and "--checkpoint-size" in out


def test_the_verifier_needs_no_hub_code() -> None:
    code = (
        "import sys, common_io.audit_cli; "
        "bad = [m for m in ('flask', 'sqlalchemy', 'central_hub', 'commune_node', 'requests') "
        "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dates_are_vietnam_midnight_unless_told() -> None:
    assert parse_when("2026-11-24") == DAY1
    assert parse_when("2026-11-24T00:00:00+07:00") == DAY1
    assert parse_when("2026-11-24T00:00") == DAY1


def test_audit_export_command_then_verify(desk: Desk, tmp_path: Path) -> None:
    """The operator's command on a real hub (SQLite and PostgreSQL), then the auditor's."""
    a, _ = scenario(desk)
    group = click.Group("central-hub")
    register(group)
    out = tmp_path / "audit.jsonl"
    args = ["audit-export", "--out", str(out), "--commune", a.agency]
    args += ["--since", "2026-11-24", "--until", "2026-11-25"]
    result = CliRunner().invoke(group, args, obj={"app": desk.hub.app})
    assert result.exit_code == 0, result.output
    assert "Exporting records" in result.output and "Hub key" in result.output
    assert not (tmp_path / "audit.jsonl.part").exists()
    header = obj(out.read_bytes().splitlines()[0])
    assert (
        header["period"]["since"] == DAY1.isoformat()
        and header["period"]["until"] == DAY2.isoformat()
    )
    code, text = _run("verify", str(out), "--hub-key", desk.hub_key().hex())
    assert code == 0, text
    bad = CliRunner().invoke(
        group,
        ["audit-export", "--out", str(out), "--commune", "000.00.77.H26"],
        obj={"app": desk.hub.app},
    )
    assert bad.exit_code == 1 and "no commune node" in bad.output


def test_a_line_moved_by_hand_is_reported(tmp_path: Path) -> None:
    _, lines = _forge_bundle()
    key_at = next(i for i, ln in enumerate(lines) if obj(ln)["kind"] == "key")
    moved = [*lines[:key_at], *lines[key_at + 1 : -1], lines[key_at], lines[-1]]
    code, out = _run("verify", str(_write(tmp_path, moved)), "--json")
    classes = json.loads(out)["findings_by_class"]
    assert code == 1 and classes.get("malformed") == 1
    assert dump(obj(lines[0])) == lines[0]  # lines are written in the documented form
