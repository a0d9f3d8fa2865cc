"""The hub app behind one ``central-hub`` invocation, made on first use (so ``--help`` touches
nothing) and shared by every command module of the CLI."""

from __future__ import annotations

import click
from flask import Flask

from central_hub import create_app
from common_io.database import Database


def app_of(ctx: click.Context) -> Flask:
    """The app for this invocation's instance folder; its connections close with the CLI."""
    root = ctx.find_root()
    if "app" not in root.obj:
        made = create_app(instance_path=str(root.obj["instance"].resolve()))
        root.obj["app"] = made
        root.call_on_close(lambda: database_of(made).engine.dispose())  # connections closed
    app: Flask = root.obj["app"]
    return app


def database_of(app: Flask) -> Database:
    db: Database = app.extensions["db"]
    return db
