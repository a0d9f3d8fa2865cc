"""The world a fault campaign runs in: a hub and commune nodes on loopback, each node linked
to the hub through its own :class:`FaultProxy`, driven over HTTP, observed through their
databases.

Two kinds of world share everything but how a server runs:

* :class:`ProcessWorld` — real processes: ``central-hub … run`` and ``commune-node … run``
  started from the CLIs, stopped with ``kill -9``; syncs through the node's page
  (``POST /sync/now``) or the ``commune-node sync`` command; a node's clock is moved with
  ``DOSSIER_CLOCK_OFFSET_SECONDS``.
* :class:`ThreadWorld` — the same apps served by waitress in threads of the test process
  (cheap enough for hundreds of scenarios); a "crash" stops the server and drops its engine.

Set-up is paid once: :func:`build_template` makes a hub and nodes with the CLIs (or the
services, for threads), enrols each node through its proxy and pulls the first feed; every
scenario starts from a copy of those folders (and, on PostgreSQL, a copy of the database).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import sqlalchemy
from sqlalchemy import text

from common import chain_break, keys, record
from tests.faults.proxy import FaultProxy
from tests.support import ThreadServer

PASSWORD = "campaign password 1"
HUB_PASSWORD = "campaign hub password"
MARITAL = "1.004873.000.00.00.H38"  # commune level, 3 working days
CERTIFIED_COPY = "2.000815.000.00.00.H38"  # same day
CRIMINAL_RECORD = "3.000333.000.00.00.H38"  # provincial: forwarded to the hub
COMMUNES = [
    ("xa-dak-pxi", "Xã Đăk Pxi", "000.00.12.H26"),
    ("xa-ngok-reo", "Xã Ngọk Réo", "000.00.13.H26"),
    ("xa-ngoc-linh", "Xã Ngọc Linh", "000.00.14.H26"),
]
BATCH_BYTES = 4096  # a few records per batch: a sync is several round trips to cut into
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
# How long the harness waits on a server, a command or a database before it calls it stuck:
# far beyond any answer on a loaded machine, so only a hang ever reaches it.
PATIENCE = 300.0


def required_documents(procedure: str) -> dict[str, dict[str, int]]:
    """Every required document of ``procedure`` in its catalogue quantities."""
    from common.catalogue import load_sample_catalogue

    proc = load_sample_catalogue().procedures[procedure]
    return {
        d.id: {"original": d.original, "certified_copy": d.certified_copy,
               "photocopy": d.photocopy}
        for d in proc.documents
        if d.required
    }  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _listening_sockets(port: int) -> set[str] | None:
    """Inodes of the TCP sockets listening on ``port`` (any address), from ``/proc/net``;
    None where the system has no such tables (not Linux)."""
    inodes: set[str] = set()
    tables = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        tables += 1
        for line in lines:
            fields = line.split()  # sl local rem st tx:rx tr:when retrnsmt uid timeout inode
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes if tables else None


def listens(pid: int, port: int) -> bool | None:
    """Whether process ``pid`` itself holds the socket listening on ``port``; None where
    ``/proc`` cannot tell.

    An answer on a port proves nothing about who answered: on a machine where other test
    runs start servers on free ports, the port of a process just killed can be taken by
    another server before the restarted process binds it (the restart then fails to bind
    and exits), and that other server answers in its place."""
    inodes = _listening_sockets(port)
    if inodes is None:
        return None
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{fd}")[8:-1] in inodes:  # socket:[inode]
                return True
    return False


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code < 500
    except requests.RequestException:
        return False


def wait_process(
    proc: subprocess.Popen[bytes], port: int, path: str, seconds: float = PATIENCE
) -> bool:
    """Wait until the server process ``proc`` listens on ``port`` and answers at ``path``;
    False if it exited first (the port was taken). Only ``proc``'s own socket counts: an
    answer from another process on that port is not ``proc`` being up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if _answers(f"http://127.0.0.1:{port}{path}") and listens(proc.pid, port) is not False:
            return True  # (in this order: reading /proc/net takes a while on a busy machine)
        time.sleep(0.05)
    _stop(proc, kill=True)
    raise AssertionError(f"the server on port {port} did not answer within {seconds} s")


def start_server(
    argv: list[str], port: int, path: str, *, env: dict[str, str], log: Path
) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``argv --port N`` and wait until it serves ``path``; if ``port`` was taken
    meanwhile, on a free port instead. Its output is appended to ``log``. (process, port)"""
    log.parent.mkdir(parents=True, exist_ok=True)
    while True:
        with log.open("ab") as out:
            proc = subprocess.Popen([*argv, "--port", str(port)], env=env, stdout=out,
                                    stderr=subprocess.STDOUT)  # fmt: skip
        if wait_process(proc, port, path):
            return proc, port
        port = free_port()


def sqlite_copy(src: Path, dst: Path) -> None:
    """A consistent copy of a SQLite database (WAL included), with SQLite's backup API."""
    with (
        contextlib.closing(sqlite3.connect(src)) as s,
        contextlib.closing(sqlite3.connect(dst)) as d,
    ):
        s.backup(d)


# ---------------------------------------------------------------------------- template


@dataclass
class NodeSeed:
    name: str
    commune: str
    agency: str
    node_id: str
    public_key: str
    tokens: dict[str, str]  # receiver, leader → bearer token
    proxy_port: int


@dataclass
class Spare:
    """A new laptop set up for a commune (``init``, officers, tokens), not enrolled."""

    dir: Path
    tokens: dict[str, str]
    public_key: str


@dataclass
class Template:
    root: Path
    hub_database: str | None  # PostgreSQL template database URL, or None for SQLite
    nodes: list[NodeSeed]
    processes: bool
    # the hub's database before node k enrolled (a file, or a PostgreSQL database's name)
    before_enrolment: list[str] = field(default_factory=list)
    spares: dict[str, list[Spare]] = field(default_factory=dict)  # commune → new laptops


