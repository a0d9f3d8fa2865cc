"""The one place where errors become responses: JSON for the API, a page for people."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from common.errors import DossierError
from commune_node.services import storage

log = logging.getLogger("commune_node")

_HTTP_VI = {
    400: "Yêu cầu không hợp lệ.",
    401: "Cần đăng nhập.",
    403: "Bạn không có quyền thực hiện thao tác này.",
    404: "Không tìm thấy.",
    405: "Phương thức không được hỗ trợ.",
    413: "Dữ liệu gửi lên quá lớn.",
    415: "Kiểu dữ liệu không được hỗ trợ.",
    429: "Quá nhiều yêu cầu; hãy thử lại sau.",
}
_HTTP_CODE = {
    400: "bad_request",
    401: "unauthorised",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_body(code: str, en: str, vi: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": en, "message_vi": vi, **extra}}


def init_app(app: Flask) -> None:
    @app.errorhandler(DossierError)
    def _domain(exc: DossierError) -> Any:
        if wants_json():
            return jsonify({"error": exc.as_dict()}), exc.status
        return render_template("error.html", error=exc), exc.status

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        return render_template(
            "error.html",
            error=DossierError(
                "The form expired or did not come from this site. Reload the page and try again.",
                vi="Biểu mẫu đã hết hạn hoặc không xuất phát từ trang này. Hãy tải lại trang.",
            ),
        ), 400

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        status = exc.code or 500
        code = _HTTP_CODE.get(status, "http_error")
        vi = _HTTP_VI.get(status, "Có lỗi xảy ra.")
        en = exc.description or exc.name
        if wants_json():
            return jsonify(error_body(code, en, vi)), status
        return render_template("error.html", error=DossierError(en, vi=vi)), status

    @app.before_request
    def _database_damaged() -> Any:
        # PRAGMA quick_check failed at start (commune-node run): no intake, the way out shown
        if app.extensions.get("database_damaged") and request.endpoint != "static":
            raise storage.DatabaseDamaged(found=app.extensions["database_damaged"])
        return None

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        known = storage.classify(exc)
        if known is not None:  # a full disk or a damaged file: say so, and what to do
            log.error("storage problem on %s %s: %s", request.method, request.url_rule, known.code)
            return _domain(known)
        # Log the type and where, never the request body (it holds personal data).
        log.exception("unexpected error on %s %s", request.method, request.url_rule)
        en, vi = (
            "Internal error; the action was not saved.",
            "Lỗi hệ thống; thao tác chưa được lưu.",
        )
        if wants_json():
            return jsonify(error_body("internal", en, vi)), 500
        return render_template("error.html", error=DossierError(en, vi=vi)), 500
