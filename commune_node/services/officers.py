"""Officers, their roles, passwords and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.lifecycle import Role
from common_io import accounts
from commune_node.models import ApiToken, Officer
from commune_node.services.identity import Clock

NODE_ROLES = (Role.RECEIVER, Role.LEADER, Role.ADMIN)


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
    """An officer, by the account rules both apps keep (``common_io/accounts.py``)."""
    allowed = tuple(str(r.value) for r in NODE_ROLES)
    officer: Officer = accounts.new_account(
        session, Officer, username=username, full_name=full_name, roles=roles,
        allowed=allowed, password=password, clock=clock,
    )  # fmt: skip
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