def _cli(kind: str, instance: Path, *args: str, env: dict[str, str] | None = None) -> str:
    module = "central_hub.cli" if kind == "hub" else "commune_node.cli"
    if kind == "node" and args[:1] == ("init",):
        # the campaign reads and damages node databases with plain sqlite3: plain nodes
        instance.mkdir(parents=True, exist_ok=True)
        config = instance / "config.py"
        text = config.read_text() if config.exists() else ""
        config.write_text(text + "DATABASE_ENCRYPTION = False\n")
    done = subprocess.run(
        [sys.executable, "-m", module, "--instance", str(instance), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=PATIENCE,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"{kind} {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip()


def _hub_env(database: str | None) -> dict[str, str]:
    return {"CENTRAL_HUB_DATABASE_URL": database} if database else {}


def build_template(
    root: Path,
    *,
    nodes: int,
    processes: bool,
    hub_database: str | None = None,
    life: bool = False,
) -> Template:
    """A hub and ``nodes`` enrolled nodes whose first sync is done, ready to be copied.
    With ``life``, also what the campaign's life events need: a copy of the hub's database
    from before each commune's enrolment, and new laptops ready to replace each commune's."""
    root.mkdir(parents=True, exist_ok=True)
    seeds = []
    proxies: list[FaultProxy] = []
    hub_dir = root / "hub"
    hub_env = _hub_env(hub_database)
    if processes:
        _cli("hub", hub_dir, "init", "--name", "Tỉnh Quảng Ngãi", "--level", "province",
             env={**hub_env, "CENTRAL_HUB_ADMIN_PASSWORD": HUB_PASSWORD})  # fmt: skip
        _cli("hub", hub_dir, "user", "add", "lan.pham", "--name", "Phạm Thị Lan", "--role",
             "hub_officer", "--password", HUB_PASSWORD, env=hub_env)  # fmt: skip
    else:
        _thread_hub_init(hub_dir, hub_database)
    for name, commune, agency in COMMUNES[:nodes]:
        node_dir = root / name
        if processes:
            _cli("node", node_dir, "init", "--commune", commune, "--agency-code", agency,
                 env={"COMMUNE_NODE_ADMIN_PASSWORD": PASSWORD})  # fmt: skip
            for user, full, role in (("hoa.le", "Lê Thị Hoa", "receiver"),
                                     ("minh.tran", "Trần Văn Minh", "leader")):  # fmt: skip
                _cli("node", node_dir, "officer", "add", user, "--name", full, "--role", role,
                     "--password", PASSWORD)  # fmt: skip
            tokens = {
                "receiver": _cli("node", node_dir, "officer", "token", "hoa.le"),
                "leader": _cli("node", node_dir, "officer", "token", "minh.tran"),
            }
        else:
            tokens = _thread_node_init(node_dir, commune, agency)
        (node_dir / "config.py").write_text(
            f"SYNC_BATCH_BYTES = {BATCH_BYTES}\nSESSION_COOKIE_SECURE = False  # plain HTTP\n"
        )
        pem = (node_dir / "node_key.pem").read_bytes()
        key = keys.private_from_pem(pem)
        seeds.append(
            NodeSeed(
                name, commune, agency, keys.key_id(key), keys.public_bytes(key).hex(), tokens, 0
            )
        )
    (hub_dir / "config.py").write_text("SESSION_COOKIE_SECURE = False  # plain HTTP\n")
    hub, hub_port = _start_template_hub(hub_dir, free_port(), hub_database, processes)
    before: list[str] = []
    try:
        for seed in seeds:
            if life:  # the hub's database as a backup older than this commune's enrolment
                hub()
                before.append(copy_hub_database(hub_dir, hub_database, f"before{len(before)}"))
                hub, hub_port = _start_template_hub(hub_dir, free_port(), hub_database, processes)
                for p in proxies:
                    p.set_target(("127.0.0.1", hub_port))
            proxy = FaultProxy(("127.0.0.1", hub_port)).start()
            proxies.append(proxy)
            seed.proxy_port = proxy.port
            node_dir = root / seed.name
            if processes:
                code = _cli("hub", hub_dir, "enrol-code", "--commune", seed.commune,
                            "--agency-code", seed.agency, env=hub_env)  # fmt: skip
                code = re.findall(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", code)[0]
                _cli("node", node_dir, "enrol", "--hub", proxy.url, "--code", code)
                _cli("node", node_dir, "sync")
            else:
                _thread_enrol_and_sync(hub_dir, hub_database, node_dir, seed, proxy.url)
    finally:
        hub()
        for proxy in proxies:
            proxy.close()
    spares = make_spares(root, seeds, processes) if life else {}
    return Template(root, hub_database, seeds, processes, before, spares)


def copy_hub_database(hub_dir: Path, database: str | None, name: str) -> str:
    """A copy of the (stopped) hub's database beside it: a file path, or on PostgreSQL the
    name of a database made from it."""
    if database:
        pg_copy(database, name)
        return f"{database.rsplit('/', 1)[1]}_{name}"
    target = hub_dir.parent / f"hub-{name}.sqlite3"
    sqlite_copy(hub_dir / "hub.sqlite3", target)
    return str(target)


def _start_template_hub(
    hub_dir: Path, port: int, database: str | None, processes: bool
) -> tuple[Callable[[], None], int]:
    """Serve the template's hub; (stop, the port it serves on)."""
    if processes:
        proc, port = start_server(
            [sys.executable, "-m", "central_hub.cli", "--instance", str(hub_dir), "run"],
            port, "/sync/v1/hello", env={**os.environ, **_hub_env(database)},
            log=hub_dir.parent / "logs" / "hub.log",
        )  # fmt: skip

        def stop() -> None:
            _stop(proc, kill=False)

        return stop, port
    app = hub_app(hub_dir, database)
    server = ThreadServer(app, port=port)

    def stop_thread() -> None:
        server.stop()
        app.extensions["db"].engine.dispose()

    return stop_thread, server.port


def hub_app(hub_dir: Path, database: str | None) -> Any:
    from central_hub import create_app

    cfg: dict[str, Any] = {"SECRET_KEY": "campaign-hub", "SESSION_COOKIE_SECURE": False}
    if database:
        cfg["DATABASE_URL"] = database
    return create_app(cfg, instance_path=str(hub_dir))


def node_app(node_dir: Path, clock: Callable[[], datetime]) -> Any:
    from commune_node import create_app

    return create_app(
        {
            "SECRET_KEY": "campaign-node",
            "CLOCK": clock,
            "SYNC_BATCH_BYTES": BATCH_BYTES,
            "SESSION_COOKIE_SECURE": False,
        },
        instance_path=str(node_dir),
    )


def _thread_hub_init(hub_dir: Path, database: str | None) -> None:
    from central_hub.services import identity, publishing, users
    from common_io.clock import system_clock

    app = hub_app(hub_dir, database)
    db = app.extensions["db"]
    db.upgrade()
    with db.write() as session:
        hub = identity.create_identity(session, hub_dir, name="Tỉnh Quảng Ngãi", level="province")
        users.create_user(session, username="admin", full_name="Quản trị", roles=["administrator"],
                          password=HUB_PASSWORD, clock=system_clock)  # fmt: skip
        users.create_user(session, username="lan.pham", full_name="Phạm Thị Lan",
                          roles=["hub_officer"], password=HUB_PASSWORD, clock=system_clock)  # fmt: skip
        publishing.publish_sample(session, hub=hub, clock=system_clock)
    db.engine.dispose()


SPARES = 2  # new laptops per commune: replacements a scenario can make


def make_spares(root: Path, seeds: list[NodeSeed], processes: bool) -> dict[str, list[Spare]]:
    """For each commune, laptops set up as docs/operations.md says ("Replace a lost or
    stolen laptop": ``init``, officers), waiting for the enrolment code of a replacement."""
    out: dict[str, list[Spare]] = {}
    for seed in seeds:
        for j in range(SPARES):
            d = root / "spares" / f"{seed.name}-{j}"
            if processes:
                _cli("node", d, "init", "--commune", seed.commune, "--agency-code",
                     seed.agency, env={"COMMUNE_NODE_ADMIN_PASSWORD": PASSWORD})  # fmt: skip
                for user, full, role in (("hoa.le", "Lê Thị Hoa", "receiver"),
                                         ("minh.tran", "Trần Văn Minh", "leader")):  # fmt: skip
                    _cli("node", d, "officer", "add", user, "--name", full, "--role", role,
                         "--password", PASSWORD)  # fmt: skip
                tokens = {
                    "receiver": _cli("node", d, "officer", "token", "hoa.le"),
                    "leader": _cli("node", d, "officer", "token", "minh.tran"),
                }
            else:
                tokens = _thread_node_init(d, seed.commune, seed.agency)
            (d / "config.py").write_text(
                f"SYNC_BATCH_BYTES = {BATCH_BYTES}\nSESSION_COOKIE_SECURE = False  # plain HTTP\n"
            )
            key = keys.private_from_pem((d / "node_key.pem").read_bytes())
            out.setdefault(seed.name, []).append(Spare(d, tokens, keys.public_bytes(key).hex()))
    return out


def _thread_node_init(node_dir: Path, commune: str, agency: str) -> dict[str, str]:
    from common.catalogue import load_sample_catalogue
    from common_io.clock import system_clock
    from commune_node import db
    from commune_node.services import catalogue, officers
    from commune_node.services import identity as ident

    app = node_app(node_dir, system_clock)
    db.upgrade(app)
    tokens = {}
    with db.write_session(app) as session:
        ident.create_identity(session, node_dir, commune_name=commune, agency_code=agency)
        catalogue.install(session, load_sample_catalogue())
        officers.create_officer(session, username="admin", full_name="Quản trị nút",
                                roles=["admin"], password=PASSWORD, clock=system_clock)  # fmt: skip
        for user, full, role in (("hoa.le", "Lê Thị Hoa", "receiver"),
                                 ("minh.tran", "Trần Văn Minh", "leader")):  # fmt: skip
            o = officers.create_officer(session, username=user, full_name=full, roles=[role],
                                        password=PASSWORD, clock=system_clock)  # fmt: skip
            tokens[role] = officers.issue_token(session, o, label="campaign", clock=system_clock)
    db.database(app).engine.dispose()
    return tokens


def _thread_enrol_and_sync(
    hub_dir: Path, database: str | None, node_dir: Path, seed: NodeSeed, url: str
) -> None:
    from central_hub.services import nodes as hub_nodes
    from common_io.clock import system_clock
    from commune_node import db
    from commune_node.scheduler import run_sync
    from commune_node.services.enrolment import enrol
    from commune_node.transport import HttpTransport
    from commune_node.web.context import node_identity

    hub = hub_app(hub_dir, database)
    with hub.extensions["db"].write() as session:
        code = hub_nodes.issue_code(
            session, commune_name=seed.commune, agency_code=seed.agency, clock=system_clock
        )
    hub.extensions["db"].engine.dispose()
    app = node_app(node_dir, system_clock)
    with app.app_context():
        enrol(db.database(app), identity=node_identity(), transport=HttpTransport(url),
              hub_url=url, code=code)  # fmt: skip
    run_sync(app)
    db.database(app).engine.dispose()


# ---------------------------------------------------------------------------- observing


@dataclass
class HubView:
    heads: dict[str, int]  # node id → head_seq in the node table
    records: dict[str, list[tuple[int, str, str | None]]]  # node → [(seq, id, prev)]
    dead: int
    equivocations: int
    quarantined: list[str]
    states: dict[str, Any]  # dossier code → state
    # record id of a valid chain.break → (seq, prev) the record after it must have
    breaks: dict[str, tuple[int, str]] = field(default_factory=dict)


@dataclass
class NodeView:
    head: int
    ids: dict[int, str]  # seq → record id
    acked: int
    receipts: list[tuple[int, str | None]]
    states: dict[str, Any]
    waiting: int
    alarms: list[str]
    last_error: str


class Observer:
    """Reads the hub's and the nodes' databases (read-only) to check the invariants."""

    def __init__(self, hub_url: str) -> None:
        self.hub_engine = sqlalchemy.create_engine(hub_url, poolclass=sqlalchemy.NullPool)
        self._prev: dict[str, str | None] = {}  # record id → prev, parsed once
        self._breaks: dict[str, tuple[int, str]] = {}  # declared chain breaks, parsed once

    def close(self) -> None:
        self.hub_engine.dispose()

    def hub(self, *, with_states: bool = False) -> HubView:
        with self.hub_engine.connect() as c:
            heads = dict(c.execute(text("select node_id, head_seq from node")).all())
            quarantined = [
                r[0] for r in c.execute(text("select node_id from node where state != 'active'"))
            ]
            records: dict[str, list[tuple[int, str, str | None]]] = {n: [] for n in heads}
            for node_id, seq, rid in c.execute(
                text("select node_id, seq, record_id from log_record order by node_id, seq")
            ):
                if node_id not in records:
                    continue  # the hub's own chain
                if rid not in self._prev:
                    raw = c.execute(
                        text("select raw from log_record where record_id = :r"), {"r": rid}
                    ).scalar_one()
                    rec = record.parse(bytes(raw))
                    self._prev[rid] = rec.prev
                    if rec.type == chain_break.TYPE and not chain_break.problems(
                        rec.data, seq=rec.seq, prev=rec.prev
                    ):
                        self._breaks[rid] = chain_break.successor(rec.data, rec.id)
                records[node_id].append((int(seq), rid, self._prev[rid]))
            dead = c.execute(text("select count(*) from log_record where dead")).scalar_one()
            equivocations = c.execute(text("select count(*) from equivocation")).scalar_one()
            states: dict[str, Any] = {}
            if with_states:
                for code, state in c.execute(text("select code, state from hub_dossier")):
                    states[code] = json.loads(state) if isinstance(state, str) else state
        breaks = dict(self._breaks)
        return HubView(heads, records, int(dead), int(equivocations), quarantined, states, breaks)

    @staticmethod
    def node(path: Path, *, with_states: bool = False) -> NodeView:
        uri = f"file:{path}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=PATIENCE)) as c:
            ids = dict(c.execute("select seq, record_id from event").fetchall())
            settings = dict(c.execute("select key, value from setting").fetchall())
            receipts = c.execute("select seq, record_id from receipt").fetchall()
            alarms = [r[0] for r in c.execute("select kind from alarm").fetchall()]
            states = {}
            if with_states:
                states = {
                    code: json.loads(state)
                    for code, state in c.execute("select code, state from dossier")
                }
        acked = int(settings.get("acked_seq") or 0)
        head = max(ids, default=0)
        return NodeView(
            head=head,
            ids=ids,
            acked=acked,
            receipts=receipts,
            states=states,
            waiting=sum(1 for s in ids if s > acked),
            alarms=alarms,
            last_error=settings.get("last_error") or "",
        )


def node_codes(path: Path) -> list[str]:
    """The codes of the dossiers a node holds, oldest first."""
    uri = f"file:{path}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=PATIENCE)) as c:
        return [r[0] for r in c.execute("select code from dossier order by created_at, code")]


def chain_problems(hub: HubView, node_id: str) -> list[str]:
    """Every break in the hub's copy of one node's chain: gaps, twins, prev links. A declared
    ``chain.break`` is not one: the record after it is its ``last_seq + 1`` and names its
    ``next_prev`` (common/chain_break.py)."""
    out = []
    rows = hub.records.get(node_id, [])
    seqs = [s for s, _, _ in rows]
    if rows and seqs[0] != 1:
        out.append(f"hub chain of {node_id[:8]} does not start at seq 1: {seqs[:5]}")
    for (before, rid, _), (seq, _, prev) in itertools.pairwise(rows):
        want_seq, want_prev = hub.breaks.get(rid, (before + 1, rid))
        if seq != want_seq:
            out.append(f"hub chain of {node_id[:8]} not contiguous at seq {seq}")
        elif prev != want_prev:
            out.append(f"hub chain of {node_id[:8]}: seq {seq} does not link to its predecessor")
    if rows and rows[0][2] is not None:
        out.append(f"hub chain of {node_id[:8]}: seq 1 has a prev")
    if len({rid for _, rid, _ in rows}) != len(rows):
        out.append(f"hub stores a record of {node_id[:8]} twice")
    if hub.heads.get(node_id, 0) != (seqs[-1] if seqs else 0):
        out.append(f"hub head of {node_id[:8]} is {hub.heads.get(node_id)}, rows {len(rows)}")
    return out


def verify_node_chain(
    path: Path, public_hex: str, after: int = 0, handovers: dict[int, str] | None = None
) -> tuple[int, str, list[str]]:
    """Check the node's own chain from ``after`` on (signature, seq, prev), ``public_hex``
    being the key that signs record ``after + 1``; a ``key.rotated`` record hands on to the
    key it names, and a new laptop (``handovers``: first seq → its key) signs from its first
    seq on. (last seq, the key that signs the next record, problems)"""
    public = keys.public_from_hex(public_hex)
    problems = []
    uri = f"file:{path}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=PATIENCE)) as c:
        prev = None
        if after:
            raw = c.execute("select record from event where seq = ?", (after,)).fetchone()
            prev = record.parse(bytes(raw[0])) if raw else None
        last = after
        for seq, raw in c.execute(
            "select seq, record from event where seq > ? order by seq", (after,)
        ):
            if handovers and seq in handovers:
                public_hex = handovers[seq]
                public = keys.public_from_hex(public_hex)
            try:
                rec = record.parse(bytes(raw))
                record.check_follows(prev, rec)
                rec.verify(public)
            except Exception as exc:
                problems.append(f"node chain broken at seq {seq}: {exc}")
                break
            if rec.type == "key.rotated":
                public_hex = str(rec.data["new_key"])
                public = keys.public_from_hex(public_hex)
            prev, last = rec, int(seq)
    return last, public_hex, problems


# ---------------------------------------------------------------------------- driving


@dataclass
class Stats:
    scenarios: int = 0
    steps: int = 0
    faults: int = 0
    events: int = 0
    syncs: int = 0
    syncs_ok: int = 0
    kills: int = 0
    restores: int = 0
    lost: int = 0
    duplicated: int = 0
    recovered: int = 0  # scenarios with a hub restore that converged all the same
    most_failed: int = 0  # the most "sync now" failed in a row on a healthy link
    by_kind: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def count(self, kind: str, fault: bool = True) -> None:
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        if fault:
            self.faults += 1

    def line(self, name: str) -> str:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.by_kind.items()))
        return (
            f"{name}: {self.scenarios} scenarios, {self.steps} steps, {self.events} events, "
            f"{self.syncs} syncs ({self.syncs_ok} ok), {self.faults} faults injected "
            f"({kinds}); events lost: {self.lost}, duplicated: {self.duplicated}; scenarios "
            f"with a hub restore that converged: {self.recovered}; most healthy syncs failed "
            f"in a row: {self.most_failed}"
        )


class OffsetClock:
    """The system clock plus an offset the test can change (threads world)."""

    def __init__(self) -> None:
        self.offset = 0

    def __call__(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)


@dataclass
class NodeRun:
    seed: NodeSeed
    dir: Path
    port: int
    proxy: FaultProxy
    http: requests.Session = field(default_factory=requests.Session)
    csrf: str = ""
    clock_offset: int = 0
    up: bool = False
    proc: subprocess.Popen[bytes] | None = None
    server: ThreadServer | None = None
    app: Any = None
    clock: OffsetClock = field(default_factory=OffsetClock)
    verified: int = 0  # own chain verified up to this seq
    signer: str = ""  # the public key (hex) that signs the record after it ("": the first)
    max_acked_seen: int = 0
    codes: list[str] = field(default_factory=list)
    backups: list[Path] = field(default_factory=list)  # copies of its instance folder
    handovers: dict[int, str] = field(default_factory=dict)  # a new laptop's first seq → key
    laptop: int = 0  # the commune's laptops replaced so far
    copy_head: int = 0  # put back from a copy: the copy's head

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db(self) -> Path:
        return self.dir / "node.sqlite3"


def _link(node_dir: Path, port: int, hub_port: int) -> FaultProxy:
    """The node's link to the hub, on the port the template enrolled it through; if another
    process holds that port now, on a free one, with the node's copy pointed at it."""
    proxy = FaultProxy(("127.0.0.1", hub_port), port=port)
    try:
        return proxy.start()
    except OSError:
        proxy.close()
    proxy = FaultProxy(("127.0.0.1", hub_port)).start()
    with contextlib.closing(sqlite3.connect(node_dir / "node.sqlite3")) as c, c:
        c.execute("update setting set value = ? where key = 'hub_url'", (proxy.url,))
    return proxy


class World:
    """A scenario's hub and nodes, started from a copy of the template."""

    def __init__(self, template: Template, root: Path, *, hub_database: str | None = None):
        self.template = template
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.hub_dir = root / "hub"
        shutil.copytree(template.root / "hub", self.hub_dir)
        self.hub_database = hub_database
        self.hub_port = free_port()
        self.hub_up = False
        self.backups: list[Path] = []
        self.nodes: list[NodeRun] = []
        for seed in template.nodes:
            d = root / seed.name
            shutil.copytree(template.root / seed.name, d)
            proxy = _link(d, seed.proxy_port, self.hub_port)
            self.nodes.append(NodeRun(seed, d, 0 if not template.processes else free_port(), proxy))
        hub_url = hub_database or f"sqlite:///{self.hub_dir / 'hub.sqlite3'}"
        self.observer = Observer(hub_url)
        self.restored_since: set[int] = set()  # nodes not yet synced since a hub restore
        self.node_restored: set[int] = set()  # nodes put back from a copy, not yet synced
        self.ever_restored = False

    # -- servers: implemented by the two kinds of world

    def start_hub(self) -> None:
        raise NotImplementedError

    def stop_hub(self, *, kill: bool = True) -> None:
        raise NotImplementedError

    def start_node(self, i: int) -> None:
        raise NotImplementedError

    def stop_node(self, i: int, *, kill: bool = True) -> None:
        raise NotImplementedError

    def set_clock(self, i: int, offset: int) -> None:
        raise NotImplementedError

    def rotate_key(self, i: int) -> str:
        """The node's officer replaces its signing key (``commune-node rotate-key``), the
        node's desk running or not; the new key's id."""
        raise NotImplementedError

    def start(self) -> None:
        self.start_hub()
        for i in range(len(self.nodes)):
            self.start_node(i)

    def close(self) -> None:
        for i, n in enumerate(self.nodes):
            with contextlib.suppress(Exception):
                self.stop_node(i)
            n.proxy.close()
            n.http.close()
        with contextlib.suppress(Exception):
            self.stop_hub()
        self.observer.close()

    # -- the desk, over HTTP

    def _api(self, n: NodeRun, method: str, path: str, who: str, body: Any) -> Any:
        headers = {"Authorization": f"Bearer {n.seed.tokens[who]}"}
        return requests.request(method, n.url + "/api/v1" + path, json=body, headers=headers,
                                timeout=PATIENCE)  # fmt: skip

    def intake(self, i: int, procedure: str, name: str) -> str | None:
        n = self.nodes[i]
        if not n.up:
            return None
        form = {
            "procedure": procedure,
            "applicant_name": name,
            "id_number": "062095001234",
            "phone": "0912345678",
            "address": "thôn 3",
            "documents": required_documents(procedure),
        }
        r = self._api(n, "POST", "/dossiers", "receiver", form)
        assert r.status_code == 201, (r.status_code, r.text[:500])
        code = str(r.json()["dossier"]["code"])
        n.codes.append(code)
        return code

    def act(self, i: int, code: str, action: str, who: str, body: dict[str, Any]) -> int:
        n = self.nodes[i]
        if not n.up:
            return 0
        r = self._api(n, "POST", f"/dossiers/{code}/actions/{action}", who, body)
        assert r.status_code < 500, (r.status_code, r.text[:500])
        assert r.status_code in (200, 403, 409, 422), (action, r.status_code, r.text[:300])
        return int(r.status_code)

    def login(self, n: NodeRun) -> None:
        page = n.http.get(n.url + "/login", timeout=PATIENCE).text
        token = _TOKEN.search(page)
        assert token
        r = n.http.post(n.url + "/login", data={"username": "hoa.le", "password": PASSWORD,
                        "csrf_token": token.group(1)}, allow_redirects=False, timeout=PATIENCE)  # fmt: skip
        assert r.status_code == 302, r.status_code
        page = n.http.get(n.url + "/sync/", timeout=PATIENCE).text
        token = _TOKEN.search(page)
        assert token
        n.csrf = token.group(1)

    def sync_page(self, i: int) -> str:
        n = self.nodes[i]
        if not n.csrf:
            self.login(n)
        return str(n.http.get(n.url + "/sync/", timeout=PATIENCE).text)

    def sync(self, i: int, *, timeout: float = PATIENCE) -> bool:
        """ "Sync now" on the node's page; True when the run ended without an error."""
        n = self.nodes[i]
        if not n.up:
            return False
        if not n.csrf:
            self.login(n)
        r = n.http.post(n.url + "/sync/now", data={"csrf_token": n.csrf}, timeout=timeout,
                        allow_redirects=False)  # fmt: skip
        assert r.status_code == 302, (r.status_code, r.text[:300])
        ok = Observer.node(n.db).last_error == ""
        if ok:
            self.restored_since.discard(i)
            if i in self.node_restored:  # it took back what the copy lacked
                self.node_restored.discard(i)
                n.codes = node_codes(n.db)
        return ok

    # -- the node's instance folder

    def backup_node(self, i: int) -> None:
        """``commune-node backup`` while the desk runs (SQLite's backup API)."""
        from commune_node.services import backup

        n = self.nodes[i]
        target = self.root / f"{n.seed.name}-copy-{len(n.backups)}.tar.gz"
        backup.make(n.dir, target, database=n.db, now=datetime.now(UTC))
        n.backups.append(target)

    def forget_node_backups(self, i: int) -> None:
        """A rotation: copies made before it hold the replaced key and are destroyed, as
        docs/operations.md tells the officer."""
        for path in self.nodes[i].backups:
            path.unlink(missing_ok=True)
        self.nodes[i].backups.clear()

    def restore_node(self, i: int, which: int) -> None:
        """The laptop's disk dies; ``commune-node restore`` puts an older copy back (the
        folder's files moved aside), and the node starts again."""
        from commune_node.services import backup

        n = self.nodes[i]
        self.stop_node(i, kill=True)
        backup.restore(n.backups[which], n.dir, force=True, now=datetime.now(UTC))
        for aside in n.dir.glob("replaced-*"):
            shutil.rmtree(aside, ignore_errors=True)
        n.verified, n.signer = 0, ""  # its chain is checked again from the start
        n.codes = node_codes(n.db)
        n.copy_head = Observer.node(n.db).head
        n.csrf = ""
        n.http.cookies.clear()
        self.node_restored.add(i)
        self.start_node(i)

    def flip_synced_record(self, i: int, pick: int) -> int | None:
        """One bit of a record the hub holds flips on the node's disk; the officer runs
        ``commune-node repair``, which takes it back from the hub. The seq flipped."""
        n = self.nodes[i]
        view = Observer.node(n.db)
        held = [s for s in sorted(view.ids) if s <= min(view.acked, n.verified)]
        if not held or i in self.node_restored or not self.hub_up:
            return None
        seq = held[pick % len(held)]
        with contextlib.closing(sqlite3.connect(n.db, timeout=PATIENCE)) as c, c:
            raw = bytearray(
                c.execute("select record from event where seq = ?", (seq,)).fetchone()[0]
            )
            raw[-1] ^= 0x01
            c.execute("update event set record = ? where seq = ?", (bytes(raw), seq))
        restored = self.repair_node(i)
        assert restored == [seq], (seq, restored)
        return seq

    def repair_node(self, i: int) -> list[int]:
        """``commune-node repair``: the seqs it restored from the hub's copy."""
        n = self.nodes[i]
        out = subprocess.run(
            [sys.executable, "-m", "commune_node.cli", "--instance", str(n.dir), "repair"],
            capture_output=True, text=True, timeout=PATIENCE, check=False,
            env={**os.environ, "DOSSIER_CLOCK_OFFSET_SECONDS": str(n.clock_offset)},
        )  # fmt: skip
        assert out.returncode == 0, (out.stdout[-500:], out.stderr[-500:])
        return [int(m) for m in re.findall(r"seq (\d+): restored", out.stdout)]

    # -- the hub

    def forwarded_at_hub(self) -> list[str]:
        """Codes of forwarded dossiers the hub holds, open for the hub officer."""
        with self.observer.hub_engine.connect() as c:
            rows = c.execute(
                text(
                    "select code from hub_dossier where forwarded and status in (2, 4, 6) "
                    "order by code"
                )
            ).all()
        return [r[0] for r in rows]

    def hub_act(self, code: str, action: str, form: dict[str, Any]) -> bool:
        """The hub officer's action through the hub's pages (True when it was recorded)."""
        if not self.hub_up:
            return False
        s = self._hub_session()
        page = s.get(self.hub_base + f"/dossiers/{code}", timeout=PATIENCE)
        token = _TOKEN.search(page.text)
        if page.status_code != 200 or not token:
            return False
        r = s.post(self.hub_base + f"/dossiers/{code}/actions/{action}",
                   data={**{k: str(v) for k, v in form.items()}, "csrf_token": token.group(1)},
                   allow_redirects=False, timeout=PATIENCE)  # fmt: skip
        assert r.status_code < 500, (r.status_code, r.text[:300])
        return r.status_code == 302

    @property
    def hub_base(self) -> str:
        return f"http://127.0.0.1:{self.hub_port}"

    def _hub_session(self) -> requests.Session:
        s = getattr(self, "_hub_http", None)
        if s is None:
            s = self._hub_http = requests.Session()
        if not s.cookies:
            page = s.get(self.hub_base + "/login", timeout=PATIENCE).text
            token = _TOKEN.search(page)
            assert token
            r = s.post(self.hub_base + "/login", data={"username": "lan.pham",
                       "password": HUB_PASSWORD, "csrf_token": token.group(1)},
                       allow_redirects=False, timeout=PATIENCE)  # fmt: skip
            assert r.status_code == 302, r.status_code
        return s

    # -- the hub's database

    def backup_hub(self) -> None:
        """Stop the hub, copy its database, start it again."""
        self.stop_hub(kill=False)
        target = self.root / f"backup-{len(self.backups)}"
        if self.hub_database:
            pg_copy(self.hub_database, target.name)
        else:
            sqlite_copy(self.hub_dir / "hub.sqlite3", target)
        self.backups.append(target)
        self.start_hub()

    def restore_hub(self, which: int) -> None:
        """Stop the hub (kill -9), put an earlier backup in place of its database, start."""
        source = self.backups[which]
        self._put_back(source, f"{self.hub_database.rsplit('/', 1)[1]}_{source.name}"
                       if self.hub_database else "")  # fmt: skip

    def restore_hub_before_enrolment(self, k: int) -> None:
        """Put back the hub's database as it was before node ``k`` enrolled (and every node
        after it): the restored hub does not know those communes."""
        source = self.template.before_enrolment[k]
        self._put_back(Path(source), source)

    def _put_back(self, source: Path, pg_name: str) -> None:
        self.stop_hub(kill=True)
        if self.hub_database:
            pg_restore_from(self.hub_database, pg_name)
        else:
            for suffix in ("-wal", "-shm"):
                (self.hub_dir / f"hub.sqlite3{suffix}").unlink(missing_ok=True)
            (self.hub_dir / "hub.sqlite3").unlink()
            sqlite_copy(source, self.hub_dir / "hub.sqlite3")
        self.observer._prev.clear()
        self.restored_since = set(range(len(self.nodes)))
        self.ever_restored = True
        self.start_hub()

    def recovering(self) -> bool:
        """Whether the hub rebuilds its log after a restore (``log-recovery`` open)."""
        with self.observer.hub_engine.connect() as c:
            value = c.execute(text("select value from hub_setting where key = 'log_recovery'"))
            return bool(value.scalar())

    def close_recovery(self) -> bool:
        """The administrator closes the log recovery early (``central-hub log-recovery
        --close``): what the communes have not given back yet is a declared break."""
        out = subprocess.run(
            [sys.executable, "-m", "central_hub.cli", "--instance", str(self.hub_dir),
             "log-recovery", "--close", "--by", "admin", "--reason", "a commune is late"],
            capture_output=True, text=True, timeout=PATIENCE, check=False,
            env={**os.environ, **_hub_env(self.hub_database)},
        )  # fmt: skip
        assert out.returncode == 0, (out.stdout[-500:], out.stderr[-500:])
        return "Declared log break" in out.stdout

    # -- invariants

    def check(self, *, final: bool = False) -> list[str]:
        """Every invariant that must hold after any step (and, if ``final``, at convergence)."""
        problems: list[str] = []
        hub = self.observer.hub(with_states=final)
        if hub.dead:
            problems.append(f"the hub holds {hub.dead} dead letters from honest nodes")
        if hub.equivocations or hub.quarantined:
            problems.append(f"equivocation/quarantine at the hub: {hub.quarantined}")
        for i, n in enumerate(self.nodes):
            node = Observer.node(n.db, with_states=final)
            nid = n.seed.node_id
            problems += chain_problems(hub, nid)
            n.verified, n.signer, broken = verify_node_chain(
                n.db, n.signer or n.seed.public_key, n.verified, n.handovers
            )
            problems += broken
            hub_rows = hub.records.get(nid, [])
            for seq, rid, _ in hub_rows:
                if i in self.node_restored and (seq not in node.ids or seq > n.copy_head):
                    # a restored copy: it takes these back at its next sync, and signs what
                    # it took offline again after them (services/reconcile.py)
                    break
                if node.ids.get(seq) != rid:
                    problems.append(f"hub record {seq} of {n.seed.name} is not the node's")
                    break
            n.max_acked_seen = max(n.max_acked_seen, node.acked)
            hub_head = len(hub_rows)
            if i not in self.restored_since and node.acked > hub_head:
                problems.append(
                    f"{n.seed.name} shows {node.acked} as synced, the hub holds {hub_head}"
                )
            if final:
                problems += self._final(i, n, node, hub, hub_head)
        problems += self.codes_held_twice()
        return problems

    def codes_held_twice(self) -> list[str]:
        """A dossier code the hub holds for one citizen and a node for another (a different
        record opened it), and the hub has not flagged it."""
        hub_first: dict[str, str] = {}
        with self.observer.hub_engine.connect() as c:
            flags = {
                code: flag for code, flag in c.execute(text("select code, flag from hub_dossier"))
            }
            ours = {n.seed.node_id for n in self.nodes}
            for node_id, code, rid in c.execute(
                text(
                    "select node_id, dossier_code, record_id from log_record where dossier_code "
                    "is not null and not dead order by leaf"
                )
            ):
                if node_id in ours:
                    hub_first.setdefault(code, rid)
        out = []
        for n in self.nodes:
            uri = f"file:{n.db}?mode=ro"
            with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=PATIENCE)) as c:
                rows = c.execute(
                    "select dossier_code, record_id from event where dossier_code is not null "
                    "order by seq"
                ).fetchall()
            first: dict[str, str] = {}
            for code, rid in rows:
                first.setdefault(code, rid)
            for code, rid in first.items():
                if code in hub_first and hub_first[code] != rid and not flags.get(code):
                    out.append(f"{n.seed.name}: code {code} held by two citizens, no flag")
        return out

    def _final(self, i: int, n: NodeRun, node: NodeView, hub: HubView, hub_head: int) -> list[str]:
        out = []
        if node.waiting or hub_head != node.head:
            out.append(
                f"{n.seed.name} did not converge: head {node.head}, acked {node.acked}, hub "
                f"{hub_head}; last error {node.last_error[:300]}; alarms {node.alarms}"
            )
        if n.max_acked_seen > hub_head:
            out.append(f"{n.seed.name} once showed {n.max_acked_seen} synced; hub has {hub_head}")
        ids = {seq: rid for seq, rid, _ in hub.records.get(n.seed.node_id, [])}
        for seq, rid in node.receipts:
            if seq and ids.get(seq) != rid:
                out.append(f"{n.seed.name}: receipt for {seq} not honoured by the hub")
        for code, state in node.states.items():
            if hub.states.get(code) != state:
                out.append(f"{n.seed.name}: dossier {code} differs at the hub")
        _, _, broken = verify_node_chain(n.db, n.seed.public_key, 0, n.handovers)  # repaired
        out += broken
        page = self.sync_page(i)
        if f'data-acked="{node.head}"' not in page or 'data-waiting="0"' not in page:
            out.append(f"{n.seed.name}: sync page does not show everything synced")
        return out

    def converge(self, rounds: int = 12) -> list[str]:
        """Clear every fault, bring everything up, sync until quiet; the final check."""
        for n in self.nodes:
            n.proxy.clear()
        if not self.hub_up:
            self.start_hub()
        for i, n in enumerate(self.nodes):
            if not n.up:
                self.start_node(i)
        for _ in range(rounds):
            results = [self.sync(i) for i in range(len(self.nodes))]
            views = [Observer.node(n.db) for n in self.nodes]
            if all(results) and not any(v.waiting for v in views):
                # one more round so every node also pulled what the others caused
                for i in range(len(self.nodes)):
                    self.sync(i)
                break
        return self.check(final=True)


