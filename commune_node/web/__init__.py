"""Blueprints (pages, forms, JSON API), extensions and the one error handler."""

from __future__ import annotations

from flask import Flask

from commune_node.web import (
    api,
    auth,
    documents_page,
    errors,
    i18n,
    outbox_view,
    pages,
    printing,
    privacy,
    public,
    reports,
    syncpage,
)


def init_app(app: Flask) -> None:
    i18n.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(printing.bp)
    app.register_blueprint(syncpage.bp)
    app.register_blueprint(api.bp)
    documents_page.init_app(app)
    public.init_app(app)
    outbox_view.init_app(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(privacy.bp)
