"""Failed-login throttling, shared by the node's and the hub's login pages (in memory:
one process per node; a restart forgets, which only ever lets a person try again sooner)."""

from __future__ import annotations

import threading
import time


class LoginThrottle:
    """Counts failed logins per user name and address; locks after too many."""

    def __init__(self) -> None:
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    def locked(self, key: tuple[str, str], *, limit: int, window: float) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(key, []) if now - t < window]
            self._failures[key] = recent
            return len(recent) >= limit

    def fail(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.setdefault(key, []).append(time.monotonic())

    def clear(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.pop(key, None)
