"""Log-in for the pages of both apps: server-side sessions, CSRF, answer headers, role
checks, the log-in, log-out, own-password and language routes (blueprint ``auth``).

The defences are ``common_io``'s: the session store (``web_sessions``), the guess limits
(``throttle``), where ``?next=`` may lead (``redirects``), the answer headers
(``page_headers``) and the password rules (``accounts``). What differs between the apps is an
:class:`Accounts`: the account table and its name in ``g`` (the hub's ``user``, the desk's
``officer``), the blueprint whose requests the cookie never authenticates (the hub's sync
API, the desk's bearer-token API), and the desk's lock (its first log-in after a start opens
the encrypted database)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
from sqlalchemy import Table
from sqlalchemy.orm import Session

from common.errors import ValidationError
from common_io import accounts, page_headers, throttle, web_sessions
from common_io.redirects import local_target
from common_web.context import database
from common_web.i18n import LANGUAGES, errors_by_field, pick

F = TypeVar("F", bound=Callable[..., Any])
EXTENSION = "common_web.accounts"

WRONG = ("Sai tên đăng nhập hoặc mật khẩu.", "Wrong user name or password.")
TOO_MANY = (
    "Đăng nhập sai quá nhiều lần. Hãy chờ vài phút rồi thử lại.",
    "Too many failed attempts. Wait a few minutes and try again.",
)
CHANGED = (
    "Đã đổi mật khẩu. Các phiên đăng nhập khác của bạn đã kết thúc.",
    "Password changed. Your other sessions have ended.",
)


def _always() -> bool:
    return True


def _unlocked(username: str, password: str) -> bool:
    return True


def _nothing(username: str, password: str) -> None:
    return None


@dataclass(frozen=True)
class Accounts:
    """One app's accounts, as the shared log-in sees them."""

    model: type[Any]  # the account table's class: HubUser, Officer (with ``active``, ``role_set``)
    g_name: str  # where the logged-in account is kept in ``g`` and shown to templates
    authenticate: Callable[[Session, str, str], Any]  # the account, or None
    web_session: Table
    login_attempt: Table
    machine_blueprint: str  # its requests are never authenticated by the cookie
    ready: Callable[[], bool] = _always  # False: accounts cannot be read yet (the desk locked)
    # before the password is checked: False when it cannot open what it must (the desk's key)
    unlock: Callable[[str, str], bool] = _unlocked
    after_login: Callable[[str, str], None] = _nothing


def _accounts() -> Accounts:
    acc: Accounts = current_app.extensions[EXTENSION]
    return acc


def current_account() -> Any:
    return g.get(_accounts().g_name)


def init_app(app: Flask, acc: Accounts, csrf: CSRFProtect) -> None:
    """``csrf`` is the app's own (each app exempts its machine blueprints on it)."""
    app.extensions[EXTENSION] = acc
    csrf.init_app(app)
    page_headers.init_app(app)
    web_sessions.init_app(app, acc.web_session)
    throttle.init_app(app, acc.login_attempt)
    app.before_request(_load_account)


def _load_account() -> None:
    acc = _accounts()
    setattr(g, acc.g_name, None)
    if not acc.ready() or request.blueprint == acc.machine_blueprint:
        return  # a machine route authenticates with its own credentials, never with the cookie
    account_id = web_sessions.current_user_id()
    if account_id is None:
        return
    with database().read() as db:
        account = db.get(acc.model, account_id)
    if account is None or not account.active:
        web_sessions.log_out()
        return
    setattr(g, acc.g_name, account)


def login_required(*roles: str) -> Callable[[F], F]:
    """Page guard: anonymous → log-in page; logged in without one of the roles → 403."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            account = current_account()
            if account is None:
                return redirect(url_for("auth.login", next=request.path))
            if roles and not (account.role_set & set(roles)):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        return render_template("login.html")
    acc = _accounts()
    username = request.form.get("username", "").strip().lower()[:64]
    password = request.form.get("password", "")[:200]
    if not acc.unlock(username, password):
        flash(pick(*WRONG), "error")
        return render_template("login.html"), 401
    if not throttle.login_allowed(username):
        flash(pick(*TOO_MANY), "error")
        return render_template("login.html"), 429
    with database().read() as db:
        account = acc.authenticate(db, username, password)
    if account is None:
        flash(pick(*WRONG), "error")
        return render_template("login.html"), 401
    throttle.login_succeeded(username)
    acc.after_login(username, password)
    web_sessions.log_in(account.id)
    return redirect(local_target(request.args.get("next"), url_for("pages.home")))


@bp.post("/logout")
def logout() -> Any:
    web_sessions.log_out()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required()
def change_password() -> Any:
    """The logged-in account's own password; every other session of theirs ends."""
    if request.method == "GET":
        return render_template("password.html", errors={})
    acc = _accounts()
    try:
        with database().write() as db:
            account = db.get(acc.model, current_account().id)
            assert account is not None
            keep = web_sessions.current_token()
            form = request.form
            accounts.change_password_from_form(db, acc.web_session, account, form, keep=keep)
    except ValidationError as exc:
        return render_template("password.html", errors=errors_by_field(exc.problems)), 400
    flash(pick(*CHANGED), "success")
    return redirect(url_for("pages.home"))


@bp.post("/language/<lang>")
def set_language(lang: str) -> Any:
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(local_target(request.form.get("next"), url_for("pages.home")))
