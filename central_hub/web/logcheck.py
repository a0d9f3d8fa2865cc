"""Before the first request a hub process serves — a page or a sync call — compare the log
head file with the database (:func:`central_hub.services.recovery.check_log_head`): a
database put back from an older backup must open the log recovery before anything, an
officer's action included, can sign a record into a lost leaf."""

from __future__ import annotations

import logging

from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError

from central_hub import loghead
from central_hub.services import recovery
from central_hub.web.context import clock, database, hub_identity
from common.errors import DossierError

log = logging.getLogger(__name__)
CHECKED = "loghead_checked"


def check_once() -> None:
    app = current_app
    if app.extensions.get(CHECKED):
        return
    head = loghead.read(loghead.path_of(app))
    try:
        with database().write() as session:
            recovery.check_log_head(session, head, hub=hub_identity(), clock=clock())
    except (DossierError, SQLAlchemyError, OSError) as exc:  # not set up yet: try next time
        log.warning("log head check not done yet: %s", type(exc).__name__)
        return
    app.extensions[CHECKED] = True


def init_app(app: Flask) -> None:
    app.before_request(check_once)
