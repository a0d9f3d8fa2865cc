"""A TCP proxy that behaves like a slow, unreliable link, and counts every byte.

``LinkProxy`` listens on a loopback port and forwards each connection to ``target``. Per
direction it can add a one-way delay (half the round trip), cap the bandwidth (bytes are
serialised onto the link one after another, shared by every connection, like one radio
channel) and cut: after ``cut_every`` bytes have crossed the link (both directions
together, counted over all connections) every open connection is aborted and the count
starts again, so whatever was in flight is lost.

It counts the bytes it delivered in each direction (``up`` = client to server, ``down`` =
server to client) and the bytes lost to cuts. HTTP headers are counted, since the proxy
sees the TCP payload; TCP/IP framing is not.

It runs its own asyncio loop in a thread, so synchronous code (``requests``) can use it::

    with LinkProxy(("127.0.0.1", 5000), rate=8000, rtt=0.3, cut_every=200_000) as link:
        requests.get(link.url + "/sync/v1/hello")
        print(link.stats())
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

CHUNK = 1024  # bytes read and shaped at a time: small enough for smooth shaping


@dataclass
class LinkStats:
    up: int = 0  # client -> server, delivered
    down: int = 0  # server -> client, delivered
    lost: int = 0  # accepted from one side but never delivered (cut)
    cuts: int = 0
    connections: int = 0

    @property
    def total(self) -> int:
        return self.up + self.down


@dataclass
class _Direction:
    """One direction of the link: a serialisation clock shared by all connections."""

    rate: float | None  # bytes per second, None = unlimited
    delay: float  # one-way propagation delay, seconds
    free_at: float = 0.0  # when the link finishes sending what it already took

    def schedule(self, n: int, now: float) -> float:
        """When ``n`` bytes handed over now arrive at the far end."""
        if self.rate is None:
            return now + self.delay
        start = max(now, self.free_at)
        self.free_at = start + n / self.rate
        return self.free_at + self.delay


@dataclass(eq=False)
class _Conn:
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    pending: int = 0  # bytes taken from a socket but not yet delivered


class LinkProxy:
    def __init__(
        self,
        target: tuple[str, int],
        *,
        rate: float | None = None,
        rtt: float = 0.0,
        cut_every: int | None = None,
    ) -> None:
        self.target = target
        self.cut_every = cut_every
        self._up = _Direction(rate, rtt / 2)
        self._down = _Direction(rate, rtt / 2)
        self._stats = LinkStats()
        self._since_cut = 0
        self._conns: set[_Conn] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> LinkProxy:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        self.port = fut.result(timeout=10)
        return self

    def stop(self) -> None:
        async def _close() -> None:
            if self._server is not None:
                self._server.close()
            for conn in list(self._conns):
                self._abort(conn)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(_close(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def __enter__(self) -> LinkProxy:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stats(self) -> LinkStats:
        s = self._stats
        return LinkStats(s.up, s.down, s.lost, s.cuts, s.connections)

    def reset(self) -> None:
        """Zero the counters (e.g. after a warm-up)."""

        def _reset() -> None:
            self._stats = LinkStats()
            self._since_cut = 0

        self._loop.call_soon_threadsafe(_reset)
        time.sleep(0.01)

    # ------------------------------------------------------------------ internals

    async def _listen(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        sock = self._server.sockets[0]
        return int(sock.getsockname()[1])

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._stats.connections += 1
        conn = _Conn(writers=[writer, up_writer])
        self._conns.add(conn)
        conn.tasks = [
            asyncio.create_task(self._pump(conn, reader, up_writer, self._up, "up")),
            asyncio.create_task(self._pump(conn, up_reader, writer, self._down, "down")),
        ]
        await asyncio.gather(*conn.tasks, return_exceptions=True)
        self._conns.discard(conn)
        for w in conn.writers:
            with contextlib.suppress(Exception):
                w.close()

    async def _pump(
        self,
        conn: _Conn,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        link: _Direction,
        name: str,
    ) -> None:
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
        sender = asyncio.create_task(self._deliver(conn, queue, writer, name))
        try:
            while True:
                data = await reader.read(CHUNK)
                if not data:
                    break
                conn.pending += len(data)
                queue.put_nowait((link.schedule(len(data), time.monotonic()), data))
        except (ConnectionError, OSError):
            pass
        finally:
            queue.put_nowait(None)
            with contextlib.suppress(BaseException):
                await sender

    async def _deliver(
        self,
        conn: _Conn,
        queue: asyncio.Queue[tuple[float, bytes] | None],
        writer: asyncio.StreamWriter,
        name: str,
    ) -> None:
        while True:
            item = await queue.get()
            if item is None:
                with contextlib.suppress(Exception):
                    if writer.can_write_eof():
                        writer.write_eof()
                return
            due, data = item
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if conn not in self._conns:
                return
            if self.cut_every is not None and self._since_cut + len(data) > self.cut_every:
                keep = self.cut_every - self._since_cut
                if keep > 0:
                    self._send(conn, writer, data[:keep], name)
                self._stats.cuts += 1
                self._since_cut = 0
                now = time.monotonic()
                self._up.free_at = self._down.free_at = now  # what was queued never went out
                for other in list(self._conns):
                    self._abort(other)
                return
            self._send(conn, writer, data, name)

    def _send(self, conn: _Conn, writer: asyncio.StreamWriter, data: bytes, name: str) -> None:
        conn.pending -= len(data)
        self._since_cut += len(data)
        if name == "up":
            self._stats.up += len(data)
        else:
            self._stats.down += len(data)
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            writer.write(data)

    def _abort(self, conn: _Conn) -> None:
        """Cut: both sockets reset, bytes in flight lost."""
        self._stats.lost += max(conn.pending, 0)
        conn.pending = 0
        self._conns.discard(conn)
        for w in conn.writers:
            with contextlib.suppress(Exception):
                w.transport.abort()
        for t in conn.tasks:
            t.cancel()
