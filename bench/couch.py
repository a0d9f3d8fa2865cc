"""The CouchDB-style peer of benchmarks 1 and 2: PouchDB 9 replicating to express-pouchdb 4
over loopback, each in its own Node.js process.

The peer is installed from the npm registry into the bench cache on first use
(``npm install --no-audit --no-fund`` of the pinned versions in ``bench/peer/package.json``,
into ``<cache>/peer-npm-<hash of that file>``), and its driver ``bench/peer/replicate.js`` is
copied beside it. Without ``node``/``npm``, or when the install fails, the peer's rows say
why and the product's rows go without the peer's ratio. ``--smoke`` never installs: it uses
an install already in the cache, or skips the peer and says so.

Documents: the same desk actions benchmark 1 pushes (:func:`bench.data.specs_of`: intake and
every later action, Vietnamese names and addresses), one unsigned JSON document each
(``_id``, ``seq``, ``at``, ``dossier``, ``type``, ``actor``, ``data``), replicated in batches
of 500 from a PouchDB (LevelDB files) in one process to express-pouchdb (LevelDB files) in
another. The server is pinned to one core, as the hub's worker is.

* **rate** — documents written at the server ÷ the replication's time, client to server
  directly; the remote database is made before the clock starts.
* **wire** — the same replication again, into a fresh server, through the counting proxy
  (:class:`bench.linkproxy.LinkProxy`): every byte both ways, HTTP headers included.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import select
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from bench import data, servers
from bench.core import Settings
from bench.linkproxy import LinkProxy

SOURCE = Path(__file__).resolve().parent / "peer"
PACKAGE = SOURCE / "package.json"
DRIVER = SOURCE / "replicate.js"
DATABASE = "dossiers"
BATCH = 500
NAME = "PouchDB 9 → express-pouchdb 4"


@dataclass(frozen=True)
class Replication:
    docs: int  # documents written at the server
    seconds: float  # replication time (client clock)
    up: int = 0  # bytes client -> server (proxy runs only)
    down: int = 0  # bytes server -> client
    server_cpu: float = 0.0  # CPU seconds of the server process during the run

    @property
    def rate(self) -> float:
        return self.docs / self.seconds

    @property
    def per_doc(self) -> float:
        return (self.up + self.down) / self.docs


def documents(specs: list[data.Spec], agency: str = "000.00.12.H26") -> list[dict[str, object]]:
    """The specs as unsigned JSON documents, one per action, in the desk's order."""
    out: list[dict[str, object]] = []
    for seq, spec in enumerate(specs, start=1):
        out.append(
            {
                "_id": f"{agency}:{seq:08d}",
                "seq": seq,
                "at": spec.at.isoformat(),
                "dossier": data.recode(spec.dossier, agency),
                "type": spec.type,
                "actor": spec.actor,
                "data": spec.data,
            }
        )
    return out


