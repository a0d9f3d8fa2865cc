"""Hub users and roles: administrator, hub officer (inter-level dossiers), auditor."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_hub.models import HubUser
from central_hub.services.identity import Clock
from common.errors import ErrorList
from common_io import accounts

HUB_ROLES = ("administrator", "hub_officer", "auditor")
_USERNAME = re.compile(r"[a-z0-9_.]{3,32}\Z")


def create_user(
    session: Session,
    *,
    username: str,
    full_name: str,
    roles: list[str],
    password: str,
    clock: Clock,
) -> HubUser:
    errors = ErrorList()
    if not _USERNAME.match(username):
        errors.add("username", "bad_username", "Tên đăng nhập không hợp lệ.", "Bad user name.")
    elif session.scalar(select(HubUser).where(HubUser.username == username)):
        errors.add("username", "taken", "Tên đăng nhập đã có.", "The user name is taken.")
    if not full_name.strip():
        errors.add("full_name", "required", "Thiếu họ tên.", "The full name is required.")
    elif len(full_name) > 100:
        errors.add("full_name", "too_long", "Tối đa 100 ký tự.", "At most 100 characters.")
    if not roles or any(r not in HUB_ROLES for r in roles):
        errors.add(
            "roles", "bad_role", "Vai trò không hợp lệ.", f"Roles must be among {HUB_ROLES}."
        )
    accounts.check_new_password(errors, password)
    errors.raise_if_any()
    user = HubUser(
        username=username,
        full_name=full_name.strip(),
        roles=",".join(sorted(set(roles))),
        password_hash=accounts.hash_password(password),
        created_at=clock(),
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> HubUser | None:
    user = session.scalar(select(HubUser).where(HubUser.username == username))
    return user if accounts.password_matches(user, password) else None


def by_username(session: Session, username: str) -> HubUser | None:
    return session.scalar(select(HubUser).where(HubUser.username == username))
