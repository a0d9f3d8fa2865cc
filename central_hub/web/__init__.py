"""Blueprints of the hub: the signed sync API for nodes, and pages for hub users."""

from __future__ import annotations

from flask import Flask

from central_hub.web import auth, errors, logcheck, notify_api, pages, public, reports, sync_api
from common_web import i18n, site


def init_app(app: Flask) -> None:
    logcheck.init_app(app)  # first: a restored database is found before anything writes
    site.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    app.register_blueprint(sync_api.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(notify_api.bp)
    public.init_app(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(reports.bp)
