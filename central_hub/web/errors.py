"""The hub's errors: the shared handlers (``common_web/errors.py``) with the sync protocol's
JSON (codes named after the HTTP status, ``retryable``) for ``/sync/`` and ``/api/``."""

from __future__ import annotations

from flask import Flask

from common_web import errors

STYLE = errors.ErrorStyle(
    json_paths=("/sync/", "/api/"), logger="central_hub", code_of=errors.name_code, retryable=True
)


def init_app(app: Flask) -> None:
    errors.init_app(app, STYLE)
