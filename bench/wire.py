"""Benchmarks 2 and 3 — a real node pushing a real backlog to a real hub through
:class:`bench.linkproxy.LinkProxy`.

The base is made once per run: a hub (SQLite, ``central-hub run``), a node made and
enrolled the way ``commune-node init`` / ``enrol`` do, synced once (so its records carry an
anchor, as a node's do), then filled through the desk's services with the backlog. Each
benchmark works on a copy of both folders, so each starts from the same state.

2. **Bytes on the wire**: one sync of the backlog through a counting proxy; every byte both
   ways, HTTP headers included, per event; beside it, the CouchDB-style peer
   (:mod:`bench.couch`) replicating the same desk actions through the same kind of proxy.
3. **A 2G link**: 64 kbit/s each way, 300 ms round trip, the connection cut every 200 KB.
   The node syncs, and when the link breaks it syncs again at once (the scheduler would
   wait its back-off; that wait is not the link's). Useful bytes are what a cut-free sync
   of the same backlog sends upstream (headers included); utilisation is useful bytes ÷
   (64 kbit/s × elapsed time).
"""

from __future__ import annotations

import shutil
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from bench import couch, data, servers
from bench.core import Row, Settings, yes
from bench.linkproxy import LinkProxy
from central_hub.models import LogRecord
from common import protocol
from commune_node import create_app
from commune_node import db as node_db
from commune_node.services import sync as node_sync
from commune_node.services.enrolment import enrol
from commune_node.services.identity import set_setting
from commune_node.transport import HttpTransport, LinkError, Response, Transport
from commune_node.web.context import node_identity

AGENCY = "000.00.12.H26"
COMMUNE = "Xã Đăk Pxi"
RATE_2G = 64_000 / 8  # bytes per second, each way
RTT_2G = 0.3
CUT_2G = 200_000


@dataclass
class Base:
    folder: Path
    events: int


