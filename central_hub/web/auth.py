"""Hub users' log-in: the shared one (``common_web/auth.py``: sessions, CSRF, headers, roles,
log-in, log-out, own password, language) over the hub's user table; the sync API
authenticates with signed requests only."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from central_hub.models import LOGIN_ATTEMPT, WEB_SESSION, HubUser
from central_hub.services import users
from common_web import auth as shared

bp = shared.bp
csrf = CSRFProtect()
login_required = shared.login_required

ACCOUNTS = shared.Accounts(
    model=HubUser,
    g_name="user",
    authenticate=users.authenticate,
    web_session=WEB_SESSION,
    login_attempt=LOGIN_ATTEMPT,
    machine_blueprint="sync",
)


def init_app(app: Flask) -> None:
    shared.init_app(app, ACCOUNTS, csrf)
