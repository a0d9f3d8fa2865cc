"""A WSGI app served by waitress in a thread, stopped cleanly (from inside its own loop, so
no socket is closed under a running ``select``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any


class ThreadServer:
    """waitress on a loopback port in a daemon thread; :meth:`stop` is safe at any time."""

    def __init__(self, app: Any, *, port: int = 0, threads: int = 4) -> None:
        from waitress import create_server

        self._server: Any = create_server(
            app, host="127.0.0.1", port=port, threads=threads, ident="test"
        )
        self.port: int = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        from waitress import wasyncore

        server = self._server
        done = threading.Event()

        def close_in_loop() -> None:
            wasyncore.close_all(server._map)  # listening socket, trigger, channels
            done.set()

        with suppress(OSError):
            server.trigger.pull_trigger(close_in_loop)
        done.wait(5)
        self._thread.join(5)
        server.task_dispatcher.shutdown(timeout=5)


@contextmanager
def serve(app: Any, *, port: int = 0) -> Iterator[ThreadServer]:
    server = ThreadServer(app, port=port)
    try:
        yield server
    finally:
        server.stop()
