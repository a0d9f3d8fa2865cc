"""Background sync: APScheduler runs one sync at a time and backs off after failures; and
once a day the erasure of personal data whose retention period ended (:func:`retention_tick`).

:func:`start` is called by ``commune-node run`` (never in tests or other commands). "Sync
now" (page or CLI) goes through :func:`run_sync`, which shares the same lock, so two syncs
never overlap. After a failure the next automatic attempt waits ``interval * 2**failures``
seconds (at most ``SYNC_MAX_BACKOFF``, 120 s) plus random jitter, so a hundred communes
coming back after an outage do not all knock at once. While it waits after a link failure,
each tick sends one cheap probe (``GET /sync/v1/hello``, a few hundred bytes): as soon as the
hub answers, the sync runs at once, so a short 2G window is not missed.
A hub that answers "busy" (:class:`HubBusy`) says when to come back: the next attempt waits
that long plus up to half as much again, sends no probe meanwhile (the hub asked for quiet),
and the busy answer does not count as a failure of the link.
"""

from __future__ import annotations

import logging
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask

from common.errors import DossierError
from commune_node.db import database
from commune_node.services.sync import SyncResult, sync_once
from commune_node.transport import HttpTransport, HubBusy, Transport

log = logging.getLogger("commune_node.sync")
MAX_BACKOFF = 120  # seconds: the longest wait between automatic attempts after failures
PROBE_PATH = "/sync/v1/hello"


@dataclass
class SyncState:
    lock: threading.Lock = field(default_factory=threading.Lock)
    failures: int = 0
    not_before: float = 0.0
    last_result: SyncResult | None = None
    storage_problem: DossierError | None = None  # a full disk: the database cannot say it
    hub_busy: bool = False  # waiting because the hub asked to (Retry-After): no probes


def _transport(app: Flask) -> Transport:
    factory = app.config.get("SYNC_TRANSPORT")
    if factory is not None:
        transport: Transport = factory()
        return transport
    from commune_node.services.identity import get_setting

    with database(app).read() as session:
        url = get_setting(session, "hub_url") or ""
    return HttpTransport(url)


def run_sync(app: Flask, *, wait: bool = True) -> SyncResult | None:
    """One sync now. Returns None if another sync is running and ``wait`` is False."""
    from commune_node.web.context import node_identity

    state: SyncState = app.extensions["sync_state"]
    if not state.lock.acquire(blocking=wait):
        return None
    try:
        with app.app_context():
            result = sync_once(
                database(app),
                identity=node_identity(),  # read afresh: a rotation by another process counts
                transport=_transport(app),
                clock=app.extensions["clock"],
                batch_bytes=app.config.get("SYNC_BATCH_BYTES", 64 * 1024),
                instance=Path(app.instance_path),
            )
        state.failures = 0
        state.not_before = 0.0
        state.last_result = result
        state.storage_problem = None
        state.hub_busy = False
        return result
    except HubBusy as exc:
        state.hub_busy = True
        state.not_before = time.monotonic() + exc.retry_after * (1 + random.random() / 2)
        raise
    except DossierError as exc:
        state.hub_busy = False
        state.storage_problem = exc if exc.code in ("disk_full", "database_damaged") else None
        state.failures += 1
        interval = float(app.config.get("SYNC_INTERVAL") or 60)
        most = float(app.config.get("SYNC_MAX_BACKOFF", MAX_BACKOFF))
        backoff = min(interval * 2**state.failures, most)
        state.not_before = time.monotonic() + backoff * (0.5 + random.random() / 2)
        raise
    finally:
        state.lock.release()


def probe(app: Flask) -> bool:
    """True when the hub answers a cheap request now (the link is back)."""
    try:
        _transport(app).request("GET", PROBE_PATH)
    except DossierError:
        return False
    return True


def _tick(app: Flask) -> None:
    from commune_node import vault

    state: SyncState = app.extensions["sync_state"]
    if vault.desk_key(app).locked:
        return  # the data key is in no memory before the first log-in: nothing to send yet
    if time.monotonic() < state.not_before:
        if state.hub_busy or state.storage_problem is not None or not probe(app):
            return
        log.info("the hub answers again: syncing now")
    try:
        run_sync(app, wait=False)
    except DossierError as exc:
        log.warning("sync failed: %s (%s)", exc.code, exc.en)


def retention_tick(app: Flask) -> None:
    """Once a day: erase the personal data of closed dossiers past their retention period
    (services/privacy.py); the report goes to this log and the admin's erasure page."""
    from commune_node.services import privacy

    try:
        run = privacy.run_retention(database(app), now=app.extensions["clock"]())
        sys.stderr.write(privacy.report_line(run) + "\n")  # the run log of `commune-node run`
    except DossierError as exc:
        log.warning("retention run failed: %s (%s)", exc.code, exc.en)


def init_app(app: Flask) -> None:
    app.extensions["sync_state"] = SyncState()


def start(app: Flask, interval: int) -> Any:
    """Start background sync every ``interval`` seconds (called by ``commune-node run``)."""
    from datetime import UTC, datetime, timedelta

    from apscheduler.schedulers.background import BackgroundScheduler

    app.config["SYNC_INTERVAL"] = interval
    scheduler = BackgroundScheduler(daemon=True)
    scheduler.add_job(
        _tick,
        "interval",
        seconds=interval,
        args=[app],
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC) + timedelta(seconds=2),
    )
    scheduler.add_job(
        retention_tick,
        "interval",
        hours=24,
        args=[app],
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC) + timedelta(minutes=5),
    )
    scheduler.start()
    app.extensions["scheduler"] = scheduler
    return scheduler
