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
    app.before_request(_load_officer)


def _load_officer() -> None:
    g.officer = None
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
        if not throttle.login_allowed(username):
            flash(_("Too many failed attempts. Wait a few minutes and try again."), "error")
            return render_template("login.html"), 429
        with read_session() as db:
            officer = officers.authenticate(db, username, password)
        if officer is None:
            flash(_("Wrong user name or password."), "error")
            return render_template("login.html"), 401
        throttle.login_succeeded(username)
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
