"""Hub users: login for pages (session cookie + CSRF) and role checks."""

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
from flask_wtf.csrf import CSRFProtect

from central_hub.models import HubUser
from central_hub.services import users
from central_hub.web.context import database
from common_io.throttle import LoginThrottle

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
F = TypeVar("F", bound=Callable[..., Any])


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    app.extensions["login_throttle"] = LoginThrottle()
    app.before_request(_load_user)


def _load_user() -> None:
    g.user = None
    if request.blueprint == "sync":
        return
    user_id = session.get("user_id")
    if user_id is None:
        return
    with database().read() as db:
        user = db.get(HubUser, user_id)
    if user is None or not user.active or session.get("pw") != user.password_hash[-16:]:
        session.clear()
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
        key = (username, request.remote_addr or "")
        throttle: LoginThrottle = current_app.extensions["login_throttle"]
        if throttle.locked(
            key,
            limit=current_app.config["LOGIN_ATTEMPTS"],
            window=current_app.config["LOGIN_LOCK_SECONDS"],
        ):
            flash(
                "Quá nhiều lần đăng nhập sai. Hãy đợi vài phút. / Too many failed attempts.",
                "error",
            )
            return render_template("login.html"), 429
        with database().read() as db:
            user = users.authenticate(db, username, password)
        if user is None:
            throttle.fail(key)
            flash("Sai tên đăng nhập hoặc mật khẩu. / Wrong user name or password.", "error")
            return render_template("login.html"), 401
        throttle.clear(key)
        session.clear()
        session["user_id"] = user.id
        session["pw"] = user.password_hash[-16:]
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