@dataclass
class Counting:
    """A transport that counts its requests by kind and the ones the link broke."""

    inner: Transport
    calls: dict[str, int] = field(default_factory=dict)
    broken: dict[str, int] = field(default_factory=dict)
    bodies: dict[str, int] = field(default_factory=dict)  # request body bytes sent, by kind
    answered: dict[str, float] = field(default_factory=dict)  # last answer of each kind, when

    def request(
        self, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Response:
        kind = path.split("?")[0].rsplit("/", 1)[-1]
        self.calls[kind] = self.calls.get(kind, 0) + 1
        self.bodies[kind] = self.bodies.get(kind, 0) + len(body)
        try:
            resp = self.inner.request(method, path, body=body, headers=headers)
        except LinkError:
            self.broken[kind] = self.broken.get(kind, 0) + 1
            raise
        self.answered[kind] = time.perf_counter()
        return resp


def prepare(settings: Settings, events: int) -> Base:
    """The hub and the node with its backlog (see the module's docstring)."""
    folder = settings.work / "wire-base"
    if folder.exists():
        shutil.rmtree(folder)
    site = servers.make_hub(folder / "hub")
    site.start(1)
    try:
        app = data.make_node(folder / "node", agency=AGENCY, commune=COMMUNE)
        code = site.issue_codes([(COMMUNE, AGENCY)])[0]
        url = site.urls[0]
        with app.app_context():
            enrol(
                node_db.database(app),
                identity=node_identity(),
                transport=HttpTransport(url),
                hub_url=url,
                code=code,
            )
        sync(app, HttpTransport(url))  # learns the hub's checkpoint: records carry an anchor
        count = data.seed_node(app, events)
        node_db.database(app).engine.dispose()
    finally:
        site.stop()
    return Base(folder, count)


def restore(base: Base, name: str, work: Path) -> tuple[servers.HubSite, Flask]:
    """A copy of the base: its hub (not started) and its node app."""
    folder = work / name
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(base.folder, folder)
    site = servers.HubSite(folder / "hub", f"sqlite:///{folder / 'hub' / 'hub.sqlite3'}")
    app = create_app({"SECRET_KEY": "bench"}, instance_path=str(folder / "node"))
    return site, app


def point_at(app: Flask, url: str) -> None:
    with node_db.write_session(app) as session:
        set_setting(session, "hub_url", url)


def sync(app: Flask, transport: Transport) -> node_sync.SyncResult:
    """One sync run exactly as the scheduler runs it, with the node's default batch budget."""
    with app.app_context():
        return node_sync.sync_once(
            node_db.database(app),
            identity=node_identity(),
            transport=transport,
            clock=app.extensions["clock"],
            instance=Path(app.instance_path),
        )


def hub_chain(site: servers.HubSite, node_id: str) -> tuple[int, int]:
    """(records stored for the node, distinct seqs) at the hub."""
    from central_hub import MIGRATIONS
    from common_io.database import Database

    db = Database.connect(site.database_url, MIGRATIONS)
    try:
        with db.read() as s:
            where = LogRecord.node_id == node_id
            rows = s.scalar(select(func.count()).select_from(LogRecord).where(where)) or 0
            seqs = s.scalar(select(func.count(func.distinct(LogRecord.seq))).where(where)) or 0
    finally:
        db.engine.dispose()
    return rows, seqs


def node_id_of(app: Flask) -> str:
    with app.app_context():
        return node_identity().node_id


def clean_sync(base: Base, settings: Settings, name: str) -> tuple[int, int, Counting, float]:
    """One sync of the backlog through a counting proxy: (up, down, calls, seconds)."""
    site, app = restore(base, name, settings.work)
    site.start(1)
    try:
        with LinkProxy(("127.0.0.1", site.processes[0].port)) as link:
            point_at(app, link.url)
            counting = Counting(HttpTransport(link.url, read_timeout=120))
            t0 = time.perf_counter()
            result = sync(app, counting)
            seconds = time.perf_counter() - t0
            stats = link.stats()
        if result.pushed != base.events:
            raise RuntimeError(f"pushed {result.pushed} of {base.events}")
    finally:
        site.stop()
        node_db.database(app).engine.dispose()
    return stats.up, stats.down, counting, seconds


def run_wire(settings: Settings, base: Base, peer: couch.Peer | None = None) -> list[Row]:
    up, down, counting, _ = clean_sync(base, settings, "wire")
    raws = data.raws_of_folder(base.folder / "node")
    raw_per = sum(len(r) for r in raws) / len(raws)
    zlib_per = len(zlib.compress(protocol.encode_frames(raws), 9)) / len(raws)
    per = (up + down) / base.events
    calls = ", ".join(f"{k} {v}" for k, v in sorted(counting.calls.items()))
    bodies = ", ".join(
        f"{k} {v / base.events:.0f}" for k, v in sorted(counting.bodies.items()) if v
    )
    against = ""
    rows: list[Row] = []
    if peer is not None:
        why = peer.skipped()
        got = peer.wire() if why is None else None
        if got is None:
            rows.append(
                Row("2. Bytes on the wire", f"CouchDB-style peer ({couch.NAME})", why or "")
            )
        else:
            against = f"; {per / got.per_doc:.2f} of peer"
            doc_raw = couch.raw_bytes(peer.docs)
            rows.append(
                Row(
                    "2. Bytes on the wire",
                    f"CouchDB-style peer: {couch.NAME}, {got.docs:,} unsigned JSON documents "
                    f"(the same desk actions), one replication, batches of {peer.batch}, both "
                    f"ways, headers included (up {got.up / got.docs:.0f} + down "
                    f"{got.down / got.docs:.0f} B/doc)",
                    f"{got.per_doc:.0f} B/doc",
                    f"{doc_raw:.0f} B/doc raw JSON documents",
                    f"{got.per_doc / doc_raw:.2f} of raw",
                    "reference",
                )
            )
    return [
        Row(
            "2. Bytes on the wire",
            f"{base.events:,}-event backlog, one sync, both ways, headers included "
            f"(up {up / base.events:.0f} + down {down / base.events:.0f} B/event; "
            f"request bodies, B/event: {bodies}; requests: {calls})",
            f"{per:.0f} B/event",
            f"{raw_per:.0f} B/event raw records; {zlib_per:.0f} zlib-9 of the whole backlog",
            f"{per / raw_per:.2f} of raw{against}",
            "≤ 150 B/event",
            yes(per <= 150),
        ),
        *rows,
    ]


def run_link(settings: Settings, base: Base) -> list[Row]:
    useful, _, _, _ = clean_sync(base, settings, "link-clean")
    rate, rtt, cut = RATE_2G, RTT_2G, CUT_2G
    if settings.smoke:  # the same shape, faster, so it takes seconds
        rate, rtt, cut = 200_000.0, 0.02, 40_000
    site, app = restore(base, "link", settings.work)
    site.start(1)
    runs = failures = duplicates = 0
    limit = 60.0 if settings.smoke else 1800.0
    try:
        with LinkProxy(
            ("127.0.0.1", site.processes[0].port), rate=rate, rtt=rtt, cut_every=cut
        ) as link:
            point_at(app, link.url)
            counting = Counting(HttpTransport(link.url, read_timeout=120))
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < limit:
                runs += 1
                try:
                    result = sync(app, counting)
                except LinkError:
                    failures += 1
                    continue
                duplicates += result.duplicates
                break
            elapsed = time.perf_counter() - t0
            receipted = counting.answered.get("push", t0) - t0  # the last receipt's arrival
            stats = link.stats()
        stored, seqs = hub_chain(site, node_id_of(app))
    finally:
        site.stop()
        node_db.database(app).engine.dispose()
    complete = stored == base.events and seqs == stored
    utilisation = useful / (rate * elapsed)
    pushes = counting.calls.get("push", 0)
    broken = counting.broken.get("push", 0)
    link = f"{rate * 8 / 1000:.0f} kbit/s, {rtt * 1000:.0f} ms RTT, cut every {cut // 1000} KB"
    link_desc = f"smoke link: {link}" if settings.smoke else link
    ideal = useful / rate
    shown = (lambda x: f"{x:.0f} s") if not settings.smoke else (lambda x: f"{x:.1f} s")
    return [
        Row(
            "3. Sync over a 2G link",
            f"{base.events:,} events, {link_desc}: time to full receipt "
            f"({stats.cuts} cuts, {runs} sync runs, {pushes} pushes of which {broken} cut; "
            f"{stored:,} stored, {duplicates} duplicates)",
            shown(receipted),
            f"{ideal:.0f} s to send the whole cut-free sync's {useful / 1000:.0f} KB",
            f"{receipted / ideal:.2f}× ideal",
            "complete, no duplicate, < 300 s",
            yes(complete and duplicates == 0 and receipted < 300),
        ),
        Row(
            "3. Sync over a 2G link",
            "time to the end of the sync, the citizen-notification drain after the receipts "
            f"included ({counting.calls.get('notify', 0)} notify requests, "
            f"{counting.broken.get('notify', 0)} cut)",
            shown(elapsed),
            f"{ideal:.0f} s",
            f"{elapsed / ideal:.2f}× ideal",
            "reported",
        ),
        Row(
            "3. Sync over a 2G link",
            f"link utilisation: useful upstream bytes ÷ (capacity × time); "
            f"{stats.up / 1000:.0f} KB went up, {stats.lost / 1000:.0f} KB lost to cuts",
            f"{utilisation:.2f}",
            f"{useful / 1000:.0f} KB useful (cut-free sync, headers included)",
            "—",
            "≥ 0.8",
            yes(utilisation >= 0.8),
        ),
    ]
