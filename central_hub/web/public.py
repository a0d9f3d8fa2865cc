"""``/status`` at the hub: the public status look-up for every commune's dossiers (no login).

Same rules as the node's page: rate-limited per address (``STATUS_LOOKUP_ATTEMPTS`` failed
look-ups per ``STATUS_LOOKUP_WINDOW`` seconds), one answer and one time floor
(``STATUS_LOOKUP_MIN_SECONDS``) for a wrong code and wrong digits, digits only in the POST
body, nothing typed logged.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Flask, current_app, render_template, request

from central_hub.services import status_lookup
from central_hub.web.context import clock, database, hub_identity
from common.public_status import check_digits
from common_io import throttle

bp = Blueprint("public", __name__)


def init_app(app: Flask) -> None:
    app.config.setdefault("STATUS_LOOKUP_MIN_SECONDS", 0.4)


def _page(status: int = 200, **context: Any) -> Any:
    return render_template("public_status.html", **context), status


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
    found = status_lookup.lookup(
        database(), code, digits, hub_id=hub_identity().hub_id, now=clock()()
    )
    if found is not None:
        throttle.lookup_succeeded()
    floor = float(current_app.config["STATUS_LOOKUP_MIN_SECONDS"])
    time.sleep(max(0.0, floor - (time.monotonic() - started)))
    if found is None:
        return _page(404, code=code, failed=True)
    return _page(found=found, code=code)
