"""Benchmarks 4 and 6 — the desk as officers meet it: ``commune-node run`` in its own
process, reached over HTTP.

4. Intake latency (``POST /api/v1/dossiers``, one officer after another, realistic forms
   from :func:`commune_node.sample._intake_form`) and the dossier list queries, on the node
   with a million records (:mod:`bench.bignode`) and, as the same-run baseline, on an empty
   node. The disk's own floor is measured beside them in the same run: a bare SQLite
   ``INSERT`` + ``COMMIT`` (WAL, ``synchronous=FULL``, as the node's database is opened) in
   the same folder as the node's database; intake p95 is given as a ratio to it.
6. Start-up time (process start to the first answer) and resident memory at idle with the
   scheduler syncing every 5 s against a running hub, on the node of benchmark 2 after its
   backlog is synced. Baseline: a bare ``python -c`` that imports nothing.
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from bench import bignode, data, servers, wire
from bench.core import Row, Settings, percentile, yes
from common.catalogue import load_sample_catalogue
from commune_node import create_app
from commune_node import db as node_db
from commune_node.sample import _intake_form, _person
from commune_node.services import officers

LISTS = {
    "first page": "/api/v1/dossiers?limit=50",
    "page 200": "/api/v1/dossiers?limit=50&offset=10000",
    "overdue": "/api/v1/dossiers?due=overdue&limit=50",
    "status 4 (processing)": "/api/v1/dossiers?status=4&limit=50",
    "name search": "/api/v1/dossiers?q=Nguyễn%20Văn%20An&limit=50",
}


def _token(instance: Path, key: bytes | None = None) -> str:
    config = {"SECRET_KEY": "bench", **({"DATABASE_KEY": key.hex()} if key else {})}
    app = create_app(config, instance_path=str(instance))
    with node_db.write_session(app) as session:
        officer = officers.by_username(session, "bench.receiver") or officers.create_officer(
            session,
            username="bench.receiver",
            full_name="Lê Thị Hoa",
            roles=["receiver"],
            password=data.PASSWORD,
            clock=servers.now_utc,
        )
        token = officers.issue_token(session, officer, label="bench", clock=servers.now_utc)
    node_db.database(app).engine.dispose()
    return token


def _desk(
    instance: Path,
    intakes: int,
    repeats: int,
    *,
    unlock: str | None = None,
    key: bytes | None = None,
) -> dict[str, list[float]]:
    token = _token(instance, key)
    proc, _ = servers.node_process(
        instance, sync_interval=0, log=instance.parent / f"desk-{instance.name}.log", unlock=unlock
    )
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    rng = random.Random(11)
    procs = [p for p in load_sample_catalogue().procedures.values() if p.level == "commune"]
    out: dict[str, list[float]] = {"intake": []}
    try:
        for i in range(intakes + 5):
            form: dict[str, Any] = _intake_form(rng.choice(procs), _person(rng, "Xã Đăk Pxi"), rng)
            form.pop("email")
            t0 = time.perf_counter()
            r = http.post(proc.url + "/api/v1/dossiers", json=form, timeout=60)
            elapsed = time.perf_counter() - t0
            if r.status_code != 201:
                raise RuntimeError(f"intake refused: {r.status_code} {r.text[:300]}")
            if i >= 5:  # the first few warm the process
                out["intake"].append(elapsed)
        for name, path in LISTS.items():
            out[name] = []
            for i in range(repeats + 1):
                t0 = time.perf_counter()
                r = http.get(proc.url + path, timeout=60)
                elapsed = time.perf_counter() - t0
                if r.status_code != 200:
                    raise RuntimeError(f"{path}: {r.status_code} {r.text[:300]}")
                if i:
                    out[name].append(elapsed)
    finally:
        proc.stop()
    return out


def _desk_pair(
    desks: dict[str, tuple[Path, str | None, bytes | None]], intakes: int, repeats: int
) -> dict[str, dict[str, list[float]]]:
    """Serve every desk at once (``commune-node run`` each) and send each request to one desk
    then the next, request by request, so that a noisy moment on a shared machine falls on
    all of them alike. Returns, per desk, the seconds of each intake and of each list."""
    procs, https = {}, {}
    out: dict[str, dict[str, list[float]]] = {name: {"intake": []} for name in desks}
    try:
        for name, (folder, unlock, key) in desks.items():
            token = _token(folder, key)
            procs[name], _ = servers.node_process(
                folder,
                sync_interval=0,
                log=folder.parent / f"desk-{folder.name}.log",
                unlock=unlock,
            )
            https[name] = requests.Session()
            https[name].headers["Authorization"] = f"Bearer {token}"
        rng = random.Random(11)
        catalogue = [p for p in load_sample_catalogue().procedures.values() if p.level == "commune"]
        for i in range(intakes + 5):
            form: dict[str, Any] = _intake_form(
                rng.choice(catalogue), _person(rng, "Xã Đăk Pxi"), rng
            )
            form.pop("email")
            for name in desks:
                t0 = time.perf_counter()
                r = https[name].post(procs[name].url + "/api/v1/dossiers", json=form, timeout=60)
                elapsed = time.perf_counter() - t0
                if r.status_code != 201:
                    raise RuntimeError(f"intake refused: {r.status_code} {r.text[:300]}")
                if i >= 5:  # the first few warm the process
                    out[name]["intake"].append(elapsed)
        for list_name, path in LISTS.items():
            for i in range(repeats + 1):
                for name in desks:
                    c0 = servers.cpu_seconds(procs[name].pid)
                    t0 = time.perf_counter()
                    r = https[name].get(procs[name].url + path, timeout=60)
                    elapsed = time.perf_counter() - t0
                    if r.status_code != 200:
                        raise RuntimeError(f"{path}: {r.status_code} {r.text[:300]}")
                    if i:
                        out[name].setdefault(list_name, []).append(elapsed)
                        # the server's own CPU (user + system): what the neighbours' load
                        # on a shared machine changes least
                        cpu = servers.cpu_seconds(procs[name].pid) - c0
                        out[name].setdefault(f"{list_name} cpu", []).append(cpu)
    finally:
        for proc in procs.values():
            proc.stop()
    return out


def commit_floor(folder: Path, commits: int) -> list[float]:
    """Seconds per bare durable commit on the disk of ``folder``: one SQLite ``INSERT`` of an
    intake-sized row and its ``COMMIT``, WAL journal, ``synchronous=FULL`` — the least one
    durable intake can cost there. The first few commits warm the file and are dropped."""
    path = folder / "commit-floor.sqlite3"
    body = json.dumps(
        {"applicant": "Nguyễn Thị Minh Khai", "address": "Thôn 3, Xã Đăk Pxi", "note": "x" * 600},
        ensure_ascii=False,
    )
    conn = sqlite3.connect(path, isolation_level=None)
    out: list[float] = []
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE IF NOT EXISTS intake (id INTEGER PRIMARY KEY, body TEXT)")
        for i in range(commits + 5):
            t0 = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO intake (body) VALUES (?)", (body,))
            conn.execute("COMMIT")
            if i >= 5:
                out.append(time.perf_counter() - t0)
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return out


def run_bignode(settings: Settings, specs: list[data.Spec], log: Any = print) -> list[Row]:
    events = settings.n(1_000_000, 5_000)
    built = bignode.cached(settings.cache, events, specs, log)
    big = settings.work / "desk-big"
    if big.exists():
        shutil.rmtree(big)
    shutil.copytree(built, big)
    empty = settings.work / "desk-empty"
    if empty.exists():
        shutil.rmtree(empty)
    app = data.make_node(empty, agency=bignode.AGENCY, commune=bignode.COMMUNE)
    node_db.database(app).engine.dispose()
    intakes, repeats = settings.n(300, 20), settings.n(30, 3)
    base = _desk(empty, intakes, repeats)
    floor = commit_floor(big, intakes)  # same disk, same folder, between the two desk runs
    got = _desk(big, intakes, repeats)
    rows = []
    ms = 1000.0
    lat = got["intake"]
    b95 = percentile(base["intake"], 95)
    p95 = percentile(lat, 95)
    f95 = percentile(floor, 95)
    rows.append(
        Row(
            "4. A node with years of records",
            f"intake through the HTTP API with {events:,} records, {intakes} dossiers: "
            "p50 / p95 / p99",
            " / ".join(f"{percentile(lat, p) * ms:.1f}" for p in (50, 95, 99)) + " ms",
            f"p95 {b95 * ms:.1f} ms on an empty node",
            f"{p95 / b95:.2f}× empty",
            "p95 < 10 ms",
            yes(p95 < 0.010),
        )
    )
    rows.append(
        Row(
            "4. A node with years of records",
            f"intake p95 against the disk's floor: a bare SQLite INSERT + COMMIT (WAL, "
            f"synchronous=FULL) in the node database's folder, {intakes} commits, p50 / p95 "
            f"{percentile(floor, 50) * ms:.1f} / {f95 * ms:.1f} ms",
            f"{p95 * ms:.1f} ms",
            f"p95 {f95 * ms:.1f} ms bare durable commit",
            f"{p95 / f95:.2f}× floor",
            "≤ 1.5× floor",
            yes(p95 <= 1.5 * f95),
        )
    )
    for name in LISTS:
        p95 = percentile(got[name], 95)
        b95 = percentile(base[name], 95)
        rows.append(
            Row(
                "4. A node with years of records",
                f"dossier list, {name} (`{LISTS[name].split('?')[1]}`): p95 of {repeats}",
                f"{p95 * ms:.1f} ms",
                f"{b95 * ms:.1f} ms on an empty node",
                f"{p95 / b95:.1f}× empty",
                "< 50 ms",
                yes(p95 < 0.050),
            )
        )
    return rows


def run_atrest(settings: Settings, base: Any) -> list[Row]:
    """Benchmark 7: the desk's intake and lists on the same node (the benchmark 2 backlog),
    once with its plain database and once encrypted (SQLCipher, ``commune-node encrypt``),
    in the same run: both served at once, each request sent to one then the other, so that a
    noisy moment hits both."""
    from commune_node import vault

    plain = settings.work / "atrest-plain"
    encrypted = settings.work / "atrest-encrypted"
    for folder in (plain, encrypted):
        if folder.exists():
            shutil.rmtree(folder)
        shutil.copytree(base.folder / "node", folder)
    key, recovery = vault.new_key(), vault.new_recovery_secret()
    vault.encrypt_instance(
        encrypted, encrypted / "node.sqlite3", key, recovery=recovery, officers={}
    )
    intakes, repeats = settings.n(300, 20), settings.n(200, 6)
    got = _desk_pair(
        {"plain": (plain, None, None), "encrypted": (encrypted, recovery, key)}, intakes, repeats
    )
    rows = []
    ms = 1000.0
    what = f"{base.events:,}-record node"
    p95, b95 = percentile(got["encrypted"]["intake"], 95), percentile(got["plain"]["intake"], 95)
    b50 = percentile(got["plain"]["intake"], 50)
    rows.append(
        Row(
            "7. Encryption at rest",
            f"intake through the HTTP API, {what} encrypted (SQLCipher 4, raw 256-bit key), "
            f"{intakes} dossiers: p50 / p95",
            " / ".join(f"{percentile(got['encrypted']['intake'], p) * ms:.1f}" for p in (50, 95))
            + " ms",
            f"p50 / p95 {b50 * ms:.1f} / {b95 * ms:.1f} ms on the same node, plain",
            f"{p95 / b95:.2f}× plain",
            "≤ 1.10× plain",
            yes(p95 <= 1.10 * b95),
        )
    )
    for name in LISTS:
        enc, pln = got["encrypted"][name], got["plain"][name]
        p95, b95 = percentile(enc, 95), percentile(pln, 95)
        cpu_e = sum(got["encrypted"][f"{name} cpu"]) / len(enc)
        cpu_p = sum(got["plain"][f"{name} cpu"]) / len(pln)
        rows.append(
            Row(
                "7. Encryption at rest",
                f"dossier list, {name} (`{LISTS[name].split('?')[1]}`), {what} encrypted: "
                f"p50 / p95 of {len(enc)} (server CPU per request {cpu_e * ms:.2f} ms "
                f"encrypted, {cpu_p * ms:.2f} plain: {cpu_e / cpu_p:.2f}×)",
                f"{percentile(enc, 50) * ms:.1f} / {p95 * ms:.1f} ms",
                f"{percentile(pln, 50) * ms:.1f} / {b95 * ms:.1f} ms plain",
                f"{p95 / b95:.2f}× plain",
                "≤ 1.10× plain",
                yes(p95 <= 1.10 * b95),
            )
        )
    return rows


def _bare_python() -> tuple[float, int]:
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.5)"])
    time.sleep(0.5)
    rss = servers.rss_bytes(p.pid)
    p.wait()
    return time.perf_counter() - t0 - 1.5, rss


def run_footprint(settings: Settings, base: wire.Base) -> list[Row]:
    site, app = wire.restore(base, "footprint", settings.work)
    site.start(1)
    watch = 5.0 if settings.smoke else 20.0
    try:
        url = site.urls[0]
        wire.point_at(app, url)
        wire.sync(app, wire.HttpTransport(url, read_timeout=120))
        node_db.database(app).engine.dispose()
        instance = Path(app.instance_path)
        proc, startup = servers.node_process(
            instance, sync_interval=5, log=instance.parent / "node-run.log"
        )
        try:
            samples = []
            t_end = time.monotonic() + watch
            while time.monotonic() < t_end:
                samples.append(servers.rss_bytes(proc.pid))
                time.sleep(0.25)
            ticks = proc.log.read_text().count("sync failed")
        finally:
            proc.stop()
    finally:
        site.stop()
    bare_start, bare_rss = _bare_python()
    peak = max(samples)
    mib = 2**20
    return [
        Row(
            "6. Node footprint",
            f"resident memory at idle, scheduler syncing every 5 s, peak over {watch:.0f} s "
            f"({base.events:,} records, {ticks} failed syncs)",
            f"{peak / mib:.0f} MiB",
            f"{bare_rss / mib:.0f} MiB bare python",
            f"{peak / bare_rss:.1f}× bare",
            "< 120 MB",
            yes(peak < 120e6),
        ),
        Row(
            "6. Node footprint",
            "start-up: `commune-node run` to its first HTTP answer",
            f"{startup:.2f} s",
            f"{bare_start:.2f} s bare python start",
            f"{startup / max(bare_start, 1e-3):.0f}× bare",
            "< 2 s",
            yes(startup < 2.0),
        ),
    ]
