"""What both apps' views ask of the running app: its database and its clock (each app's
``web/context.py`` adds its own identity and, on the desk, the calendar and the officer)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import current_app

from common_io.database import Database


def database() -> Database:
    db: Database = current_app.extensions["db"]
    return db


def clock() -> Callable[[], datetime]:
    c: Callable[[], datetime] = current_app.extensions["clock"]
    return c
