"""The desk's log-in: the shared one (``common_web/auth.py``: sessions, CSRF, headers, roles,
log-in, log-out, own password, language) with the desk's lock. Until the first log-in after a
start the database cannot be read: that log-in's password unwraps the data key. The API
authenticates with bearer tokens only."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, render_template, request
from flask_wtf.csrf import CSRFProtect

from common_web import auth as shared
from commune_node import vault
from commune_node.models import LOGIN_ATTEMPT, WEB_SESSION, Officer
from commune_node.services import officers

bp = shared.bp
csrf = CSRFProtect()
login_required = shared.login_required

OPEN_WHEN_LOCKED = frozenset({"auth.login", "auth.set_language", "static", "common_web.static"})


def _desk_open() -> bool:
    return not vault.desk_key(current_app).locked


def _unlock(username: str, password: str) -> bool:
    """The first log-in after a start: the password unwraps the data key."""
    desk = vault.desk_key(current_app)
    if not desk.locked:
        return True
    assert desk.vault is not None  # locked implies a key file (DATABASE_KEY opens at once)
    try:
        vault.unlock_app(current_app, desk.vault.open_as_officer(username, password))
    except vault.WrongSecret:
        return False
    return True


def _remember_password(username: str, password: str) -> None:
    desk = vault.desk_key(current_app)
    if desk.vault is not None and not desk.vault.has(vault.officer_label(username)):
        # an officer of a node encrypted after they were added: their password opens the
        # desk from their next log-in on
        vault.password_set(current_app, username, password)


ACCOUNTS = shared.Accounts(
    model=Officer,
    g_name="officer",
    authenticate=officers.authenticate,
    web_session=WEB_SESSION,
    login_attempt=LOGIN_ATTEMPT,
    machine_blueprint="api",
    ready=_desk_open,
    unlock=_unlock,
    after_login=_remember_password,
)


def init_app(app: Flask) -> None:
    app.before_request(_locked_gate)
    shared.init_app(app, ACCOUNTS, csrf)

    @app.context_processor
    def _desk_state() -> dict[str, Any]:
        return {"desk_locked": vault.desk_key(app).locked}


def _locked_gate() -> Any:
    """Until the first log-in after a start, the database cannot be read: every page but the
    log-in says so, and the API answers ``desk_locked`` (503)."""
    if _desk_open() or request.endpoint in OPEN_WHEN_LOCKED:
        return None
    g.officer = None
    if request.blueprint == "api" or request.path.startswith("/api/"):
        raise vault.DeskLocked()
    return render_template("locked.html", error=vault.DeskLocked()), 503
