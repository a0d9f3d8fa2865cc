"""Benchmark 1 — hub ingest: events per second accepted end to end (HTTP, decompression,
parsing, signature, chain, authorisation, durable commit) by hub workers, batches of 500.

Each simulated node has a realistic chain (the desk's own records re-signed as its chain,
:func:`bench.data.rechain`); its batches are encoded by the node's encoder beforehand, so
the client does nothing during the timed part but sign requests and send bytes. Pushes of
one node go one after another (a node never pushes two batches at once); several nodes push
in parallel. One worker = one ``central-hub run`` process pinned to one core; on
PostgreSQL the scaling run starts several on one database.

Beside the product, the CouchDB-style peer (:mod:`bench.couch`) replicates the same desk
actions as unsigned JSON documents; the single-worker rows give their rate as a ratio to it.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bench import couch, data, servers
from bench.core import Row, Settings, verify_rate, yes
from bench.simnode import SimNode
from common import personal
from commune_node.services.sync import encode_push

BATCH = 500
BENCH = "1. Hub ingest"


@dataclass
class Stream:
    node: SimNode
    bodies: list[bytes]
    events: list[int]  # records per body


def _streams(
    site: servers.HubSite, specs: list[data.Spec], count: int, per_node: int, batch: int
) -> list[Stream]:
    agencies = [
        (data.COMMUNES[i % len(data.COMMUNES)], data.agency_code(i + 1)) for i in range(count)
    ]
    codes = site.issue_codes(agencies)
    urls = site.urls
    out = []
    for i, ((commune, agency), code) in enumerate(zip(agencies, codes, strict=True)):
        node = SimNode(agency, commune, urls[i % len(urls)])
        node.enrol(code)
        chain = data.Chain(node.key, agency)
        raws = data.rechain(specs[:per_node], chain)
        batches = data.batches(raws, batch)
        to = node.hub_encryption
        sealed = {  # each record's personal data beside it, as a node pushes it
            rid: personal.seal(shown, to=to, record_id=rid) for rid, shown in chain.shown.items()
        } if to is not None else {}  # fmt: skip
        bodies = [encode_push(b, sealed) for b in batches]
        out.append(Stream(node, bodies, [len(b) for b in batches]))
    return out


def _push_all(stream: Stream, errors: list[str]) -> int:
    stored = 0
    for body, n in zip(stream.bodies, stream.events, strict=True):
        answer = stream.node.push(body)
        if answer.status != 200 or answer.body.get("stored") != n:
            errors.append(f"{answer.status}: {str(answer.body)[:200]}")
            return stored
        stored += n
    return stored


def measure(
    site: servers.HubSite, specs: list[data.Spec], *, nodes: int, per_node: int, batch: int
) -> tuple[float, float, list[str]]:
    """(events/s accepted, hub CPU seconds per 1,000 events, errors) for ``nodes`` nodes
    pushing ``per_node`` events each at once. The first batch of each node is a warm-up."""
    streams = _streams(site, specs, nodes, per_node, batch)
    errors: list[str] = []
    for s in streams:  # warm-up: first batch, not timed
        _push_all(Stream(s.node, s.bodies[:1], s.events[:1]), errors)
        s.bodies, s.events = s.bodies[1:], s.events[1:]
    pids = [p.pid for p in site.processes]
    cpu0 = sum(servers.cpu_seconds(p) for p in pids)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(streams)) as pool:
        stored = sum(pool.map(lambda s: _push_all(s, errors), streams))
    elapsed = time.perf_counter() - t0
    cpu = sum(servers.cpu_seconds(p) for p in pids) - cpu0
    return stored / elapsed, cpu / max(stored, 1) * 1000, errors


def run(settings: Settings, specs: list[data.Spec], peer: couch.Peer | None = None) -> list[Row]:
    rows: list[Row] = []
    beside: list[Row] = []  # the peer's row, shown under the SQLite row
    peer_rate = _peer_row(peer, beside) if peer is not None else None
    per_node = min(len(specs), settings.n(10_000, 1_000))
    batch = settings.n(BATCH, 40)
    databases: list[tuple[str, str | None]] = [("SQLite", None)]
    if settings.postgres:
        databases.append(("PostgreSQL", "postgres"))
    for label, kind in databases:
        with _database(kind) as url:
            site = servers.make_hub(settings.work / f"ingest-{label}", url)
            site.start(1, cpus={1} if _two_cores() else None)
            try:
                base = verify_rate()
                rate, cpu_k, errors = measure(site, specs, nodes=1, per_node=per_node, batch=batch)
            finally:
                site.stop()
        ratio = rate / base
        goal, ok = "ratio ≥ 0.7", ratio >= 0.7 and not errors
        against = ""
        if peer_rate:
            against = f"; {rate / peer_rate:.1f}× peer"
            if kind is None:
                goal, ok = goal + "; ≥ 2.5× peer", ok and rate >= 2.5 * peer_rate
        rows.append(
            Row(
                BENCH,
                f"{label}, 1 worker, 1 node, batches of {batch} "
                f"(hub CPU {cpu_k:.2f} s per 1,000 events)",
                f"{rate:,.0f} events/s" + (f" — {len(errors)} errors" if errors else ""),
                f"{base:,.0f} verify/s (1 core)",
                f"{ratio:.2f}{against}",
                goal,
                yes(ok),
            )
        )
        if kind is None:
            rows.extend(beside)
    if settings.postgres:
        rows.extend(_scaling(settings, specs, per_node, batch, peer_rate))
    return rows


def _peer_row(peer: couch.Peer, rows: list[Row]) -> float | None:
    """The peer's row (measured now, beside its own verify baseline); its rate, if any."""
    why = peer.skipped()
    if why is not None:
        rows.append(Row(BENCH, f"CouchDB-style peer ({couch.NAME})", why))
        return None
    base = verify_rate()
    got = peer.rate()
    assert got is not None
    rows.append(
        Row(
            BENCH,
            f"CouchDB-style peer: {couch.NAME}, {got.docs:,} unsigned JSON documents (the "
            f"same desk actions), batches of {peer.batch}, server on 1 core "
            f"(server CPU {got.server_cpu / got.docs * 1000:.2f} s per 1,000 documents)",
            f"{got.rate:,.0f} docs/s",
            f"{base:,.0f} verify/s (1 core)",
            f"{got.rate / base:.2f}",
            "reference",
        )
    )
    return got.rate


