"""What every answer of the node's and the hub's pages tells the browser about itself.

- ``Content-Security-Policy``: scripts, styles, images and fonts from this site only — no
  inline script or style, so text a page reflects cannot run; no plug-ins; no ``<base>``;
  forms post only here; no page may frame this one (``frame-ancestors 'none'``, and
  ``X-Frame-Options: DENY`` for older browsers). Inline SVG (the QR code) is markup, not
  script, and passes.
- ``X-Content-Type-Options: nosniff``: a file is never read as another type.
- ``Referrer-Policy: same-origin``: a link to another site does not carry our URLs.
- ``Strict-Transport-Security`` on answers served over HTTPS.

A view may set its own value of any of these; it is then left alone.

The session cookie is ``Secure`` by default (``SESSION_COOKIE_SECURE``): left unset, it is
on everywhere but under ``TESTING``; the demo and plain-HTTP test set-ups turn it off in
their settings.
"""

from __future__ import annotations

from flask import Flask, Response, request

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


# The tab icon of both apps (a folder with a tick), served at /favicon.ico — where browsers
# look for it unasked — so no page's request ends in a 404.
FAVICON = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    b'<rect x="3" y="7" width="26" height="20" rx="3" fill="#0b5394"/>'
    b'<path d="M3 10V6a2 2 0 0 1 2-2h7l3 3" fill="#0b5394"/>'
    b'<path d="M10 17l4 4 8-8" stroke="#fff" stroke-width="3" fill="none"/></svg>'
)


def favicon() -> Response:
    response = Response(FAVICON, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


def init_app(app: Flask) -> None:
    if app.config.get("SESSION_COOKIE_SECURE") is None:
        app.config["SESSION_COOKIE_SECURE"] = not app.testing
    app.after_request(_headers)
    app.add_url_rule("/favicon.ico", "favicon", favicon)


def _headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response
