"""Per-app collaborators for views: identity, clock, calendar, current officer."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, g
from sqlalchemy.orm import Session

from common.calendar import CalendarOverrides, WorkingCalendar
from common_web import context as shared
from commune_node.db import read_session
from commune_node.models import Officer
from commune_node.services import identity as identity_service
from commune_node.services.identity import NodeIdentity
from commune_node.services.officers import Actor, actor_of

clock = shared.clock


def node_identity(session: Session | None = None) -> NodeIdentity:
    """The node's identity with its current key. The setting ``key_id`` is read on every
    call, so a rotation made by another process (``commune-node rotate-key`` while this one
    serves) is picked up at once; the key file is read again only when it changed.

    A view that signs records passes its write session: the setting is then read under the
    write lock, so no rotation can commit between reading the key and signing with it."""
    if session is not None:
        return _identity_in(session)
    with read_session() as own:
        return _identity_in(own)


def _identity_in(session: Session) -> NodeIdentity:
    ident: NodeIdentity | None = current_app.extensions.get("identity")
    current = identity_service.current_key_id(session)
    node_id = identity_service.get_setting(session, "node_id")
    if (
        ident is None
        or (current is not None and current != ident.key_id)
        or node_id != ident.node_id  # a replacement laptop took the commune's node id
    ):
        ident = identity_service.load_identity(session, Path(current_app.instance_path))
        current_app.extensions["identity"] = ident
    return ident


def calendar() -> WorkingCalendar:
    """The working-day calendar with the overrides this node last received (cached)."""
    with read_session() as session:
        raw = identity_service.get_setting(session, "calendar_overrides", "")
    cached = current_app.extensions.get("calendar")
    if cached is not None and cached[0] == raw:
        cal: WorkingCalendar = cached[1]
        return cal
    overrides = CalendarOverrides.from_dict(_json(raw)) if raw else default_overrides()
    cal = WorkingCalendar(overrides)
    current_app.extensions["calendar"] = (raw, cal)
    return cal


def default_overrides() -> CalendarOverrides:
    from common import calendar_data

    return calendar_data.SAMPLE_OVERRIDES


def _json(raw: str) -> dict[str, list[str]]:
    import json

    value: dict[str, list[str]] = json.loads(raw)
    return value


def current_officer() -> Officer | None:
    officer: Officer | None = g.get("officer")
    return officer


def current_actor() -> Actor:
    officer = current_officer()
    assert officer is not None, "views that act require a logged-in officer"
    return actor_of(officer)
