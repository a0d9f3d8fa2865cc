"""Hub users: login for pages (server-side sessions + CSRF), password change, role checks.

The shared parts are in ``common_io``: the session store (``web_sessions``), the guess
limits (``throttle``), where ``?next=`` may lead (``redirects``), the answer headers
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
    url_for,
)
from flask_wtf.csrf import CSRFProtect

from central_hub.models import LOGIN_ATTEMPT, WEB_SESSION, HubUser
from central_hub.services import users
from central_hub.web.context import database
from common.errors import ValidationError
from common_io import accounts, page_headers, throttle, web_sessions
from common_io.redirects import local_target

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
F = TypeVar("F", bound=Callable[..., Any])


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    page_headers.init_app(app)
    web_sessions.init_app(app, WEB_SESSION)
    throttle.init_app(app, LOGIN_ATTEMPT)
    app.before_request(_load_user)


def _load_user() -> None:
    g.user = None
    if request.blueprint == "sync":
        return
    user_id = web_sessions.current_user_id()
    if user_id is None:
        return
    with database().read() as db:
        user = db.get(HubUser, user_id)
    if user is None or not user.active:
        web_sessions.log_out()
        return
    g.user = user


def login_required(*roles: str) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user: HubUser | None = g.get("user")
            if user is None:
                return redirect(url_for("auth.login", next=request.path))
            if roles and not (user.role_set & set(roles)):
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
            flash(
                "Quá nhiều lần đăng nhập sai. Hãy đợi vài phút. / Too many failed attempts.",
                "error",
            )
            return render_template("login.html"), 429
        with database().read() as db:
            user = users.authenticate(db, username, password)
        if user is None:
            flash("Sai tên đăng nhập hoặc mật khẩu. / Wrong user name or password.", "error")
            return render_template("login.html"), 401
        throttle.login_succeeded(username)
        web_sessions.log_in(user.id)
        return redirect(local_target(request.args.get("next"), url_for("pages.home")))
    return render_template("login.html")


@bp.post("/logout")
def logout() -> Any:
    web_sessions.log_out()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required()
def change_password() -> Any:
    """The logged-in user's own password; every other session of theirs ends."""
    if request.method == "GET":
        return render_template("password.html", errors={})
    try:
        with database().write() as db:
            user = db.get(HubUser, g.user.id)
            assert user is not None
            keep = web_sessions.current_token()
            accounts.change_password_from_form(db, WEB_SESSION, user, request.form, keep=keep)
    except ValidationError as exc:
        errors: dict[str, list[tuple[str, str]]] = {}
        for p in exc.problems:
            errors.setdefault(p.field, []).append((p.vi, p.en))
        return render_template("password.html", errors=errors), 400
    flash("Đã đổi mật khẩu. Các phiên đăng nhập khác đã kết thúc. / Password changed; "
          "your other sessions have ended.", "ok")  # fmt: skip
    return redirect(url_for("pages.home"))
