"""The desk's errors: the shared handlers (``common_web/errors.py``) with the desk's JSON
paths and its storage failures, and the gate of a damaged database."""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from common_web import errors
from commune_node.services import storage

STYLE = errors.ErrorStyle(json_paths=("/api/",), logger="commune_node", classify=storage.classify)


def init_app(app: Flask) -> None:
    errors.init_app(app, STYLE)

    @app.before_request
    def _database_damaged() -> Any:
        # PRAGMA quick_check failed at start (commune-node run): no intake, the way out shown
        if app.extensions.get("database_damaged") and request.endpoint != "static":
            raise storage.DatabaseDamaged(found=app.extensions["database_damaged"])
        return None
