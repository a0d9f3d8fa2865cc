"""Benchmark 5 — reconnect storm: 500 simulated nodes push a day's backlog at once to one
hub on PostgreSQL (one ``central-hub run`` process per core, nodes spread over them).

Each node has a realistic day of records (the desk's records re-signed as its chain) and
has pulled the hub's feed before the outage. At the start signal every node runs the sync
steps a node runs — status, push (its whole day is one batch), pull — on its own
connection. A node the hub turns away (``503 hub_busy``) waits ``Retry-After`` plus up to
half as much again, as a real node's scheduler does, and sends the step again.

The storm runs twice in the same run, on fresh hubs: once with requests left to wait in the
hub's queue (admission control off: ``SYNC_QUEUE_WAIT`` of a day), once as shipped. Reported
for each: completions and errors, total time, the longest time one request took, p50/p95/p99
latency of every request, requests turned away, and the hub processes' resident memory (peak
of their sum, sampled every 0.2 s). The baseline is the same sync by one node on the idle
hub, measured just before.
"""

from __future__ import annotations

import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bench import data, servers
from bench.core import Row, Settings, percentile, yes
from bench.simnode import Answer, SimNode
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
    turned_away: int = 0
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


def _step(node: Node, step: str) -> Answer:
    """One sync step; a busy answer is taken as a node takes it: wait, then send again."""
    while True:
        if step == "status":
            answer = node.sim.status()
        elif step == "push":
            answer = node.sim.push(node.body, waiting=node.count)
        else:
            answer = node.sim.pull(node.cursor)
        node.latencies.append(answer.seconds)
        retry_after = answer.headers.get("Retry-After") if answer.status == 503 else None
        if retry_after is None:
            return answer
        node.turned_away += 1
        time.sleep(float(retry_after) * (1 + random.random() / 2))


def _sync(node: Node, start: threading.Event) -> None:
    start.wait()
    try:
        for step in ("status", "push", "pull"):
            answer = _step(node, step)
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


@dataclass
class Outcome:
    count: int
    day: int
    workers: int
    elapsed: float
    peak: int
    idle_rss: int
    baseline: float
    crowd: list[Node]

    @property
    def errors(self) -> list[str]:
        return [n.error for n in self.crowd if n.error]

    @property
    def complete(self) -> int:
        return sum(1 for n in self.crowd if n.error is None)

    @property
    def latencies(self) -> list[float]:
        return [x for n in self.crowd for x in n.latencies]

    @property
    def turned_away(self) -> int:
        return sum(n.turned_away for n in self.crowd)


def _storm_once(
    settings: Settings, specs: list[data.Spec], *, queue_wait: float, label: str
) -> Outcome:
    count = settings.n(500, 20)
    day = min(len(specs), 50)  # a commune's day: ~15 dossiers, ~50 records
    workers = max(1, os.cpu_count() or 1)
    with servers.postgres_database() as url:
        site = servers.make_hub(settings.work / f"storm-{label}", url)
        (site.instance / "config.py").write_text(f"SYNC_QUEUE_WAIT = {queue_wait!r}\n")
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
    return Outcome(count, day, workers, elapsed, peak, idle_rss, baseline, crowd)


QUEUED = 86_400.0  # SYNC_QUEUE_WAIT of a day: every request waits in line, as before
SHIPPED = 2.0  # the hub's default SYNC_QUEUE_WAIT


def run(settings: Settings, specs: list[data.Spec]) -> list[Row]:
    if not settings.postgres:
        return [Row(BENCH, "PostgreSQL not reachable: not run", "—")]
    queued = _storm_once(settings, specs, queue_wait=QUEUED, label="queued")
    admitted = _storm_once(settings, specs, queue_wait=SHIPPED, label="admitted")
    rows: list[Row] = []
    for name, o in (("waiting in line", queued), ("admission control", admitted)):
        events = o.count * o.day
        p50, p95, p99 = (percentile(o.latencies, p) * 1000 for p in (50, 95, 99))
        longest = max(o.latencies, default=0.0)
        rows += [
            Row(
                BENCH,
                f"{name}: {o.count} nodes × {o.day} records at once, {o.workers} hub workers on "
                f"PostgreSQL: complete / errors (all {events:,} records in {o.elapsed:.1f} s, "
                f"{events / o.elapsed:,.0f} records/s)"
                + (f"; first error: {o.errors[0]}" if o.errors else ""),
                f"{o.complete} / {len(o.errors)}",
                "—",
                "—",
                "all complete, no errors",
                yes(o.complete == o.count and not o.errors),
            ),
            Row(
                BENCH,
                f"{name}: request latency (status, push, pull) p50 / p95 / p99; "
                f"{o.turned_away:,} requests turned away with Retry-After",
                f"{p50:.0f} / {p95:.0f} / {p99:.0f} ms",
                f"{o.baseline * 1000:.0f} ms p95 for one node on the idle hub",
                f"{p95 / 1000 / o.baseline:.0f}× idle",
                "reported",
            ),
            Row(
                BENCH,
                f"{name}: the longest one request took",
                f"{longest:.1f} s",
                "—",
                "—",
                "≤ 5 s" if o is admitted else "reported",
                yes(longest <= 5.0) if o is admitted else "—",
            ),
            Row(
                BENCH,
                f"{name}: hub memory, peak resident of all {o.workers} workers",
                f"{o.peak / 2**20:.0f} MiB",
                f"{o.idle_rss / 2**20:.0f} MiB idle",
                f"{o.peak / max(o.idle_rss, 1):.2f}× idle",
                "reported",
            ),
        ]
    rows.append(
        Row(
            BENCH,
            "admission control: total time of the storm against waiting in line",
            f"{admitted.elapsed:.1f} s",
            f"{queued.elapsed:.1f} s waiting in line",
            f"{admitted.elapsed / queued.elapsed:.2f}×",
            "≤ 1.20×",
            yes(admitted.elapsed <= 1.2 * queued.elapsed),
        )
    )
    return rows


def _set() -> threading.Event:
    e = threading.Event()
    e.set()
    return e