def _pg_admin(url: str) -> sqlalchemy.Engine:
    base = url.rsplit("/", 1)[0] + "/postgres"
    return sqlalchemy.create_engine(
        base, isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.NullPool
    )


def pg_copy(url: str, target: str) -> None:
    name = url.rsplit("/", 1)[1]
    engine = _pg_admin(url)
    with engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}_{target}"'))
        c.execute(text(f'CREATE DATABASE "{name}_{target}" TEMPLATE "{name}"'))
    engine.dispose()


def pg_restore(url: str, source: str) -> None:
    """The database of ``url`` made again from its copy ``source`` (see :func:`pg_copy`)."""
    pg_restore_from(url, f"{url.rsplit('/', 1)[1]}_{source}")


def pg_restore_from(url: str, database: str) -> None:
    """The database of ``url`` made again from the database named ``database``."""
    name = url.rsplit("/", 1)[1]
    engine = _pg_admin(url)
    with engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{database}"'))
    engine.dispose()


def pg_clone(template_url: str, name: str) -> str:
    engine = _pg_admin(template_url)
    with engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_url.rsplit("/", 1)[1]}"'))
    engine.dispose()
    return template_url.rsplit("/", 1)[0] + f"/{name}"


def pg_drop_all(url: str) -> None:
    """Drop a scenario database and its backups."""
    name = url.rsplit("/", 1)[1]
    engine = _pg_admin(url)
    with engine.connect() as c:
        rows = c.execute(
            text("select datname from pg_database where datname like :p"), {"p": f"{name}%"}
        ).all()
        for (db,) in rows:
            c.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    engine.dispose()


