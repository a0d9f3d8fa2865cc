"""The steps both apps' ``create_app`` take, and the shared templates and static files.

- :func:`base_config`: the settings both apps start from (cookies, sessions, CSRF, log-in
  limits), each app naming its cookie and its request size limit;
- :func:`prepare_instance`: the instance folder (0700), ``config.py`` or the test settings,
  the session-signing key made once and kept in a 0600 file;
- :func:`init_app`: the ``common_web`` blueprint, whose ``templates/`` (error, log-in,
  public status pages) come after the app's own and whose ``static/`` is served at
  ``/common-static/``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask

STATIC_URL = "/common-static"


def base_config(*, cookie: str, max_request_bytes: int) -> dict[str, Any]:
    return {
        "MAX_CONTENT_LENGTH": max_request_bytes,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SECURE": None,  # None: on, but under TESTING (common_io/page_headers.py)
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": cookie,
        "PERMANENT_SESSION_LIFETIME": 8 * 3600,
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "WTF_CSRF_TIME_LIMIT": None,
        "LOGIN_ATTEMPTS": 5,
        "LOGIN_LOCK_SECONDS": 300,
    }


def secret_key(instance: Path) -> str:
    """The session-signing key, made once per instance and kept in a 0600 file."""
    path = instance / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def prepare_instance(app: Flask, test_config: dict[str, Any] | None) -> Path:
    """Settings from the instance's ``config.py`` (or the test's), the instance folder
    made private, and the session-signing key; returns the instance folder."""
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    os.chmod(instance, 0o700)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(instance)
    return instance


def init_app(app: Flask) -> None:
    here = Path(__file__).parent
    bp = Blueprint(
        "common_web",
        __name__,
        template_folder=str(here / "templates"),
        static_folder=str(here / "static"),
        static_url_path=STATIC_URL,
    )
    app.register_blueprint(bp)
