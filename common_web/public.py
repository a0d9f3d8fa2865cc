"""``/status`` on both apps: the public status look-up (no login, no personal data).

Rate-limited per address (failed look-ups, ``STATUS_LOOKUP_ATTEMPTS`` per
``STATUS_LOOKUP_WINDOW`` seconds); a wrong code and wrong digits give the same page, the
same status and — with the ``STATUS_LOOKUP_MIN_SECONDS`` floor — the same time. The digits
travel only in the POST body; nothing typed is logged.

Each app gives its look-up (the node reads its own dossiers, the hub the statuses every
commune sent) and the name the page shows (the commune's, the hub's)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, current_app, render_template, request

from common.public_status import check_digits
from common_io import throttle

# (code, the four digits) → the public view of the dossier, or None
Lookup = Callable[[str, str], Any]


def init_app(app: Flask) -> None:
    app.config.setdefault("STATUS_LOOKUP_MIN_SECONDS", 0.4)


def make_blueprint(*, lookup: Lookup, place: Callable[[], str], app_css: str) -> Blueprint:
    """The ``public`` blueprint; ``place`` names the office on the page, ``app_css`` is the
    app's own stylesheet the page loads first."""
    bp = Blueprint("public", __name__)

    def page(status: int = 200, **context: Any) -> Any:
        html = render_template("public_status.html", place=place(), app_css=app_css, **context)
        return html, status

    @bp.get("/status")
    def status_form() -> Any:
        return page(code=request.args.get("code", "").strip()[:64])

    @bp.post("/status")
    def status_lookup_post() -> Any:
        started = time.monotonic()
        code = request.form.get("code", "").strip()[:64]
        if not throttle.lookup_allowed():
            return page(429, code=code, limited=True)
        digits = check_digits(request.form.get("digits", "")) or ""
        found = lookup(code, digits)
        if found is not None:
            throttle.lookup_succeeded()
        floor = float(current_app.config["STATUS_LOOKUP_MIN_SECONDS"])
        time.sleep(max(0.0, floor - (time.monotonic() - started)))
        if found is None:
            return page(404, code=code, failed=True)
        return page(found=found, code=code)

    return bp