def bind(app: Any, port: int) -> ThreadServer:
    """Serve ``app`` on ``port`` again (a restart), or on a new port if another socket took
    it in the meantime (an outgoing connection's ephemeral port, say)."""
    for _ in range(20):
        try:
            return ThreadServer(app, port=port)
        except OSError:
            time.sleep(0.05)
    return ThreadServer(app, port=0)


class ThreadWorld(World):
    """Hub and nodes served in threads of this process."""

    def repair_node(self, i: int) -> list[int]:
        from commune_node import db
        from commune_node.scheduler import _transport
        from commune_node.services import repair
        from commune_node.services.hublink import Client
        from commune_node.web.context import node_identity

        app = self.nodes[i].app
        with app.app_context():
            database = db.database(app)
            instance = Path(app.instance_path)
            client = Client(database, node_identity(), _transport(app), app.extensions["clock"],
                            instance=instance)  # fmt: skip
            report = repair.repair(database, client, instance=instance, actor="admin")
        assert not report.failed and not report.lost, (report.failed, report.lost)
        return list(report.restored)

    def start_hub(self) -> None:
        app = hub_app(self.hub_dir, self.hub_database)
        self._hub_app = app
        self._hub_server = bind(app, self.hub_port)
        if self._hub_server.port != self.hub_port:  # the old port was taken meanwhile
            self.hub_port = self._hub_server.port
            for n in self.nodes:
                n.proxy.set_target(("127.0.0.1", self.hub_port))
        self.hub_up = True

    def stop_hub(self, *, kill: bool = True) -> None:
        if self.hub_up:
            self._hub_server.stop()
            self._hub_app.extensions["db"].engine.dispose()
            self.hub_up = False

    def start_node(self, i: int) -> None:
        n = self.nodes[i]
        n.app = node_app(n.dir, n.clock)
        n.server = bind(n.app, n.port)
        n.port = n.server.port
        n.up = True

    def stop_node(self, i: int, *, kill: bool = True) -> None:
        n = self.nodes[i]
        if n.up and n.server is not None:
            n.server.stop()
            n.app.extensions["db"].engine.dispose()
            n.up = False

    def set_clock(self, i: int, offset: int) -> None:
        self.nodes[i].clock.offset = offset
        self.nodes[i].clock_offset = offset

    def rotate_key(self, i: int) -> str:
        from commune_node import db
        from commune_node.services import keyring

        n = self.nodes[i]
        app = n.app if n.app is not None else node_app(n.dir, n.clock)
        _, new, _ = keyring.rotate_now(db.database(app), n.dir, clock=n.clock, actor="system")
        return new.key_id


