"""Passwords and the end of an account's sessions: one set of rules for the node's officers
and the hub's users (both rows have ``id``, ``password_hash`` and ``active``).

Changing a password, resetting it and deactivating an account end the account's
server-side sessions (:mod:`common_io.web_sessions`) in the same transaction, so a copied
cookie stops working the moment the change commits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Table, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from common.errors import ErrorList
from common_io import web_sessions

MIN_PASSWORD = 10
MAX_PASSWORD = 200  # the log-in form reads no more than this
USERNAME = re.compile(r"[a-z0-9_.]{3,32}\Z")
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class Account(Protocol):
    id: int
    password_hash: str
    active: bool


def check_new_password(errors: ErrorList, password: str, *, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        errors.add(
            field,
            "too_short",
            f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự.",
            f"The password needs at least {MIN_PASSWORD} characters.",
        )
    elif len(password) > MAX_PASSWORD:
        errors.add(
            field,
            "too_long",
            f"Mật khẩu dài tối đa {MAX_PASSWORD} ký tự.",
            f"The password has at most {MAX_PASSWORD} characters.",
        )


def new_account(
    session: Session,
    model: type[Any],
    *,
    username: str,
    full_name: str,
    roles: list[str],
    allowed: tuple[str, ...],
    password: str,
    clock: Callable[[], datetime],
) -> Any:
    """A new officer (node) or user (hub), added to the session after the rules both apps
    keep: a user name of 3–32 lowercase letters, digits, dots or underscores not yet taken,
    a full name, roles among ``allowed``, a password by :func:`check_new_password`."""
    errors = ErrorList()
    if not USERNAME.match(username):
        errors.add(
            "username",
            "bad_username",
            "Tên đăng nhập gồm 3–32 chữ thường không dấu, số, dấu chấm hoặc gạch dưới.",
            "The user name is 3–32 lowercase letters, digits, dots or underscores.",
        )
    elif session.scalar(select(model).where(model.username == username)):
        errors.add("username", "taken", "Tên đăng nhập đã có.", "The user name is taken.")
    if not full_name.strip():
        errors.add("full_name", "required", "Cần họ tên.", "The full name is required.")
    elif len(full_name) > 100:
        errors.add("full_name", "too_long", "Tối đa 100 ký tự.", "At most 100 characters.")
    if not roles or any(r not in allowed for r in roles):
        names = ", ".join(allowed[:-1])
        errors.add(
            "roles",
            "bad_role",
            f"Vai trò phải là {names} hoặc {allowed[-1]}.",
            f"Roles must be {names} or {allowed[-1]}.",
        )
    check_new_password(errors, password)
    errors.raise_if_any()
    account = model(
        username=username,
        full_name=full_name.strip(),
        roles=",".join(sorted(set(roles))),
        password_hash=hash_password(password),
        created_at=clock(),
    )
    session.add(account)
    session.flush()
    return account


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def password_set(session: Session, account: Account, password: str) -> None:
    """Tell the database's owner that ``account`` now has ``password`` (a commune node
    wraps its data key for it, :mod:`commune_node.vault`); nothing when no one listens."""
    listener = session.info.get("password_set")
    if listener is not None:
        listener(account, password)


def password_matches(account: Account | None, password: str) -> bool:
    """True when ``account`` is active and ``password`` is its password; spends the same time
    when there is no such account, so user names cannot be probed by timing."""
    if account is None or not account.active:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(account.password_hash, password)


def change_password(
    session: Session,
    sessions: Table,
    account: Account,
    *,
    current: str,
    new: str,
    confirm: str,
    keep: str | None,
) -> None:
    """The account holder's own change: the current password must match; every other
    session of the account ends (``keep`` is the id of the one asking)."""
    errors = ErrorList()
    if not check_password_hash(account.password_hash, current):
        errors.add(
            "current_password",
            "wrong_password",
            "Mật khẩu hiện tại không đúng.",
            "The current password is wrong.",
        )
    check_new_password(errors, new, field="new_password")
    if new != confirm:
        errors.add(
            "confirm_password",
            "mismatch",
            "Hai lần nhập mật khẩu mới không khớp.",
            "The two new passwords differ.",
        )
    errors.raise_if_any()
    account.password_hash = hash_password(new)
    password_set(session, account, new)
    web_sessions.end_all(session, sessions, account.id, keep=keep)


def change_password_from_form(
    session: Session,
    sessions: Table,
    account: Account,
    form: Mapping[str, str],
    *,
    keep: str | None,
) -> None:
    """:func:`change_password` with the fields of the "Change password" page."""
    change_password(
        session,
        sessions,
        account,
        current=form.get("current_password", "")[:MAX_PASSWORD],
        new=form.get("new_password", "")[:1000],
        confirm=form.get("confirm_password", "")[:1000],
        keep=keep,
    )


def reset_password(session: Session, sessions: Table, account: Account, new: str) -> int:
    """An administrator sets a new password; every session of the account ends. Returns how
    many sessions ended."""
    errors = ErrorList()
    check_new_password(errors, new)
    errors.raise_if_any()
    account.password_hash = hash_password(new)
    password_set(session, account, new)
    return web_sessions.end_all(session, sessions, account.id)


def deactivate(session: Session, sessions: Table, account: Account) -> int:
    """The account can no longer log in, and every session of it ends now. Returns how many
    sessions ended."""
    account.active = False
    listener = session.info.get("deactivated")
    if listener is not None:
        listener(account)
    return web_sessions.end_all(session, sessions, account.id)


def activate(account: Account) -> None:
    """A deactivated account may log in again (with its password; no session comes back)."""
    account.active = True


# What an administrator may do to an account from the accounts page of either app.
ADMIN_ACTIONS = ("deactivate", "activate", "reset-password")


def admin_action(
    session: Session,
    sessions: Table,
    account: Account,
    *,
    action: str,
    form: Mapping[str, str],
    acting_id: int,
) -> tuple[str, str]:
    """One administrator's action from the accounts page, confirmed by its form's
    ``confirm`` box: ``deactivate`` (not oneself), ``activate`` or ``reset-password``
    (``new_password`` and ``confirm_password``). Returns what was done (vi, en); raises
    :class:`ValidationError` (under the form's field names) when it was not."""
    if action not in ADMIN_ACTIONS:
        raise ValueError(action)
    errors = ErrorList()
    if form.get("confirm") != "yes":
        errors.add(
            "confirm",
            "not_confirmed",
            "Hãy đánh dấu ô xác nhận rồi bấm lại.",
            "Tick the confirmation box, then press again.",
        )
    if action == "deactivate" and account.id == acting_id:
        errors.add(
            "confirm",
            "own_account",
            "Không thể tự khoá tài khoản đang dùng; nhờ một quản trị viên khác.",
            "You cannot deactivate the account you are using; ask another administrator.",
        )
    new = form.get("new_password", "")[:1000]
    if action == "reset-password":
        check_new_password(errors, new, field="new_password")
        if new != form.get("confirm_password", "")[:1000]:
            errors.add(
                "confirm_password",
                "mismatch",
                "Hai lần nhập mật khẩu mới không khớp.",
                "The two new passwords differ.",
            )
    errors.raise_if_any()
    if action == "deactivate":
        ended = deactivate(session, sessions, account)
        return (
            f"Đã khoá tài khoản; {ended} phiên đăng nhập đã kết thúc.",
            f"Account deactivated; {ended} session(s) ended.",
        )
    if action == "activate":
        activate(account)
        return ("Đã mở lại tài khoản.", "Account active again.")
    ended = reset_password(session, sessions, account, new)
    return (
        f"Đã đặt mật khẩu mới; {ended} phiên đăng nhập đã kết thúc. Hãy báo mật khẩu cho "
        "người dùng trực tiếp.",
        f"New password set; {ended} session(s) ended. Give it to the user in person.",
    )
