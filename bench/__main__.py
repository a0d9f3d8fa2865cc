"""Run the benchmarks and write their table into docs/benchmarks.md.

    .venv/bin/python -m bench                  # everything (about half an hour; the first
                                               # run also builds the million-record node)
    .venv/bin/python -m bench --smoke          # seconds-long mode, small data, same code
    .venv/bin/python -m bench --only 1,2       # pick benchmarks (1 ingest, 2 bytes, 3 2G link,
                                               # 4 big node, 5 reconnect storm, 6 footprint,
                                               # 7 encryption at rest, 8 offline audit)
    .venv/bin/python -m bench --no-write       # print only

Benchmarks 1 and 2 also measure a CouchDB-style peer (PouchDB replicating to
express-pouchdb, see bench/couch.py), installed with npm into the cache on first use.

PostgreSQL: ``DOSSIER_BENCH_POSTGRES`` (default: the test server,
postgresql+psycopg://postgres@127.0.0.1:5432/test); each benchmark makes its own database
and drops it. Without PostgreSQL the PostgreSQL figures are skipped and said so.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import data, report, servers
from bench.core import Row, Settings, machine

ROOT = Path(__file__).resolve().parent.parent
ALL = (1, 2, 3, 4, 5, 6, 7, 8)


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true", help="seconds-long mode with small data")
    p.add_argument("--only", default="", help="comma-separated benchmark numbers (default all)")
    p.add_argument("--work", type=Path, help="scratch folder (default: a new temporary one)")
    p.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "dossier-bench-cache",
        help="where the million-record node and the npm-installed peer are kept between runs",
    )
    p.add_argument(
        "--out", type=Path, default=ROOT / "docs" / "benchmarks.md", help="page to write"
    )
    p.add_argument("--no-write", action="store_true", help="print the table only")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder")
    return p.parse_args(argv)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> list[Row]:
    args = parse(sys.argv[1:] if argv is None else argv)
    chosen = {int(x) for x in args.only.split(",") if x.strip()} or set(ALL)
    work = args.work or Path(tempfile.mkdtemp(prefix="dossier-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    args.cache.mkdir(parents=True, exist_ok=True)
    why = servers.postgres_available()
    settings = Settings(smoke=args.smoke, work=work, cache=args.cache, postgres=why is None)
    if why:
        log(f"PostgreSQL not reachable ({why}): PostgreSQL figures skipped")
    rows: list[Row] = []
    try:
        rows = run(settings, chosen)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    command = ".venv/bin/python -m bench" + (" " + shlex.join(argv or sys.argv[1:])).rstrip()
    text = report.table(rows)
    print(text)
    if not args.no_write:
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        report.write(args.out, report.section(rows, machine(), command, when))
        log(f"table written to {args.out}")
    return rows


def run(settings: Settings, chosen: set[int]) -> list[Row]:
    from bench import bench_audit

    rows: list[Row] = []
    steps: list[tuple[int, str, Callable[[], list[Row]]]] = []
    if chosen - {8}:
        steps = _desk_steps(settings)
    steps.append((8, "offline audit on every core", lambda: bench_audit.run(settings)))
    for number, name, fn in steps:
        if number not in chosen:
            continue
        log(f"benchmark {number}: {name} …")
        t0 = time.perf_counter()
        got = fn()
        for r in got:
            log(f"  {r.measure}: {r.value} ({r.ratio})")
        log(f"benchmark {number} took {time.perf_counter() - t0:.0f} s")
        rows.extend(got)
    return rows


def _desk_steps(settings: Settings) -> list[tuple[int, str, Callable[[], list[Row]]]]:
    """Benchmarks 1–7, over a node seeded through the desk's services."""
    from bench import couch, desk, ingest, storm, wire

    backlog = settings.n(10_000, 120)
    log(f"seeding a node with a {backlog:,}-event backlog through the desk's services …")
    base = wire.prepare(settings, backlog)
    specs = data.specs_of(
        data.raws_of_folder(base.folder / "node"), data.disclosures_of_folder(base.folder / "node")
    )
    log(f"{base.events:,} events")
    peer = couch.Peer(settings, specs)  # installed and measured on first use
    return [
        (1, "hub ingest", lambda: ingest.run(settings, specs, peer)),
        (2, "bytes on the wire", lambda: wire.run_wire(settings, base, peer)),
        (3, "sync over a 2G link", lambda: wire.run_link(settings, base)),
        (4, "a node with years of records", lambda: desk.run_bignode(settings, specs, log)),
        (5, "reconnect storm", lambda: storm.run(settings, specs)),
        (6, "node footprint", lambda: desk.run_footprint(settings, base)),
        (7, "encryption at rest", lambda: desk.run_atrest(settings, base)),
    ]


if __name__ == "__main__":
    main()
