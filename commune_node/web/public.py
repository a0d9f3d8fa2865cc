"""``/status``: the public status look-up (no login). The lobby screen shows it; the QR code on
form 01 opens it at its public address (``PUBLIC_STATUS_BASE?code=<dossier code>``) and the
citizen types the four digits.

Rate-limited per address (failed look-ups, ``STATUS_LOOKUP_ATTEMPTS`` per
``STATUS_LOOKUP_WINDOW`` seconds); a wrong code and wrong digits give the same page, the
same status and — with the ``STATUS_LOOKUP_MIN_SECONDS`` floor — the same time. The digits
travel only in the POST body; nothing typed is logged.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Flask, current_app, render_template, request

from common.public_status import check_digits
from common_io import throttle
from commune_node.db import read_session
from commune_node.services import status_lookup
from commune_node.web.context import clock, node_identity

bp = Blueprint("public", __name__)


def init_app(app: Flask) -> None:
    app.config.setdefault("STATUS_LOOKUP_MIN_SECONDS", 0.4)


def _page(status: int = 200, **context: Any) -> Any:
    return render_template(
        "public_status.html", commune=node_identity().commune_name, **context
    ), status


@bp.get("/status")
def status_form() -> Any:
    return _page(code=request.args.get("code", "").strip()[:64])


@bp.post("/status")
def status_lookup_post() -> Any:
    started = time.monotonic()
    code = request.form.get("code", "").strip()[:64]
    if not throttle.lookup_allowed():
        return _page(429, code=code, limited=True)
    digits = check_digits(request.form.get("digits", "")) or ""
    with read_session() as session:
        found = status_lookup.lookup(session, code, digits, now=clock()())
    if found is not None:
        throttle.lookup_succeeded()
    floor = float(current_app.config["STATUS_LOOKUP_MIN_SECONDS"])
    time.sleep(max(0.0, floor - (time.monotonic() - started)))
    if found is None:
        return _page(404, code=code, failed=True)
    return _page(found=found, code=code)
