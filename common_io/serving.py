"""Serving a WSGI app with waitress, bounded against slow and greedy clients (hub and node).

waitress on its own waits as long as a client keeps trickling bytes: a request whose
header arrives a line every 20 s keeps its connection for ever, and a few hundred of them
hold every connection the server will open (slowloris). It also reads a body of up to
1 GiB, spooled to disk, before the application can refuse it. Here:

* **header time** — a request must have sent its whole header within ``header_timeout``
  seconds of its first byte (of the connection, for the first request); otherwise its
  connection is closed, however busy it is. A connection idle between requests is closed
  after ``channel_timeout`` as before (nodes keep theirs open through a sync run).
* **connections per address** — at most ``per_address_limit`` open connections from one
  client address; more are closed as soon as they are accepted. The address of a trusted
  reverse proxy is not limited (the proxy limits its own clients, docs/deployment.md).
* **body size** — ``max_request_body_size``: a larger declared body is answered ``413``
  before any of it is read.
* **time in the queue** — each request's WSGI environment says how long it waited for a
  worker thread (``QUEUED_SECONDS``) and how many requests still wait behind it
  (``QUEUE_DEPTH``), so that an app can turn a request away at once when it is too busy
  instead of letting it wait in line (the hub's sync API does: ``central_hub.web.admission``).
"""

from __future__ import annotations

import time
from typing import Any

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import WSGITask

HEADER_TIMEOUT = 20.0  # seconds a request has to send its whole header
PER_ADDRESS_LIMIT = 20  # open connections from one client address
QUEUED_SECONDS = "dossier.queued_seconds"  # environ: seconds the request waited for a thread
QUEUE_DEPTH = "dossier.queue_depth"  # environ: requests waiting behind it when it started
QUEUE_WORKERS = "dossier.queue_workers"  # environ: the server's worker threads


class StampedTask(WSGITask):
    """A request's task whose environment says how long it waited in the server's queue."""

    def get_environment(self) -> Any:
        fresh = self.environ is None
        environ = super().get_environment()
        if fresh:
            queued_at = getattr(self.channel, "queued_at", None)
            if queued_at is not None:
                environ[QUEUED_SECONDS] = max(0.0, time.monotonic() - queued_at)
            dispatcher = getattr(self.channel.server, "task_dispatcher", None)
            environ[QUEUE_DEPTH] = len(getattr(dispatcher, "queue", ()))
            environ[QUEUE_WORKERS] = max(1, len(getattr(dispatcher, "threads", ())) or 1)
        return environ


class GuardedChannel(HTTPChannel):
    """A connection that remembers when its current request started, and when it was put in
    the queue for a worker thread."""

    task_class = StampedTask
    queued_at: float | None = None

    def __init__(self, server: Any, sock: Any, addr: Any, adj: Any, map: Any = None) -> None:
        self.request_started = time.monotonic()
        self.served_any = False
        super().__init__(server, sock, addr, adj, map=map)

    def received(self, data: bytes) -> bool:
        if data and self.request is None and self.served_any:
            self.request_started = time.monotonic()  # the first byte of a new request
        kept: bool = super().received(data)
        if self.request is None and self.requests:
            self.served_any = True
        return kept

    def header_overdue(self, now: float, limit: float) -> bool:
        """Still sending the header of a request begun more than ``limit`` seconds ago."""
        if now - self.request_started <= limit:
            return False
        if self.request is not None:
            return not self.request.headers_finished
        return not self.served_any and not self.requests  # connected, never finished one


class GuardedServer(TcpWSGIServer):
    channel_class = GuardedChannel

    def __init__(
        self,
        application: Any,
        *,
        header_timeout: float,
        per_address_limit: int,
        adj: Adjustments,
    ) -> None:
        self.header_timeout = header_timeout
        self.per_address_limit = per_address_limit
        super().__init__(application, map={}, adj=adj)

    def handle_accept(self) -> None:
        try:
            accepted = self.accept()
            if accepted is None:
                return
            conn, addr = accepted
            self.set_socket_options(conn)
        except OSError:
            return
        addr = self.fix_addr(addr)
        host = addr[0] if isinstance(addr, tuple) else addr
        if host not in _trusted_set(self.adj):
            same = sum(
                1 for ch in self.active_channels.values() if _host(ch.addr) == host
            )  # bounded by the connection limit
            if same >= self.per_address_limit:
                conn.close()
                return
        self.channel_class(self, conn, addr, self.adj, map=self._map)

    def add_task(self, task: Any) -> None:
        """Queue a connection's next request for a worker thread, noting when."""
        task.queued_at = time.monotonic()
        super().add_task(task)

    def maintenance(self, now: float) -> None:
        super().maintenance(now)
        mono = time.monotonic()
        for channel in list(self.active_channels.values()):
            if isinstance(channel, GuardedChannel) and channel.header_overdue(
                mono, self.header_timeout
            ):
                channel.will_close = True


def _host(addr: Any) -> Any:
    return addr[0] if isinstance(addr, tuple) else addr


def _trusted_set(adj: Adjustments) -> set[str]:
    return {adj.trusted_proxy} if adj.trusted_proxy and adj.trusted_proxy != "*" else set()


def create_server(
    app: Any,
    *,
    host: str,
    port: int,
    threads: int,
    ident: str,
    connection_limit: int = 100,
    max_request_body_size: int = 4 * 1024 * 1024,
    header_timeout: float = HEADER_TIMEOUT,
    per_address_limit: int = PER_ADDRESS_LIMIT,
    trusted_proxy: str | None = None,
) -> GuardedServer:
    """A waitress server for ``app`` on ``host:port`` with the bounds above (not started:
    call ``run()``)."""
    proxy: dict[str, Any] = {}
    if trusted_proxy:
        proxy = {
            "trusted_proxy": trusted_proxy,
            "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"},
            "clear_untrusted_proxy_headers": True,
        }
    adj = Adjustments(
        host=host,
        port=port,
        threads=threads,
        ident=ident,
        connection_limit=connection_limit,
        max_request_body_size=max_request_body_size,
        # look for overdue headers often enough to honour the timeout
        cleanup_interval=max(1, min(30, int(header_timeout // 4) or 1)),
        asyncore_use_poll=True,  # poll(), not select(): no 1,024-descriptor ceiling
        **proxy,
    )
    return GuardedServer(
        app, header_timeout=header_timeout, per_address_limit=per_address_limit, adj=adj
    )


def stop(server: GuardedServer) -> None:
    """Stop a server running in another thread: requests in flight end first, then every
    socket is closed from inside the server's own loop."""
    import threading
    from contextlib import suppress

    server.task_dispatcher.shutdown(timeout=5)
    done = threading.Event()

    def close_in_loop() -> None:
        wasyncore.close_all(server._map)
        done.set()

    with suppress(OSError):
        server.trigger.pull_trigger(close_in_loop)
    done.wait(5)
