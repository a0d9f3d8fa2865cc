"""The scheduled sender of the portal outbox (APScheduler), started by ``central-hub run``.

Every ``PORTAL_SEND_INTERVAL`` seconds (default 10) one job delivers what is due
(``services/portal_delivery.py``); ``max_instances=1`` keeps one round at a time in a
process, and the database leases keep several processes from sending one message twice.
With no ``PORTAL_URL`` the job does nothing: the outbox holds the messages.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from central_hub.services import portal_delivery, portal_transport

log = logging.getLogger("central_hub.portal")


def client(app: Flask) -> portal_transport.PortalClient | None:
    """The portal client from the settings, made once per app (its token cache lives here)."""
    if "portal_client" not in app.extensions:
        app.extensions["portal_client"] = portal_transport.from_config(app.config)
    found: portal_transport.PortalClient | None = app.extensions["portal_client"]
    return found


def pace(app: Flask) -> portal_delivery.Pace:
    cfg = app.config
    return portal_delivery.Pace(
        rate=float(cfg.get("PORTAL_RATE") or 5),
        lease=timedelta(seconds=float(cfg.get("PORTAL_LEASE_SECONDS") or 60)),
        backoff=float(cfg.get("PORTAL_BACKOFF_SECONDS") or 5),
        max_backoff=float(cfg.get("PORTAL_MAX_BACKOFF_SECONDS") or 3600),
    )


def send_round(app: Flask) -> int:
    """One round of sending; 0 when no portal is configured."""
    found = client(app)
    if found is None:
        return 0
    return portal_delivery.deliver_due(
        app.extensions["db"],
        found,
        clock=app.extensions["clock"],
        pace=pace(app),
        budget_seconds=float(app.config.get("PORTAL_BUDGET_SECONDS") or 8),
    )


def _tick(app: Flask) -> None:
    try:
        send_round(app)
    except Exception:  # a round that fails is logged; the next one starts afresh
        log.exception("portal send round failed")


def start(app: Flask) -> Any:
    """Start the scheduled sender in this process."""
    from apscheduler.schedulers.background import BackgroundScheduler

    interval = float(app.config.get("PORTAL_SEND_INTERVAL") or 10)
    scheduler = BackgroundScheduler(daemon=True)
    scheduler.add_job(
        _tick,
        "interval",
        seconds=interval,
        args=[app],
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC) + timedelta(seconds=min(interval, 2)),
    )
    from central_hub.privacy_commands import retention_tick

    scheduler.add_job(  # the erasure of personal data past its retention period
        retention_tick,
        "interval",
        hours=24,
        args=[app],
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC) + timedelta(minutes=5),
    )
    scheduler.start()
    app.extensions["portal_scheduler"] = scheduler
    return scheduler
