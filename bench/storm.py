"""Benchmark 5 — reconnect storm: 500 simulated nodes push a day's backlog at once to one
hub on PostgreSQL (one ``central-hub run`` process per core, nodes spread over them).

Each node has a realistic day of records (the desk's records re-signed as its chain) and
has pulled the hub's feed before the outage. At the start signal every node runs the sync
steps a node runs — status, push (its whole day is one batch), pull — on its own
connection. Reported: completions and errors, p50/p95/p99 latency of every request, and the
hub processes' resident memory (peak of their sum, sampled every 0.2 s). The baseline is
the same sync by one node on the idle hub, measured just before.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bench import data, servers
from bench.core import Row, Settings, percentile, yes
from bench.simnode import SimNode
from commune_node.services.sync import encode_push

BENCH = "5. Reconnect storm"


@dataclass
class Node:
    sim: SimNode
    body: bytes
    count: int
    last_id: str
    cursor: int = 0
    latencies: list[float] = field(default_factory=list)
    error: str | None = None


def _prepare(site: servers.HubSite, specs: list[data.Spec], nodes: int, day: int) -> list[Node]:
    agencies = [
        (data.COMMUNES[i % len(data.COMMUNES)], data.agency_code(i + 1)) for i in range(nodes)
    ]
    codes = site.issue_codes(agencies)
    urls = site.urls
    out = []
    for i, ((commune, agency), code) in enumerate(zip(agencies, codes, strict=True)):
        sim = SimNode(agency, commune, urls[i % len(urls)])
        sim.enrol(code)
        chain = data.Chain(sim.key, agency)
        raws = data.rechain(specs[:day], chain)
        node = Node(sim, encode_push(raws), len(raws), chain.prev or "")
        node.cursor = _pull_all(node)
        out.append(node)
    return out


def _pull_all(node: Node) -> int:
    cursor = node.cursor
    while True:
        answer = node.sim.pull(cursor)
        if answer.status != 200:
            raise RuntimeError(f"pull failed: {answer.status}")
        nxt = int(answer.headers.get("X-Feed-Next", cursor)) if answer.headers else cursor
        if nxt == cursor:
            return cursor
        cursor = nxt


def _sync(node: Node, start: threading.Event) -> None:
    start.wait()
    try:
        for step in ("status", "push", "pull"):
            if step == "status":
                answer = node.sim.status()
            elif step == "push":
                answer = node.sim.push(node.body, waiting=node.count)
            else:
                answer = node.sim.pull(node.cursor)
            node.latencies.append(answer.seconds)
            if answer.status != 200:
                node.error = f"{step}: {answer.status} {str(answer.body)[:200]}"
                return
            if step == "push":
                if answer.body.get("stored") != node.count:
                    node.error = f"push stored {answer.body.get('stored')} of {node.count}"
                    return
                node.sim.check_receipt(answer, node.last_id)
    except Exception as exc:  # a failed request is a finding, not a crash of the benchmark
        node.error = f"{type(exc).__name__}: {exc}"


def _storm(nodes: list[Node], pids: list[int]) -> tuple[float, int]:
    """Run every node's sync at once; (seconds, peak hub RSS in bytes)."""
    start = threading.Event()
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, sum(servers.rss_bytes(p) for p in pids))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        futures = [pool.submit(_sync, n, start) for n in nodes]
        time.sleep(0.5)  # every thread waiting at the gate
        t0 = time.perf_counter()
        start.set()
        for f in futures:
            f.result()
        elapsed = time.perf_counter() - t0
    done.set()
    sampler.join()
    return elapsed, peak


def run(settings: Settings, specs: list[data.Spec]) -> list[Row]:
    if not settings.postgres:
        return [Row(BENCH, "PostgreSQL not reachable: not run", "—")]
    count = settings.n(500, 20)
    day = min(len(specs), 50)  # a commune's day: ~15 dossiers, ~50 records
    workers = max(1, os.cpu_count() or 1)
    with servers.postgres_database() as url:
        site = servers.make_hub(settings.work / "storm", url)
        site.start(workers)
        try:
            nodes = _prepare(site, specs, count + 1, day)
            alone, crowd = nodes[0], nodes[1:]
            _sync(alone, _set())
            baseline = percentile(alone.latencies, 95)
            idle_rss = sum(servers.rss_bytes(p.pid) for p in site.processes)
            elapsed, peak = _storm(crowd, [p.pid for p in site.processes])
        finally:
            site.stop()
    errors = [n.error for n in crowd if n.error]
    complete = sum(1 for n in crowd if n.error is None)
    lat = [x for n in crowd for x in n.latencies]
    p50, p95, p99 = (percentile(lat, p) * 1000 for p in (50, 95, 99))
    events = count * day
    return [
        Row(
            BENCH,
            f"{count} nodes × {day} records at once, {workers} hub workers on PostgreSQL: "
            f"complete / errors (all {events:,} records in {elapsed:.1f} s, "
            f"{events / elapsed:,.0f} records/s)"
            + (f"; first error: {errors[0]}" if errors else ""),
            f"{complete} / {len(errors)}",
            "—",
            "—",
            "all complete, no errors",
            yes(complete == count and not errors),
        ),
        Row(
            BENCH,
            "request latency (status, push, pull) p50 / p95 / p99",
            f"{p50:.0f} / {p95:.0f} / {p99:.0f} ms",
            f"{baseline * 1000:.0f} ms p95 for one node on the idle hub",
            f"{p95 / 1000 / baseline:.0f}× idle",
            "reported",
        ),
        Row(
            BENCH,
            f"hub memory, peak resident of all {workers} workers",
            f"{peak / 2**20:.0f} MiB",
            f"{idle_rss / 2**20:.0f} MiB idle",
            f"{peak / max(idle_rss, 1):.2f}× idle",
            "reported",
        ),
    ]


def _set() -> threading.Event:
    e = threading.Event()
    e.set()
    return e
