"""Logins for pages (server-side sessions + CSRF), password change, and role checks (the
API authenticates with bearer tokens only).

The shared parts are in ``common_io``: the session store (``web_sessions``), the guess
limits (``throttle``), where ``next`` may lead (``redirects``), the answer headers
(``page_headers``) and the password rules (``accounts``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFProtect

from common.errors import ValidationError
from common_io import accounts, page_headers, throttle, web_sessions
from common_io.redirects import local_target
from commune_node import vault
from commune_node.db import read_session, write_session
from commune_node.models import LOGIN_ATTEMPT, WEB_SESSION, Officer
from commune_node.services import officers
from commune_node.web.inputs import errors_by_field

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
F = TypeVar("F", bound=Callable[..., Any])


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    page_headers.init_app(app)
    web_sessions.init_app(app, WEB_SESSION)
    throttle.init_app(app, LOGIN_ATTEMPT)
    app.before_request(_locked_gate)
    app.before_request(_load_officer)

    @app.context_processor
    def _desk_state() -> dict[str, Any]:
        return {"desk_locked": vault.desk_key(app).locked}


OPEN_WHEN_LOCKED = frozenset({"auth.login", "auth.set_language", "static"})


def _locked_gate() -> Any:
    """Until the first log-in after a start, the database cannot be read: every page but the
    log-in says so, and the API answers ``desk_locked`` (503)."""
    if not vault.desk_key(current_app).locked or request.endpoint in OPEN_WHEN_LOCKED:
        return None
    g.officer = None
    if request.blueprint == "api" or request.path.startswith("/api/"):
        raise vault.DeskLocked()
    return render_template("locked.html", error=vault.DeskLocked()), 503


def _load_officer() -> None:
    g.officer = None
    if vault.desk_key(current_app).locked:
        return
    if request.blueprint == "api":
        return  # the API authenticates with bearer tokens only, never with the cookie
    officer_id = web_sessions.current_user_id()
    if officer_id is None:
        return
    with read_session() as db:
        officer = db.get(Officer, officer_id)
    if officer is None or not officer.active:
        web_sessions.log_out()
        return
    g.officer = officer


def _vault(desk: vault.DeskKey) -> vault.Vault:
    assert desk.vault is not None  # locked implies a key file (DATABASE_KEY opens at once)
    return desk.vault


def login_required(*roles: str) -> Callable[[F], F]:
    """Page guard: anonymous → login page; logged in without the role → 403."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            officer: Officer | None = g.get("officer")
            if officer is None:
                return redirect(url_for("auth.login", next=request.path))
            if roles and not (officer.role_set & set(roles)):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "POST":
        username = request.form.get("username", "").strip().lower()[:64]
        password = request.form.get("password", "")[:200]
        desk = vault.desk_key(current_app)
        if desk.locked:
            # the first log-in after a start: the password unwraps the data key
            try:
                vault.unlock_app(current_app, _vault(desk).open_as_officer(username, password))
            except vault.WrongSecret:
                flash(_("Wrong user name or password."), "error")
                return render_template("login.html"), 401
        if not throttle.login_allowed(username):
            flash(_("Too many failed attempts. Wait a few minutes and try again."), "error")
            return render_template("login.html"), 429
        with read_session() as db:
            officer = officers.authenticate(db, username, password)
        if officer is None:
            flash(_("Wrong user name or password."), "error")
            return render_template("login.html"), 401
        throttle.login_succeeded(username)
        if desk.vault is not None and not desk.vault.has(vault.officer_label(username)):
            # an officer of a node encrypted after they were added: their password opens the
            # desk from their next log-in on
            vault.password_set(current_app, username, password)
        web_sessions.log_in(officer.id)
        return redirect(local_target(request.args.get("next"), url_for("pages.home")))
    return render_template("login.html")


@bp.post("/logout")
def logout() -> Any:
    web_sessions.log_out()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required()
def change_password() -> Any:
    """The logged-in officer's own password; every other session of theirs ends."""
    if request.method == "GET":
        return render_template("password.html", errors={})
    try:
        with write_session() as db:
            officer = db.get(Officer, g.officer.id)
            assert officer is not None
            keep = web_sessions.current_token()
            accounts.change_password_from_form(db, WEB_SESSION, officer, request.form, keep=keep)
    except ValidationError as exc:
        return render_template("password.html", errors=errors_by_field(exc.problems)), 400
    flash(_("Password changed. Your other sessions have ended."), "success")
    return redirect(url_for("pages.home"))


@bp.post("/language/<lang>")
def set_language(lang: str) -> Any:
    if lang in ("vi", "en"):
        session["lang"] = lang
    return redirect(local_target(request.form.get("next"), url_for("pages.home")))
