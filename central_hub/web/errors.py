"""The one place where hub errors become responses: JSON for the sync API, pages for people."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from common.errors import DossierError

log = logging.getLogger("central_hub")


def wants_json() -> bool:
    return request.path.startswith(("/sync/", "/api/"))


def _json(code: str, en: str, vi: str, status: int, retryable: bool = False, **extra: Any) -> Any:
    body = {"code": code, "message": en, "message_vi": vi, "retryable": retryable, **extra}
    return jsonify({"error": body}), status


def init_app(app: Flask) -> None:
    @app.errorhandler(DossierError)
    def _domain(exc: DossierError) -> Any:
        if wants_json():
            return jsonify({"error": exc.as_dict()}), exc.status
        return render_template("error.html", error=exc), exc.status

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        err = DossierError(
            "The form expired or did not come from this site. Reload the page.",
            vi="Biểu mẫu đã hết hạn hoặc không xuất phát từ trang này.",
        )
        return render_template("error.html", error=err), 400

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        status = exc.code or 500
        en = exc.description or exc.name
        if wants_json():
            code = exc.name.lower().replace(" ", "_")
            return _json(code, en, en, status, retryable=status in (429, 503))
        return render_template("error.html", error=DossierError(en, vi=en)), status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        log.exception("unexpected error on %s %s", request.method, request.url_rule)
        en, vi = "Internal error; nothing was stored.", "Lỗi hệ thống; chưa lưu gì."
        if wants_json():
            return _json("internal", en, vi, 500, retryable=True)
        return render_template("error.html", error=DossierError(en, vi=vi)), 500
