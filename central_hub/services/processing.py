"""The hub officer's work on forwarded (liên thông) dossiers: the same rules as the desk,
on the hub side. Each action is a hub record addressed to the dossier's commune."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_hub.models import HubDossier, HubUser
from central_hub.services import feed
from central_hub.services.identity import Clock, HubIdentity
from common import lifecycle, record
from common.calendar import CLOSE, VN_TZ, WorkingCalendar, apology_timing
from common.errors import ErrorList, NotFound
from common.lifecycle import Role, Side

HUB_ACTIONS = (
    "processing",
    "supplement_requested",
    "payment_requested",
    "resolved",
    "stopped",
    "apologised",
)


def recipients(session: Session, *, username: str | None = None) -> list[HubUser]:
    """The active hub officers a forwarded dossier can be handed to ("Chuyển xử lý")."""
    stmt = select(HubUser).where(HubUser.active.is_(True)).order_by(HubUser.full_name)
    if username is not None:
        stmt = stmt.where(HubUser.username == username)
    return [u for u in session.scalars(stmt) if "hub_officer" in u.role_set]


def act(
    session: Session,
    code: str,
    action: str,
    form: dict[str, Any],
    *,
    hub: HubIdentity,
    clock: Clock,
    actor: str,
    calendar: WorkingCalendar,
) -> record.Record:
    row = session.get(HubDossier, code)
    if row is None:
        raise NotFound(f"no dossier {code} at the hub", vi=f"Cấp trên không có hồ sơ {code}")
    state = lifecycle.state_from_dict(row.state)
    now = clock()
    lifecycle.check(state, action, side=Side.HUB, roles=frozenset({Role.HUB_OFFICER}), now=now)
    data: dict[str, Any] = {k: v for k, v in form.items() if v not in ("", None)}
    errors = ErrorList()
    if action == "apologised":
        new_day: date = form["new_due"]
        if not calendar.is_working_day(new_day):
            errors.add(
                "new_due",
                "not_working_day",
                "Ngày hẹn mới phải là ngày làm việc.",
                "The new appointment must be on a working day.",
            )
        data["new_due"] = datetime.combine(new_day, CLOSE, tzinfo=VN_TZ).isoformat()
        data["old_due"] = state.due_at.isoformat() if state.due_at else None
        if state.due_at is not None and apology_timing(calendar, state.due_at, now) == "late":
            data["late"] = True  # after the last day, or past the due date: issued late
    if action == "processing" and data.get("recipient"):
        to = recipients(session, username=str(data["recipient"]))
        if not to:
            errors.add(
                "recipient",
                "not_an_officer",
                "Người nhận phải là cán bộ xử lý đang hoạt động của cấp trên.",
                "The recipient must be an active hub officer.",
            )
        else:
            data["recipient_name"] = to[0].full_name  # the commune knows no hub user names
    errors.raise_if_any()
    # The commune shows who acted by name: its officers know no hub user names.
    name = session.scalar(select(HubUser.full_name).where(HubUser.username == actor))
    if name:
        data["actor_name"] = name
    lifecycle.check(
        state, action, side=Side.HUB, roles=frozenset({Role.HUB_OFFICER}), now=now, data=data
    )
    return feed.publish(
        session,
        hub=hub,
        clock=clock,
        type=f"dossier.{action}",
        data=data,
        audience=row.node_id,
        actor=actor,
        dossier=code,
    )
