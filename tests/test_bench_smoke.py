"""The benchmark suite's smoke mode: the same code as ``python -m bench`` on small data, so
the benchmarks cannot rot between full runs. Figures are not judged here (a smoke run on a
busy CI machine says nothing about speed); that every benchmark ran and printed its rows is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_every_benchmark_runs_in_smoke_mode(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out), "--cache", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    benches = {line.split(" | ")[0].lstrip("| ").split(".")[0] for line in rows[1:]}
    assert benches == {"1", "2", "3", "4", "5", "6", "7", "8"}, proc.stdout
    for line in rows[1:]:
        value = line.split(" | ")[2]
        assert value.strip() not in ("", "—"), line
    # The smoke run wrote the page it was pointed at, between the markers the docs keep.
    page = out.read_text()
    assert "<!-- bench:results:start -->" in page and "--smoke" in page
