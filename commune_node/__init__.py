"""The commune desk: a Flask app over one SQLite file that works with no network at all."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from common_io.clock import from_environment as clock_from_environment
from commune_node import db

MAX_REQUEST_BYTES = 256 * 1024


def _secret_key(instance: Path) -> str:
    """The session-signing key, made once per instance and kept in a 0600 file."""
    path = instance / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def create_app(
    test_config: dict[str, Any] | None = None, *, instance_path: str | None = None
) -> Flask:
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    app.config.from_mapping(
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=None,  # None: on, but under TESTING (common_io/page_headers.py)
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="commune_node_session",
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        BABEL_DEFAULT_LOCALE="vi",
        BABEL_DEFAULT_TIMEZONE="Asia/Ho_Chi_Minh",
        WTF_CSRF_TIME_LIMIT=None,
        LOGIN_ATTEMPTS=5,
        LOGIN_LOCK_SECONDS=300,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    os.chmod(instance, 0o700)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)
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
