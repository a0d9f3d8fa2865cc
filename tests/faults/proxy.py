"""A fault-injecting TCP link for tests: put it between a commune node and the hub.

:class:`FaultProxy` listens on a loopback port and forwards every connection to a target
(the hub). It runs an asyncio loop in its own thread; the test changes its behaviour at any
moment with thread-safe setters, and reads byte and fault counters. Faults:

==========================  ==============================================================
``set_latency(s)``          every chunk waits ``s`` seconds before it is passed on (both ways)
``set_bandwidth(bps)``      each direction is capped at ``bps`` bits per second (e.g. 64_000)
``cut_after(up=, down=)``   the connection that carries byte N+1 of the counted direction is
                            cut (both sides closed) after exactly N bytes passed; counted from
                            the call, across connections; one-shot unless ``once=False``
``stall(seconds=)``         new connections are accepted and never answered (nothing is sent
                            to the hub); after ``seconds`` (None: until ``clear()``) they are
                            closed
``drop_responses(n, match)``  the next ``n`` requests whose first line starts with ``match``
                            reach the hub whole; the hub answers (it has committed); the
                            answer is read and thrown away and the node's connection closed
``set_down(True)``          connections are accepted and closed at once (no link)
``clear()``                 every fault off; ``close_connections()`` cuts every open one
==========================  ==============================================================

Counters (:meth:`stats`): ``bytes_up`` (node → hub), ``bytes_down``, ``connections``,
``cuts``, ``stalls``, ``drops``, ``refused``. Use it as a context manager or through the
``fault_proxy`` fixture (``tests/faults/conftest.py``)::

    with FaultProxy(("127.0.0.1", hub_port)) as link:
        node_transport = HttpTransport(link.url)
        link.drop_responses(1, match=b"POST /sync/v1/push")
        ...

Only loopback addresses are used; everything stops when the proxy is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any

CHUNK = 16 * 1024


@dataclass
class _Faults:
    latency: float = 0.0
    bandwidth_bps: int | None = None
    cut_up: int | None = None  # bytes still allowed upstream before a cut
    cut_down: int | None = None
    cut_once: bool = True
    cut_up_limit: int | None = None  # the limit as set, for repeating cuts
    cut_down_limit: int | None = None
    stall: bool = False
    stall_seconds: float | None = None
    drop: int = 0
    drop_match: bytes = b""
    down: bool = False


@dataclass
class Stats:
    bytes_up: int = 0
    bytes_down: int = 0
    connections: int = 0
    cuts: int = 0
    stalls: int = 0
    drops: int = 0
    refused: int = 0

    @property
    def faults(self) -> int:
        return self.cuts + self.stalls + self.drops + self.refused


@dataclass(eq=False)
class _Conn:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    stalled: bool = False
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def close(self) -> None:
        for w in (self.client, self.upstream):
            if w is not None:
                with contextlib.suppress(Exception):
                    w.transport.abort()


class FaultProxy:
    """A loopback TCP proxy with injectable faults; see the module documentation."""

    def __init__(self, target: tuple[str, int], *, host: str = "127.0.0.1", port: int = 0):
        self._target = target
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._faults = _Faults()
        self._stats = Stats()
        self._conns: set[_Conn] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ life cycle

    def start(self) -> FaultProxy:
        loop = asyncio.new_event_loop()
        self._loop = loop
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="fault-proxy", daemon=True)
        self._thread.start()
        ready.wait()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, self._host, self._port), loop
        ).result(10)
        self._server = server
        self._port = server.sockets[0].getsockname()[1]
        return self

    def close(self) -> None:
        loop = self._loop
        if loop is None:
            return
        self._loop = None

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for conn in list(self._conns):
                conn.close()
                for t in conn.tasks:
                    t.cancel()
            await asyncio.sleep(0)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        with contextlib.suppress(Exception):
            loop.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    # ------------------------------------------------------------------ controls

    def set_target(self, target: tuple[str, int]) -> None:
        """Forward new connections to another address (e.g. a hub restarted elsewhere)."""
        with self._lock:
            self._target = target

    def set_latency(self, seconds: float) -> None:
        with self._lock:
            self._faults.latency = max(0.0, seconds)

    def set_bandwidth(self, bits_per_second: int | None) -> None:
        with self._lock:
            self._faults.bandwidth_bps = bits_per_second or None

    def cut_after(
        self, *, up: int | None = None, down: int | None = None, once: bool = True
    ) -> None:
        """Cut the connection after ``up`` more bytes towards the hub or ``down`` more bytes
        towards the node (counted from now, across connections)."""
        with self._lock:
            f = self._faults
            f.cut_up, f.cut_down, f.cut_once = up, down, once
            f.cut_up_limit, f.cut_down_limit = up, down

    def stall(self, seconds: float | None = None) -> None:
        """Accept new connections and never answer; close them after ``seconds``."""
        with self._lock:
            self._faults.stall, self._faults.stall_seconds = True, seconds

    def drop_responses(self, count: int = 1, *, match: bytes = b"") -> None:
        """Let the next ``count`` matching requests reach the hub, then lose the answers."""
        with self._lock:
            self._faults.drop, self._faults.drop_match = count, match

    def set_down(self, down: bool = True) -> None:
        with self._lock:
            self._faults.down = down

    def clear(self) -> None:
        """Every fault off (open stalled connections are closed)."""
        with self._lock:
            self._faults = _Faults()
        self.close_connections(stalled_only=True)

    def close_connections(self, *, stalled_only: bool = False) -> None:
        """Cut open connections (all, or only the stalled ones) — e.g. a link drop."""
        loop = self._loop
        if loop is None:
            return

        def do() -> None:
            for conn in list(self._conns):
                if not stalled_only or conn.stalled:
                    conn.close()

        loop.call_soon_threadsafe(do)

    def stats(self) -> Stats:
        with self._lock:
            return replace(self._stats)

    def faults(self) -> _Faults:
        with self._lock:
            return replace(self._faults)

    # ------------------------------------------------------------------ the link

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Conn(writer)
        self._conns.add(conn)
        try:
            with self._lock:
                self._stats.connections += 1
                faults = replace(self._faults)
                target = self._target
                if faults.down:
                    self._stats.refused += 1
                elif faults.stall:
                    self._stats.stalls += 1
            if faults.down:
                return
            if faults.stall:
                conn.stalled = True
                await self._stalled(reader, faults.stall_seconds)
                return
            try:
                up_reader, up_writer = await asyncio.wait_for(
                    asyncio.open_connection(*target), timeout=5
                )
            except (OSError, TimeoutError):
                return  # the hub is down: the node sees the connection close
            conn.upstream = up_writer
            drop = asyncio.Event()
            t_up = asyncio.ensure_future(self._pipe(reader, up_writer, conn, "up", drop))
            t_down = asyncio.ensure_future(self._pipe(up_reader, writer, conn, "down", drop))
            conn.tasks = [t_up, t_down]
            done, _ = await asyncio.wait(conn.tasks, return_when=asyncio.FIRST_COMPLETED)
            if t_up in done and not t_down.done():
                # The node has sent all it will; the hub's answer (or its loss) may follow.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(t_down, timeout=60)
        except asyncio.CancelledError:
            pass
        finally:
            for t in conn.tasks:
                t.cancel()
            conn.close()
            self._conns.discard(conn)

    async def _stalled(self, reader: asyncio.StreamReader, seconds: float | None) -> None:
        async def swallow() -> None:
            while await reader.read(CHUNK):
                pass

        with contextlib.suppress(TimeoutError, OSError):
            await asyncio.wait_for(swallow(), timeout=seconds)

    async def _pipe(
        self,
        src: asyncio.StreamReader,
        dst: asyncio.StreamWriter,
        conn: _Conn,
        direction: str,
        drop: asyncio.Event,
    ) -> None:
        try:
            while True:
                chunk = await src.read(CHUNK)
                if not chunk:
                    break
                with self._lock:
                    f = self._faults
                    latency, bps = f.latency, f.bandwidth_bps
                    if (
                        direction == "up"
                        and f.drop
                        and chunk.startswith(f.drop_match)
                        and _is_request_start(chunk)
                    ):
                        f.drop -= 1
                        self._stats.drops += 1
                        drop.set()
                    budget = f.cut_up if direction == "up" else f.cut_down
                    cut = budget is not None and len(chunk) > budget
                    if cut:
                        assert budget is not None
                        chunk = chunk[:budget]
                        self._stats.cuts += 1
                        if f.cut_once:
                            f.cut_up = f.cut_down = None
                        else:
                            f.cut_up, f.cut_down = f.cut_up_limit, f.cut_down_limit
                    elif budget is not None:
                        if direction == "up":
                            f.cut_up = budget - len(chunk)
                        else:
                            f.cut_down = budget - len(chunk)
                    if direction == "up":
                        self._stats.bytes_up += len(chunk)
                    else:
                        self._stats.bytes_down += len(chunk)
                if latency:
                    await asyncio.sleep(latency)
                if direction == "down" and drop.is_set():
                    conn.client.transport.abort()  # the node never hears the answer
                    await self._drain_rest(src)
                    return
                if bps:  # pace the chunk out in slices of about 1/20 s each
                    step = max(64, bps // 8 // 20)
                    for i in range(0, len(chunk), step):
                        piece = chunk[i : i + step]
                        await asyncio.sleep(len(piece) * 8 / bps)
                        dst.write(piece)
                        await dst.drain()
                elif chunk:
                    dst.write(chunk)
                    await dst.drain()
                if cut:
                    conn.close()
                    return
        except (OSError, asyncio.IncompleteReadError):
            conn.close()
        finally:
            if direction == "up" and conn.upstream is not None:
                with contextlib.suppress(Exception):
                    conn.upstream.write_eof()

    @staticmethod
    async def _drain_rest(src: asyncio.StreamReader) -> None:
        """Read what is left of the hub's answer (bounded in time), then stop."""
        with contextlib.suppress(TimeoutError, OSError):
            while await asyncio.wait_for(src.read(CHUNK), timeout=0.5):
                pass


def _is_request_start(chunk: bytes) -> bool:
    head = chunk[:8]
    return head.startswith((b"GET ", b"POST ", b"PUT ", b"DELETE ", b"PATCH ", b"HEAD "))
