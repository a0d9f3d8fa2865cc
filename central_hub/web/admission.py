"""Admission control for the sync API: a busy hub turns a node away at once instead of
letting it wait in line.

When hundreds of communes come back after an outage, their requests queue for the hub's
worker threads; on a 2G link a node holding a connection open for many seconds costs it the
link. A request that has already waited longer than ``SYNC_QUEUE_WAIT`` seconds for a
thread (the server notes the wait: ``common_io.serving``) is answered ``503 hub_busy``
before anything is read from the database, with ``Retry-After``: the time the queue ahead
of it should take to drain at the hub's recent pace. The node comes back then, with jitter
(``commune_node.scheduler``); nothing it sent was stored, so nothing is lost or doubled.
The check is the blueprint's first step, so turning a request away costs no signature check
and no query.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

from flask import Blueprint, Response, current_app, g, jsonify, request

from common_io.serving import QUEUE_DEPTH, QUEUE_WORKERS, QUEUED_SECONDS

DEFAULT_QUEUE_WAIT = 2.0  # seconds a sync request may wait for a thread before 503
RETRY_MIN, RETRY_MAX = 1, 120  # bounds of Retry-After, seconds
SMOOTHING = 0.2  # weight of the newest request in the mean service time


@dataclass
class Pace:
    """The mean time a sync request took to serve in this process (moving average)."""

    seconds: float = 0.05
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, seconds: float) -> None:
        with self.lock:
            self.seconds += SMOOTHING * (seconds - self.seconds)

    def drain_seconds(self, depth: int, workers: int) -> int:
        """How long ``depth`` waiting requests take on ``workers`` threads at this pace."""
        estimate = math.ceil(depth * self.seconds / max(1, workers))
        return max(RETRY_MIN, min(RETRY_MAX, estimate))


def busy_answer(retry_after: int) -> Response:
    resp = jsonify(
        {
            "error": {
                "code": "hub_busy",
                "message": "the hub is busy; come back after Retry-After seconds",
                "message_vi": "Máy chủ cấp trên đang bận; hãy thử lại sau số giây Retry-After",
                "retryable": True,
            }
        }
    )
    resp.status_code = 503
    resp.headers["Retry-After"] = str(retry_after)
    return resp


def init_blueprint(bp: Blueprint) -> None:
    """Register the admission check as ``bp``'s first step (call before any other
    ``before_request`` of the blueprint), and the pace measurement after each request."""
    pace = Pace()

    @bp.before_request
    def _admit() -> Response | None:
        waited = request.environ.get(QUEUED_SECONDS)
        limit = float(current_app.config.get("SYNC_QUEUE_WAIT", DEFAULT_QUEUE_WAIT))
        if waited is not None and waited > limit:
            depth = int(request.environ.get(QUEUE_DEPTH, 0))
            workers = int(request.environ.get(QUEUE_WORKERS, 1))
            return busy_answer(pace.drain_seconds(depth + 1, workers))
        g.admitted_at = time.monotonic()
        return None

    @bp.teardown_request
    def _measure(_exc: BaseException | None) -> None:
        started = g.pop("admitted_at", None)
        if started is not None:
            pace.note(time.monotonic() - started)
