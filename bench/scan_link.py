"""A day of a commune's intake with its scans over the 2G link of benchmark 3.

40 dossiers, each with a three-page document photographed at the desk (pages from
:mod:`bench.scanpages`, normalised by the desk), synced through :class:`LinkProxy` at
64 kbit/s, 300 ms round trip, the link cut every 200 KB. While the files are on their way
an officer takes one more dossier in: how long until the hub has receipted it, against how
long until every file is receipted. Prints the figures of docs/benchmarks.md.

    python -m bench.scan_link [dossiers] [pages]

Test fixtures build the hub and the node in this process (real HTTP through the proxy).
"""

from __future__ import annotations

import base64
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from bench.linkproxy import LinkProxy
from bench.scanpages import a4_page
from central_hub.models import LogRecord
from common.calendar import VN_TZ
from commune_node import db as node_db
from commune_node.file_models import StoredFile
from commune_node.scheduler import run_sync
from commune_node.transport import HttpTransport, LinkError
from tests.hub.fixtures import make_hub
from tests.support import MovableClock, serve
from tests.sync.conftest import Site
from tests.sync.helpers import take_in

HUB_PORT = 7931
LATE_AFTER = 20.0  # seconds into the upload when one more dossier is taken in


def main(argv: list[str]) -> int:
    dossiers = int(argv[0]) if argv else 40
    pages = int(argv[1]) if len(argv) > 1 else 3
    with tempfile.TemporaryDirectory() as tmp:
        clock = MovableClock(datetime.now(VN_TZ).replace(hour=9, minute=0))
        hub = make_hub(Path(tmp) / "hub", clock)
        with serve(hub.app, port=HUB_PORT) as server:
            site = Site(hub, server.url, Path(tmp), clock)
            node = site.node("xa", "000.00.12.H26")
            t = time.perf_counter()
            file_bytes = 0
            for i in range(dossiers):
                code = take_in(node)
                files = [
                    {"name": f"{i}-{p}.jpg",
                     "content_base64": base64.b64encode(a4_page(i * pages + p)).decode()}
                    for p in range(pages)
                ]  # fmt: skip
                r = node.api(node.app.test_client(), "POST", f"/dossiers/{code}/documents",
                             json={"document": "to_khai", "files": files})  # fmt: skip
                assert r.status_code == 201, r.json
                file_bytes += r.json["document"]["size"]
            print(f"intake of {dossiers} dossiers x {pages} pages: "
                  f"{time.perf_counter() - t:.0f} s; files {file_bytes / 1024:.0f} KB "
                  f"({file_bytes / dossiers / pages / 1024:.1f} KB a page)")  # fmt: skip
            with LinkProxy(("127.0.0.1", HUB_PORT), rate=8000, rtt=0.3,
                           cut_every=200_000) as link:  # fmt: skip
                node.app.config["SYNC_TRANSPORT"] = lambda: HttpTransport(
                    link.url, connect_timeout=10, read_timeout=60
                )
                stop = threading.Event()
                marks: dict[str, float] = {}
                runs = {"ok": 0, "cut": 0}

                def sync_loop() -> None:
                    while not stop.is_set():
                        try:
                            run_sync(node.app)
                            runs["ok"] += 1
                        except LinkError:
                            runs["cut"] += 1
                            time.sleep(0.5)
                        with node_db.read_session(node.app) as s:
                            left = s.scalar(
                                select(func.count())
                                .select_from(StoredFile)
                                .where(StoredFile.receipted_at.is_(None))
                            )
                        if not left and "files" not in marks:
                            marks["files"] = time.perf_counter()
                        if not left:
                            time.sleep(0.5)

                start = time.perf_counter()
                thread = threading.Thread(target=sync_loop, daemon=True)
                thread.start()
                time.sleep(LATE_AFTER)
                late = take_in(node)  # taken in while the files are on their way
                marks["taken"] = time.perf_counter()
                while "files" not in marks or "late" not in marks:
                    if "late" not in marks:
                        with hub.db.read() as s:
                            if s.scalars(
                                select(LogRecord).where(LogRecord.dossier_code == late)
                            ).first():
                                marks["late"] = time.perf_counter()
                    time.sleep(0.2)
                stop.set()
                thread.join()
                total = marks["files"] - start
                taken_at, late_at = marks["taken"], marks["late"]
                st = link.stats()
            print(
                f"link 64 kbit/s, 300 ms, cut every 200 KB: every file receipted after "
                f"{total:.0f} s ({total / 60:.1f} min); runs ok {runs['ok']}, cut {runs['cut']}"
            )
            print(
                f"bytes up {st.up / 1024:.0f} KB, down {st.down / 1024:.0f} KB, lost to "
                f"{st.cuts} cuts {st.lost / 1024:.0f} KB; files {file_bytes / 1024:.0f} KB, "
                f"up beyond the files {(st.up - file_bytes) / 1024:.0f} KB"
            )
            print(f"dossier taken in at {taken_at - start:.0f} s: at the hub "
                  f"{late_at - taken_at:.1f} s later; the files finished "
                  f"{marks['files'] - taken_at:.0f} s after it was taken in")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
