"""Keeps the hub's own: sync API, log, ingest, processing, its pages (the rest: common_web).

The hub: receives signed records from every commune node, keeps the transparency log,
processes inter-level dossiers, and shows administrators every node's health."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from common_io.clock import from_environment as clock_from_environment
from common_io.database import Database
from common_web import site

MIGRATIONS = Path(__file__).parent / "migrations"
MAX_REQUEST_BYTES = 4 * 1024 * 1024


def create_app(
    test_config: dict[str, Any] | None = None, *, instance_path: str | None = None
) -> Flask:
    """Build a hub. ``DATABASE_URL`` selects the database: SQLite in the instance folder by
    default, or e.g. ``postgresql+psycopg://user@host/db`` for production."""
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    app.config.from_mapping(
        site.base_config(cookie="central_hub_session", max_request_bytes=MAX_REQUEST_BYTES)
    )
    instance = site.prepare_instance(app, test_config)
    if test_config is None and os.environ.get("CENTRAL_HUB_DATABASE_URL"):
        app.config["DATABASE_URL"] = os.environ["CENTRAL_HUB_DATABASE_URL"]
    app.extensions["clock"] = app.config.get("CLOCK") or clock_from_environment()
    url = app.config.get("DATABASE_URL") or f"sqlite:///{instance / 'hub.sqlite3'}"
    options: dict[str, object] = {}
    if not url.startswith("sqlite"):
        options = {"pool_size": 10, "max_overflow": 20, "pool_pre_ping": True}
    app.extensions["db"] = Database.connect(url, MIGRATIONS, **options)
    from central_hub import journal, loghead

    loghead.init_app(app)  # what the hub keeps outside its database, written after commits
    journal.init_app(app)

    from central_hub.web import init_app as init_web

    init_web(app)
    return app
