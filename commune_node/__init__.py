"""Keeps the desk's own: intake, chain, sync, printed forms, lock, its pages (the rest: common_web).

The commune desk: a Flask app over one SQLite file that works with no network at all."""

from __future__ import annotations

from typing import Any

from flask import Flask

from common_io.clock import from_environment as clock_from_environment
from common_web import site
from commune_node import db

MAX_REQUEST_BYTES = 256 * 1024


def create_app(
    test_config: dict[str, Any] | None = None, *, instance_path: str | None = None
) -> Flask:
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    app.config.from_mapping(
        site.base_config(cookie="commune_node_session", max_request_bytes=MAX_REQUEST_BYTES)
    )
    site.prepare_instance(app, test_config)
    raw = app.config.get("CLOCK") or clock_from_environment()

    db.init_app(app)
    from commune_node.services.deskclock import DeskClock

    # records, codes and due dates use the hub-corrected time (services/deskclock.py)
    app.extensions["clock"] = DeskClock(raw, lambda: app.extensions.get("db"))
    from commune_node.web import init_app as init_web

    init_web(app)
    from commune_node import scheduler

    scheduler.init_app(app)
    return app
