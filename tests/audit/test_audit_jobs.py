"""``dossier-audit verify --jobs N``: record signatures checked by a process pool give the very
report of one job, on whole and on damaged bundles, and bad values are refused clearly."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common import keys
from common.audit.bundle import Policy, Verifier
from common.audit.signatures import check_lines, key_table, signing_key_id
from common_io import audit_pool
from common_io.audit_cli import main
from tests.audit.forge import Forge, fix_end, obj

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
SLICE = 2048  # small slices, so that even a small bundle is split among the workers


@pytest.fixture(autouse=True)
def _small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_pool, "SLICE_BYTES", SLICE)


def _bundle() -> tuple[Forge, list[bytes]]:
    f = Forge()
    a, b = f.node(), f.node("000.00.13.H26", "Xã B")
    for _ in range(6):
        f.push(a, 5)
        f.push(b, 4)
    f.rotate(a)
    f.push(a, 3)
    return f, f.bundle()


FORGED, LINES = _bundle()
RECORDS = [i for i, ln in enumerate(LINES) if obj(ln)["kind"] == "record"]


def _run(path: Path, jobs: int, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["verify", str(path), "--json", "--jobs", str(jobs), *extra])
    return result.exit_code, result.output


def _same_for_1_and_2(path: Path, *extra: str) -> tuple[int, str]:
    one, two = _run(path, 1, *extra), _run(path, 2, *extra)
    assert one == two
    return one


def test_a_whole_bundle_is_split_among_workers_and_passes(tmp_path: Path) -> None:
    path = tmp_path / "bundle.jsonl"
    path.write_bytes(b"".join(LINES))
    assert path.stat().st_size > 4 * SLICE  # the pool really runs
    code, out = _same_for_1_and_2(path)
    assert code == 0, out
    assert json.loads(out)["counts"]["records_verified"] == len(RECORDS)


def test_the_workers_answer_for_the_records_and_the_verifier_checks_none_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from common.audit import records

    path = tmp_path / "bundle.jsonl"
    path.write_bytes(b"".join(LINES))
    checked: list[bytes] = []

    def spy(raw: bytes, public: keys.PublicKey) -> bool:
        checked.append(raw)
        return True

    monkeypatch.setattr(records, "_verifies", spy)  # only the verifier's process sees it
    policy = Policy()
    report = audit_pool.verify_file(path, Verifier(policy), jobs=2, limit=policy.max_line_bytes)
    assert report.ok
    assert checked == []


@pytest.mark.parametrize("vector", sorted(p.name for p in VECTORS.glob("*.jsonl")))
def test_every_vector_gives_the_same_report_with_one_and_two_jobs(vector: str) -> None:
    _same_for_1_and_2(VECTORS / vector)


def _flip(line: bytes, at: int) -> bytes:
    o = json.loads(line)
    raw = bytearray(base64.b64decode(o["raw"]))
    raw[at % len(raw)] ^= 0x01
    o["raw"] = base64.b64encode(bytes(raw)).decode()
    return (json.dumps(o, separators=(",", ":")) + "\n").encode()


damage = st.one_of(
    st.tuples(st.just("flip"), st.sampled_from(RECORDS), st.integers(0, 10_000)),
    st.tuples(st.just("drop"), st.sampled_from(RECORDS), st.just(0)),
    st.tuples(st.just("swap"), st.sampled_from(RECORDS[:-1]), st.just(0)),
    st.tuples(st.just("cut"), st.integers(1, len(LINES) - 1), st.integers(1, 200)),
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(damage, min_size=1, max_size=4))
def test_random_damage_gives_the_same_findings_in_the_same_order(
    tmp_path: Path, harm: list[tuple[str, int, int]]
) -> None:
    lines = list(LINES)
    for what, i, at in harm:
        if what == "flip":
            lines[i] = _flip(lines[i], at)
        elif what == "drop":
            lines[i] = b""
        elif what == "swap":
            lines[i], lines[i + 1] = lines[i + 1], lines[i]
        else:
            lines[i] = lines[i][: -at - 1] + b"\n" if len(lines[i]) > at + 1 else lines[i]
    path = tmp_path / "damaged.jsonl"
    path.write_bytes(b"".join(fix_end([ln for ln in lines if ln])))
    hub = keys.public_bytes(FORGED.hub_key).hex()
    code, _ = _same_for_1_and_2(path, "--hub-key", hub)
    assert code in (0, 1, 2)


def test_a_damaged_signature_is_found_by_the_workers_as_by_one_job(tmp_path: Path) -> None:
    lines = list(LINES)
    lines[RECORDS[-5]] = _flip(lines[RECORDS[-5]], -3)  # inside the signature
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"".join(lines))
    code, out = _same_for_1_and_2(path)
    assert code == 1
    assert [f["class"] for f in json.loads(out)["findings"]] == ["altered_record"]


def test_hints_for_another_key_are_not_used() -> None:
    publics = key_table(LINES, max_bytes=1 << 20)
    hints = check_lines(LINES, publics, max_bytes=1 << 20)
    assert len(hints) == len(RECORDS) and all(ok for _, ok in hints.values())
    stranger = keys.public_bytes(keys.generate())
    lying = {leaf: (stranger, False) for leaf in hints}  # "bad signature" under a wrong key
    v = Verifier(Policy())
    v.take_hints(lying)
    for line in LINES:
        v.feed(line)
    assert v.finish().ok


def test_the_key_id_of_a_record_is_read_from_its_bytes() -> None:
    raw = base64.b64decode(obj(LINES[RECORDS[0]])["raw"])
    assert signing_key_id(raw) == json.loads(raw[raw.index(b"{") : -64])["key"]


@pytest.mark.parametrize("bad", ["0", "-2", "two", "1.5", "513"])
def test_bad_jobs_values_are_refused_clearly(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "bundle.jsonl"
    path.write_bytes(b"".join(LINES))
    result = CliRunner().invoke(main, ["verify", str(path), "--jobs", bad])
    assert result.exit_code == 2
    assert "Invalid value for '--jobs'" in result.output
