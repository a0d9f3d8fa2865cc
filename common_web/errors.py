"""The one place where errors become responses, on both apps: JSON for the machine routes
(the node's ``/api/``, the hub's ``/sync/`` and ``/api/``), the shared Vietnamese-first
``error.html`` for people.

What differs between the apps is a parameter of :func:`init_app`: which paths answer JSON,
how an HTTP error is named in JSON (the hub's sync protocol names it after the status, e.g.
``request_entity_too_large``), whether JSON errors say ``retryable``, and how a storage
failure is recognised (the node's full disk or damaged file)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from common.errors import DossierError

HTTP_VI = {
    400: "Yêu cầu không hợp lệ.",
    401: "Cần đăng nhập.",
    403: "Bạn không có quyền thực hiện thao tác này.",
    404: "Không tìm thấy.",
    405: "Phương thức không được hỗ trợ.",
    413: "Dữ liệu gửi lên quá lớn.",
    415: "Kiểu dữ liệu không được hỗ trợ.",
    429: "Quá nhiều yêu cầu; hãy thử lại sau.",
    503: "Dịch vụ tạm thời không sẵn sàng; hãy thử lại sau.",
}
HTTP_CODE = {
    400: "bad_request",
    401: "unauthorised",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}
CSRF_EN = "The form expired or did not come from this site. Reload the page and try again."
CSRF_VI = "Biểu mẫu đã hết hạn hoặc không xuất phát từ trang này. Hãy tải lại trang."
INTERNAL_EN = "Internal error; the action was not saved."
INTERNAL_VI = "Lỗi hệ thống; thao tác chưa được lưu."


def table_code(exc: HTTPException) -> str:
    """The node's API names: a short table, ``http_error`` for the rest."""
    return HTTP_CODE.get(exc.code or 500, "http_error")


def name_code(exc: HTTPException) -> str:
    """The hub's sync protocol names: the status's name, e.g. ``request_entity_too_large``."""
    return exc.name.lower().replace(" ", "_")


@dataclass(frozen=True)
class ErrorStyle:
    """How one app's machine routes answer errors."""

    json_paths: tuple[str, ...]
    logger: str
    code_of: Callable[[HTTPException], str] = table_code
    retryable: bool = False  # JSON errors carry ``retryable`` (the hub's sync protocol)
    # a storage failure the app recognises (full disk, damaged file), answered as a DossierError
    classify: Callable[[Exception], DossierError | None] | None = None


def error_body(code: str, en: str, vi: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": en, "message_vi": vi, **extra}}


def page(error: DossierError, status: int) -> Any:
    return render_template("error.html", error=error), status


def init_app(app: Flask, style: ErrorStyle) -> None:
    log = logging.getLogger(style.logger)

    def wants_json() -> bool:
        return request.path.startswith(style.json_paths)

    def answer(code: str, en: str, vi: str, status: int, retryable: bool) -> Any:
        extra = {"retryable": retryable} if style.retryable else {}
        return jsonify(error_body(code, en, vi, **extra)), status

    @app.errorhandler(DossierError)
    def _domain(exc: DossierError) -> Any:
        if wants_json():
            return jsonify({"error": exc.as_dict()}), exc.status
        return page(exc, exc.status)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        return page(DossierError(CSRF_EN, vi=CSRF_VI), 400)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        status = exc.code or 500
        vi = HTTP_VI.get(status, "Có lỗi xảy ra.")
        en = exc.description or exc.name
        if wants_json():
            return answer(style.code_of(exc), en, vi, status, status in (429, 503))
        return page(DossierError(en, vi=vi), status)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        known = style.classify(exc) if style.classify is not None else None
        if known is not None:  # a full disk or a damaged file: say so, and what to do
            log.error("storage problem on %s %s: %s", request.method, request.url_rule, known.code)
            return _domain(known)
        # Log the type and where, never the request body (it holds personal data).
        log.exception("unexpected error on %s %s", request.method, request.url_rule)
        if wants_json():
            return answer("internal", INTERNAL_EN, INTERNAL_VI, 500, True)
        return page(DossierError(INTERNAL_EN, vi=INTERNAL_VI), 500)
