"""Hub users and roles: administrator, hub officer (inter-level dossiers), auditor."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_hub.models import HubUser
from central_hub.services.identity import Clock
from common_io import accounts

HUB_ROLES = ("administrator", "hub_officer", "auditor")


def create_user(
    session: Session,
    *,
    username: str,
    full_name: str,
    roles: list[str],
    password: str,
    clock: Clock,
) -> HubUser:
    """A hub user, by the account rules both apps keep (``common_io/accounts.py``)."""
    user: HubUser = accounts.new_account(
        session, HubUser, username=username, full_name=full_name, roles=roles,
        allowed=HUB_ROLES, password=password, clock=clock,
    )  # fmt: skip
    return user


def authenticate(session: Session, username: str, password: str) -> HubUser | None:
    user = session.scalar(select(HubUser).where(HubUser.username == username))
    return user if accounts.password_matches(user, password) else None


def by_username(session: Session, username: str) -> HubUser | None:
    return session.scalar(select(HubUser).where(HubUser.username == username))