class ProcessWorld(World):
    """Hub and nodes as real processes started from the CLIs; ``kill -9`` to stop."""

    hub_proc: subprocess.Popen[bytes] | None = None

    def start_hub(self) -> None:
        self.hub_proc, port = start_server(
            [sys.executable, "-m", "central_hub.cli", "--instance", str(self.hub_dir), "run",
             "--threads", "4"],
            self.hub_port, "/sync/v1/hello", env={**os.environ, **_hub_env(self.hub_database)},
            log=self.root / "logs" / "hub.log",
        )  # fmt: skip
        if port != self.hub_port:  # the port was taken: moved; point the links there
            self.hub_port = port
            for n in self.nodes:
                n.proxy.set_target(("127.0.0.1", port))
        self.hub_up = True

    def stop_hub(self, *, kill: bool = True) -> None:
        if self.hub_proc is not None:
            _stop(self.hub_proc, kill)
            self.hub_proc = None
        self.hub_up = False

    def start_node(self, i: int) -> None:
        n = self.nodes[i]
        n.proc, n.port = start_server(
            [sys.executable, "-m", "commune_node.cli", "--instance", str(n.dir), "run",
             "--sync-interval", "0"],
            n.port, "/login",
            env={**os.environ, "DOSSIER_CLOCK_OFFSET_SECONDS": str(n.clock_offset)},
            log=self.root / "logs" / f"{n.seed.name}.log",
        )  # fmt: skip
        n.up = True

    def stop_node(self, i: int, *, kill: bool = True) -> None:
        n = self.nodes[i]
        if n.proc is not None:
            _stop(n.proc, kill)
            n.proc = None
        n.up = False

    def start(self) -> None:
        # start everything at once: the processes' imports overlap
        self.start_hub_async = threading.Thread(target=self.start_hub)
        self.start_hub_async.start()
        threads = [
            threading.Thread(target=self.start_node, args=(i,)) for i in range(len(self.nodes))
        ]
        for t in threads:
            t.start()
        for t in [self.start_hub_async, *threads]:
            t.join()

    def set_clock(self, i: int, offset: int) -> None:
        self.nodes[i].clock_offset = offset
        self.stop_node(i, kill=False)
        self.start_node(i)

    def rotate_key(self, i: int) -> str:
        n = self.nodes[i]
        env = {"DOSSIER_CLOCK_OFFSET_SECONDS": str(n.clock_offset)}
        said = _cli("node", n.dir, "rotate-key", env=env)
        found = re.search(r"replaced by (\S+) ", said)
        assert found, said
        return found.group(1)

    def sync_command(self, i: int, *, kill_after: float | None) -> None:
        """``commune-node sync`` as its own process, killed with -9 after ``kill_after`` s."""
        n = self.nodes[i]
        env = {**os.environ, "DOSSIER_CLOCK_OFFSET_SECONDS": str(n.clock_offset)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "commune_node.cli", "--instance", str(n.dir), "sync"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            proc.wait(timeout=kill_after if kill_after is not None else PATIENCE)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)

    def kill_during_sync(self, i: int, target: str, delay: float) -> None:
        """Start "sync now" on node ``i`` and ``kill -9`` the node or the hub ``delay`` s in."""
        n = self.nodes[i]
        if not n.up or not self.hub_up:
            return
        if not n.csrf:
            self.login(n)

        def run() -> None:
            with contextlib.suppress(requests.RequestException):
                n.http.post(n.url + "/sync/now", data={"csrf_token": n.csrf}, timeout=PATIENCE,
                            allow_redirects=False)  # fmt: skip

        t = threading.Thread(target=run)
        t.start()
        time.sleep(delay)
        if target == "node":
            self.stop_node(i, kill=True)
        else:
            self.stop_hub(kill=True)
        t.join(PATIENCE + 5)


def _stop(proc: subprocess.Popen[bytes], kill: bool) -> None:
    """``kill -9``, or a SIGTERM with 15 s to finish before the ``kill -9``; returns once the
    process is gone."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(PATIENCE)
