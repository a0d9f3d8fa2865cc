"""Officers, their roles, passwords and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.errors import ErrorList
from common.lifecycle import Role
from common_io import accounts
from commune_node.models import ApiToken, Officer
from commune_node.services.identity import Clock

NODE_ROLES = (Role.RECEIVER, Role.LEADER, Role.ADMIN)
_USERNAME = re.compile(r"[a-z0-9_.]{3,32}\Z")


@dataclass(frozen=True)
class Actor:
    """The officer taking an action: user name (goes into the record) and roles."""

    username: str
    full_name: str
    roles: frozenset[Role]


def create_officer(
    session: Session,
    *,
    username: str,
    full_name: str,
    roles: list[str],
    password: str,
    clock: Clock,
) -> Officer:
    errors = ErrorList()
    if not _USERNAME.match(username):
        errors.add(
            "username",
            "bad_username",
            "Tên đăng nhập gồm 3–32 chữ thường không dấu, số, dấu chấm hoặc gạch dưới.",
            "The user name is 3–32 lowercase letters, digits, dots or underscores.",
        )
    elif session.scalar(select(Officer).where(Officer.username == username)):
        errors.add("username", "taken", "Tên đăng nhập đã có.", "The user name is taken.")
    if not full_name.strip():
        errors.add("full_name", "required", "Cần họ tên.", "The full name is required.")
    bad = [r for r in roles if r not in {x.value for x in NODE_ROLES}]
    if bad or not roles:
        errors.add(
            "roles",
            "bad_role",
            "Vai trò phải là receiver, leader hoặc admin.",
            "Roles must be receiver, leader or admin.",
        )
    accounts.check_new_password(errors, password)
    errors.raise_if_any()
    officer = Officer(
        username=username,
        full_name=full_name.strip(),
        roles=",".join(sorted(set(roles))),
        password_hash=accounts.hash_password(password),
        created_at=clock(),
    )
    session.add(officer)
    session.flush()
    accounts.password_set(session, officer, password)
    return officer


def authenticate(session: Session, username: str, password: str) -> Officer | None:
    officer = by_username(session, username)
    return officer if accounts.password_matches(officer, password) else None


def by_username(session: Session, username: str) -> Officer | None:
    return session.scalar(select(Officer).where(Officer.username == username))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, officer: Officer, *, label: str, clock: Clock) -> str:
    """A new bearer token; only its hash is kept, so it is shown once."""
    token = "dn_" + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            officer_id=officer.id, token_hash=_token_hash(token), label=label, created_at=clock()
        )
    )
    return token


def officer_for_token(session: Session, token: str) -> Officer | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None or row.revoked or not row.officer.active:
        return None
    return row.officer


def actor_of(officer: Officer) -> Actor:
    return Actor(
        username=officer.username,
        full_name=officer.full_name,
        roles=frozenset(Role(r) for r in officer.role_set),
    )
