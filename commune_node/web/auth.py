"""Logins for pages (session cookie + CSRF), bearer tokens for the API, and role checks."""

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

from common_io.throttle import LoginThrottle
from commune_node.db import read_session
from commune_node.models import Officer
from commune_node.services import officers

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
F = TypeVar("F", bound=Callable[..., Any])


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    app.extensions["login_throttle"] = LoginThrottle()
    app.before_request(_load_officer)


def _load_officer() -> None:
    g.officer = None
    if request.blueprint == "api":
        return  # the API authenticates with bearer tokens only, never with the cookie
    officer_id = session.get("officer_id")
    if officer_id is None:
        return
    with read_session() as db:
        officer = db.get(Officer, officer_id)
    if officer is None or not officer.active or session.get("pw") != officer.password_hash[-16:]:
        session.clear()
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
        key = (username, request.remote_addr or "")
        throttle: LoginThrottle = current_app.extensions["login_throttle"]
        limit = current_app.config["LOGIN_ATTEMPTS"]
        window = current_app.config["LOGIN_LOCK_SECONDS"]
        if throttle.locked(key, limit=limit, window=window):
            flash(_("Too many failed attempts. Wait a few minutes and try again."), "error")
            return render_template("login.html"), 429
        with read_session() as db:
            officer = officers.authenticate(db, username, password)
        if officer is None:
            throttle.fail(key)
            flash(_("Wrong user name or password."), "error")
            return render_template("login.html"), 401
        throttle.clear(key)
        session.clear()
        session["officer_id"] = officer.id
        session["pw"] = officer.password_hash[-16:]  # a password change ends other sessions
        session.permanent = True
        target = request.args.get("next", "")
        if not target.startswith("/") or target.startswith("//"):
            target = url_for("pages.home")
        return redirect(target)
    return render_template("login.html")


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("auth.login"))


@bp.post("/language/<lang>")
def set_language(lang: str) -> Any:
    if lang in ("vi", "en"):
        session["lang"] = lang
    target = request.form.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("pages.home")
    return redirect(target)