def _line(doc: dict[str, object]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def raw_bytes(docs: list[dict[str, object]]) -> float:
    """Bytes per document as compact UTF-8 JSON."""
    return sum(len(_line(d).encode()) for d in docs) / len(docs)


class Peer:
    """The peer for one run: installed once, each measurement made once and kept."""

    def __init__(self, settings: Settings, specs: list[data.Spec]) -> None:
        self.settings = settings
        self.docs = documents(specs[: min(len(specs), settings.n(10_000, 200))])
        self.batch = settings.n(BATCH, 40)
        self._folder: Path | None = None
        self._why: str | None = None
        self._ready = False
        self._rate: Replication | None = None
        self._wire: Replication | None = None

    # ------------------------------------------------------------------ install

    def skipped(self) -> str | None:
        """Why the peer is not measured in this run (None when it is)."""
        self._install()
        return self._why

    def _install(self) -> None:
        if self._ready:
            return
        self._ready = True
        node, npm = shutil.which("node"), shutil.which("npm")
        if node is None or npm is None:
            self._why = "skipped: `node` and `npm` are needed (Node.js 20) and were not found"
            return
        digest = hashlib.sha256(PACKAGE.read_bytes()).hexdigest()[:12]
        folder = self.settings.cache / f"peer-npm-{digest}"
        done = folder / "installed"
        if not done.exists():
            if self.settings.smoke:
                self._why = (
                    f"skipped: not installed in {self.settings.cache} and --smoke does not "
                    "run npm install (a full run installs it)"
                )
                return
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(PACKAGE, folder / "package.json")
            try:
                proc = subprocess.run(
                    [npm, "install", "--no-audit", "--no-fund"],
                    cwd=folder,
                    capture_output=True,
                    text=True,
                    timeout=900,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                self._why = "skipped: npm install took more than 15 minutes"
                return
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
                self._why = f"skipped: npm install failed ({last[:200]})"
                return
            done.write_text("npm install --no-audit --no-fund\n")
        shutil.copy(DRIVER, folder / DRIVER.name)
        self._folder = folder

    # ------------------------------------------------------------------ measurements

    def rate(self) -> Replication | None:
        """Replication straight to the server (benchmark 1)."""
        if self._rate is None and self.skipped() is None:
            self._rate = self._replicate("peer-rate", proxy=False)
        return self._rate

    def wire(self) -> Replication | None:
        """Replication through the counting proxy (benchmark 2)."""
        if self._wire is None and self.skipped() is None:
            self._wire = self._replicate("peer-wire", proxy=True)
        return self._wire

    def _replicate(self, name: str, *, proxy: bool) -> Replication:
        assert self._folder is not None
        work = self.settings.work / name
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        docs_file = work / "docs.jsonl"
        docs_file.write_text("".join(_line(d) + "\n" for d in self.docs), encoding="utf-8")
        link: LinkProxy | None = None
        try:
            with self._server(work / "server") as (pid, port):
                cpu0 = servers.cpu_seconds(pid)
                url = f"http://127.0.0.1:{port}"
                if proxy:
                    link = LinkProxy(("127.0.0.1", port)).start()
                got = self._push(work / "client", docs_file, link.url if link else url)
                cpu = servers.cpu_seconds(pid) - cpu0
                stats = link.stats() if link else None
                held = requests.get(f"{url}/{DATABASE}", timeout=30).json()
        finally:  # the server first: its kept-alive connections then end cleanly
            if link is not None:
                link.stop()
        up, down = (stats.up, stats.down) if stats else (0, 0)
        count = int(held.get("doc_count", -1))
        if count != len(self.docs) or got["docs"] != len(self.docs):
            raise RuntimeError(
                f"peer replication incomplete: {got['docs']} written, {count} held at the "
                f"server, {len(self.docs)} sent"
            )
        return Replication(int(got["docs"]), float(got["seconds"]), up, down, cpu)

    def _node(self, *args: str) -> list[str]:
        assert self._folder is not None
        return [shutil.which("node") or "node", str(self._folder / DRIVER.name), *args]

    def _push(self, folder: Path, docs_file: Path, url: str) -> dict[str, float]:
        proc = subprocess.run(
            self._node("push", str(folder), str(docs_file), f"{url}/{DATABASE}", str(self.batch)),
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"peer replication failed: {proc.stderr[-1000:]}")
        answer: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
        return answer

    @contextlib.contextmanager
    def _server(self, folder: Path) -> Iterator[tuple[int, int]]:
        log = folder.parent / "server.log"
        cpus = {1} if (os.cpu_count() or 1) >= 2 else None  # one core, as the hub's worker

        def _pin() -> None:  # runs in the child, so every thread of the server inherits it
            if cpus:
                os.sched_setaffinity(0, cpus)

        with log.open("wb") as err:
            proc = subprocess.Popen(
                self._node("serve", str(folder)),
                stdout=subprocess.PIPE,
                stderr=err,
                preexec_fn=_pin,
            )
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], 60)
            line = proc.stdout.readline() if ready else b""
            if not line:
                raise RuntimeError(f"the peer's server did not start: {log.read_text()[-1000:]}")
            port = int(json.loads(line)["port"])
            yield proc.pid, port
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
