"""How the pages and printed forms show things: Vietnam time, statuses, actions, timeliness.

:func:`init` registers these as template filters and globals on the ``pages`` blueprint
(app-wide, so the printing blueprint's templates see them too).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from common import lifecycle
from common.calendar import VN_TZ, classify, long_vn
from common.lifecycle import Channel, Status
from common_web.i18n import pick
from commune_node.web.context import current_officer, node_identity

TIMELINESS = {
    "early": ("Trước hạn", "Early"),
    "on_time": ("Đúng hạn", "On time"),
    "late": ("Trễ hạn", "Late"),
}
CHANNELS = {
    Channel.IN_PERSON: ("Trực tiếp", "In person"),
    Channel.ONLINE: ("Trực tuyến", "Online"),
    Channel.POST: ("Bưu chính công ích", "Public postal service"),
}
NOTIFY = {
    "sms": _l("SMS"),
    "zalo": _l("Zalo"),
    "email": _l("E-mail"),
    "none": _l("No notification"),
}
ROLES = {"receiver": _l("Receiving officer"), "leader": _l("Leader"), "admin": _l("Node admin")}


def vn(value: datetime) -> datetime:
    return value.astimezone(VN_TZ)


def vn_time(value: datetime | str | None) -> str:
    """``HH:MM dd/mm/yyyy`` in Vietnam time (an ISO string from a payload is accepted)."""
    when = parse_time(value) if isinstance(value, str) else value
    return vn(when).strftime("%H:%M %d/%m/%Y") if when else ""


def vn_long(value: datetime | str | None) -> str:
    """``09 giờ 00 phút, ngày 23/11/2026``: how the printed forms write an instant."""
    when = parse_time(value) if isinstance(value, str) else value
    return long_vn(when) if when else ""


def vn_date(value: datetime | date | str | None) -> str:
    if isinstance(value, str):
        value = parse_time(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = vn(value).date()
    return value.strftime("%d/%m/%Y")


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def status_label(code: int) -> str:
    vi, en = lifecycle.STATUS_NAMES[Status(code)]
    return pick(vi, en)


def status_vi(code: int) -> str:
    return lifecycle.STATUS_NAMES[Status(code)][0]


def event_label(event_type: str) -> str:
    action = lifecycle.ACTION_BY_EVENT.get(event_type)
    return pick(action.vi, action.en) if action else event_type


def channel_label(code: int) -> str:
    vi, en = CHANNELS.get(Channel(code), ("", ""))
    return pick(vi, en)


def timeliness(end: datetime | None, due: datetime | None) -> str | None:
    """``early``, ``on_time`` or ``late`` (``common.calendar.classify``); None if either
    instant is unknown."""
    if end is None or due is None:
        return None
    return classify(end, due)


def timeliness_label(kind: str | None, *, vi_only: bool = False) -> str:
    if kind is None or kind not in TIMELINESS:
        return ""
    vi, en = TIMELINESS[kind]
    return vi if vi_only else pick(vi, en)


def init(bp: Blueprint) -> None:
    filters: dict[str, Callable[..., Any]] = {
        "skew_text": skew_text,
        "vn_time": vn_time,
        "vn_date": vn_date,
        "vn_long": vn_long,
        "status_label": status_label,
        "status_vi": status_vi,
        "event_label": event_label,
        "channel_label": channel_label,
        "timeliness_label": timeliness_label,
    }
    for name, fn in filters.items():
        bp.add_app_template_filter(fn, name)

    @bp.app_context_processor
    def _globals() -> dict[str, Any]:
        return {
            "officer": current_officer(),
            "dossier_endpoint": "pages.dossier_page",  # the printed forms' way back
            "node": node_identity,
            "ROLES": ROLES,
            "clock_skew": _clock_skew(),
            "hub_offline": _hub_offline(),
        }


def skew_text(seconds: int, vi: bool) -> str:
    """``3 days``, ``2 hours``, ``7 minutes`` (or in Vietnamese), ahead or behind."""
    n = abs(seconds)
    units = ((86400, "days", "ngày"), (3600, "hours", "giờ"), (60, "minutes", "phút"))
    size, en, vn = next((u for u in units if n >= u[0]), (1, "seconds", "giây"))
    amount = n // size
    if vi:
        return f"{amount} {vn} ({'chậm' if seconds > 0 else 'nhanh'} hơn)"
    return f"{amount} {en} ({'behind' if seconds > 0 else 'ahead'})"


def _clock_skew() -> int:
    """How far this computer's clock is from the hub's, in seconds, when every page must
    warn about it (0: no warning)."""
    from flask import current_app

    from commune_node.services import deskclock

    clock = current_app.extensions.get("clock")
    offset = clock.offset() if isinstance(clock, deskclock.DeskClock) else 0
    return offset if abs(offset) > deskclock.WARN else 0


def _hub_offline() -> dict[str, Any] | None:
    """While the last sync could not reach the hub: since when it last could (``since``,
    None if never) — every page shows the banner; the sync page says the rest."""
    import json
    from datetime import datetime

    from flask import request

    from commune_node.db import read_session
    from commune_node.services.identity import get_setting

    if request.endpoint in (None, "static") or current_officer() is None:
        return None
    with read_session() as db:
        error = json.loads(get_setting(db, "last_error") or "null") or {}
        if error.get("code") != "no_link":
            return None
        last_ok = get_setting(db, "last_sync_ok") or ""
    return {"since": datetime.fromisoformat(last_ok) if last_ok else None}