def _scaling(
    settings: Settings,
    specs: list[data.Spec],
    per_node: int,
    batch: int,
    peer_rate: float | None = None,
) -> list[Row]:
    rows = []
    cores = os.cpu_count() or 1
    workers_list = [1, 2] if settings.smoke else sorted({1, 2, min(4, 2 * cores)})
    single = 0.0
    per = max(batch * 2, per_node // 2)
    for workers in workers_list:
        with servers.postgres_database() as url:
            site = servers.make_hub(settings.work / f"ingest-scale-{workers}", url)
            site.start(workers)
            try:
                base = verify_rate()
                rate, cpu_k, errors = measure(
                    site, specs, nodes=2 * workers, per_node=per, batch=batch
                )
            finally:
                site.stop()
        single = single or rate
        rows.append(
            Row(
                BENCH,
                f"PostgreSQL, {workers} worker(s), {2 * workers} nodes at once "
                f"(hub CPU {cpu_k:.2f} s per 1,000 events)",
                f"{rate:,.0f} events/s" + (f" — {len(errors)} errors" if errors else ""),
                f"{base:,.0f} verify/s (1 core)",
                f"{rate / base:.2f} (×{rate / single:.2f} of 1 worker"
                + (f"; {rate / peer_rate:.1f}× peer)" if peer_rate else ")"),
                f"scales with cores ({cores} here)",
            )
        )
    return rows


def _two_cores() -> bool:
    return (os.cpu_count() or 1) >= 2


class _database:
    """SQLite in the instance folder (None) or a fresh PostgreSQL database."""

    def __init__(self, kind: str | None) -> None:
        self.kind = kind
        self._cm = servers.postgres_database() if kind else None

    def __enter__(self) -> str | None:
        return self._cm.__enter__() if self._cm else None

    def __exit__(self, *exc: object) -> None:
        if self._cm:
            self._cm.__exit__(*exc)
