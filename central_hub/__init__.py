"""The hub: receives signed records from every commune node, keeps the transparency log,
processes inter-level dossiers, and shows administrators every node's health."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from common_io.clock import from_environment as clock_from_environment
from common_io.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"
MAX_REQUEST_BYTES = 4 * 1024 * 1024


def _secret_key(instance: Path) -> str:
    path = instance / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def create_app(
    test_config: dict[str, Any] | None = None, *, instance_path: str | None = None
) -> Flask:
    """Build a hub. ``DATABASE_URL`` selects the database: SQLite in the instance folder by
    default, or e.g. ``postgresql+psycopg://user@host/db`` for production."""
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    app.config.from_mapping(
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=None,  # None: on, but under TESTING (common_io/page_headers.py)
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="central_hub_session",
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        WTF_CSRF_TIME_LIMIT=None,
        LOGIN_ATTEMPTS=5,
        LOGIN_LOCK_SECONDS=300,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        if os.environ.get("CENTRAL_HUB_DATABASE_URL"):
            app.config["DATABASE_URL"] = os.environ["CENTRAL_HUB_DATABASE_URL"]
    else:
        app.config.from_mapping(test_config)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    os.chmod(instance, 0o700)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)
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
