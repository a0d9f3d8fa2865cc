"""Blueprints (pages, forms, JSON API), extensions and the one error handler."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from common_web import i18n, site
from commune_node.web import (
    api,
    auth,
    errors,
    outbox_view,
    pages,
    printing,
    privacy,
    public,
    reports,
    syncpage,
)

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def init_app(app: Flask) -> None:
    site.init_app(app)
    i18n.init_app(app, TRANSLATIONS)
    auth.init_app(app)
    errors.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(printing.bp)
    app.register_blueprint(syncpage.bp)
    app.register_blueprint(api.bp)
    public.init_app(app)
    outbox_view.init_app(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(privacy.bp)
