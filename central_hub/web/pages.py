"""Hub pages: the dashboard, and how every page shows times, statuses and record types.

The pages live in three nested blueprints (endpoints ``pages.admin.*``, ``pages.dossiers.*``,
``pages.audit.*``) so that every page route is under ``pages`` and a test can list them all.
Vietnamese first: each label is a (vi, en) pair; the English goes in a smaller second line or
a title attribute.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, current_app, g, render_template
from flask.blueprints import BlueprintSetupState

from central_hub.services import gateway, health
from central_hub.web import admin, auditor, officer, portal_admin, printing, privacy
from central_hub.web.auth import login_required
from central_hub.web.context import clock, database, hub_identity
from common import lifecycle
from common.calendar import long_vn, to_vn
from common.errors import DossierError
from common.lifecycle import Status

bp = Blueprint("pages", __name__)
bp.register_blueprint(admin.bp)
bp.register_blueprint(officer.bp)
bp.register_blueprint(auditor.bp)
bp.register_blueprint(portal_admin.bp)
bp.register_blueprint(privacy.bp)
bp.register_blueprint(printing.bp)

ADMIN, OFFICER, AUDITOR = "administrator", "hub_officer", "auditor"
# (endpoint, vi, en, roles that see it)
NAV = (
    ("pages.home", "Tổng quan", "Dashboard", (ADMIN, OFFICER, AUDITOR)),
    ("pages.dossiers.queue", "Hàng chờ liên thông", "Inter-level queue", (OFFICER,)),
    ("pages.admin.nodes", "Tình trạng nút", "Node health", (ADMIN, AUDITOR)),
    ("pages.dossiers.dossier_list", "Hồ sơ các xã", "Dossiers", (ADMIN, OFFICER, AUDITOR)),
    ("pages.admin.alerts", "Cảnh báo", "Alerts", (ADMIN,)),
    ("reports.index", "Báo cáo", "Reports", (ADMIN, AUDITOR)),
    ("pages.portal.outbox", "Cổng DVCQG", "National portal", (ADMIN, AUDITOR)),
    ("pages.admin.enrol", "Cấp mã đăng ký", "Enrolment", (ADMIN,)),
    ("pages.admin.publish", "Ban hành", "Publication", (ADMIN,)),
    ("pages.admin.users", "Tài khoản", "Users", (ADMIN,)),
    ("pages.audit.audit", "Kiểm toán", "Audit", (ADMIN, AUDITOR)),
    ("pages.privacy.processing_log", "Dữ liệu cá nhân", "Personal data", (ADMIN,)),
)
ROLE_NAMES = {
    ADMIN: ("Quản trị viên", "Administrator"),
    OFFICER: ("Cán bộ xử lý liên thông", "Hub officer"),
    AUDITOR: ("Thanh tra", "Auditor"),
}
HEALTH_NAMES = {
    "quarantined": ("Bị cách ly", "Quarantined"),
    "silent": ("Mất liên lạc", "Not heard from"),
    "backlog": ("Tồn đọng", "Behind"),
    "ok": ("Bình thường", "Healthy"),
}
DEADLINE_NAMES = {
    "overdue": ("Quá hạn", "Overdue"),
    "due_soon": ("Sắp đến hạn", "Due soon"),
    "paused": ("Tạm dừng", "Paused"),
    "": ("", ""),
}
TIMELINESS = {
    "early": ("Trước hạn", "Early"),
    "on_time": ("Đúng hạn", "On time"),
    "late": ("Trễ hạn", "Late"),
}
OTHER_TYPES = {
    "catalogue.published": ("Ban hành danh mục thủ tục", "Catalogue published"),
    "calendar.published": ("Ban hành lịch làm việc", "Calendar published"),
    "key.revoked": ("Thu hồi khoá", "Key revoked"),
    "key.rotated": ("Đổi khoá", "Key rotated"),
    "checkpoint.cosigned": ("Đồng ký điểm kiểm tra", "Checkpoint cosigned"),
}
ALERT_KINDS = {
    "quarantine": ("Cách ly nút", "Node quarantined"),
    "quarantine_released": ("Gỡ cách ly", "Quarantine released"),
    "dead_letter": ("Bản ghi bị từ chối", "Dead letter"),
    "key_revoked": ("Thu hồi khoá", "Key revoked"),
    "revoked_key_used": ("Khoá đã thu hồi vẫn được dùng", "Revoked key used"),
    "replaced_key_used": ("Khoá đã thay vẫn được dùng", "Replaced key used"),
    "bad_cosignature": ("Chữ ký xác nhận không hợp lệ", "Bad cosignature"),
    "portal_message": ("Tin gửi Cổng DVCQG không hợp lệ", "Portal message not sendable"),
}
PORTAL_STATES = {
    "queued": ("Đang chờ gửi", "Queued"),
    "delivered": ("Cổng đã nhận", "Sent, accepted"),
    "refused": ("Cổng từ chối", "Refused"),
}
DATA_LABELS = {
    "reason": ("Lý do", "Reason"),
    "result": ("Kết quả", "Result"),
    "result_no": ("Số văn bản", "Document no."),
    "electronic_result": ("Kết quả điện tử", "Electronic result"),
    "amount": ("Số tiền", "Amount"),
    "missing": ("Giấy tờ còn thiếu", "Missing"),
    "due": ("Hẹn trả", "Due"),
    "new_due": ("Hẹn mới", "New due date"),
    "note": ("Ghi chú", "Note"),
}


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    user = g.get("user")
    roles = user.role_set if user is not None else frozenset()
    try:
        hub_name = hub_identity().name
    except DossierError:
        hub_name = ""
    return {
        "user": user,
        "roles": roles,
        "nav": [item for item in NAV if roles & set(item[3])],
        "hub_name": hub_name,
        "now": clock()(),
        "dossier_endpoint": "pages.dossiers.dossier",  # the printed forms' way back
    }


@bp.record_once
def _constants(state: BlueprintSetupState) -> None:
    """Label tables as Jinja globals, so imported macros see them too."""
    state.app.jinja_env.globals.update(
        ROLE_NAMES=ROLE_NAMES,
        HEALTH_NAMES=HEALTH_NAMES,
        DEADLINE_NAMES=DEADLINE_NAMES,
        ALERT_KINDS=ALERT_KINDS,
        PORTAL_STATES=PORTAL_STATES,
        TIMELINESS=TIMELINESS,
        STATUSES=[(int(s), *lifecycle.STATUS_NAMES[s]) for s in Status if s],
    )


@bp.app_template_filter("vn_time")
def vn_time(value: datetime | str | None) -> str:
    """``HH:MM dd/mm/yyyy`` in Vietnam time."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return to_vn(value).strftime("%H:%M %d/%m/%Y") if value else ""


@bp.app_template_filter("vn_long")
def vn_long(value: datetime | str | None) -> str:
    """``09 giờ 00 phút, ngày 23/11/2026``: how the printed forms write an instant."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return long_vn(value) if value else ""


@bp.app_template_filter("vn_date")
def vn_date(value: datetime | str | None) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return to_vn(value).strftime("%d/%m/%Y") if value else ""


def _parts(delta: timedelta) -> tuple[int, int, int]:
    minutes = max(int(delta.total_seconds() // 60), 0)
    return minutes // 1440, (minutes // 60) % 24, minutes % 60


@bp.app_template_filter("duration")
def duration(delta: timedelta | None, lang: str = "vi") -> str:
    """A span in words: ``2 ngày 3 giờ`` / ``2 days 3 h``; under a minute: ``dưới 1 phút``."""
    if delta is None:
        return ""
    days, hours, minutes = _parts(delta)
    vi = lang == "vi"
    if days >= 7:
        return f"{days} ngày" if vi else f"{days} days"
    if days:
        d = f"{days} ngày" if vi else f"{days} day{'s' if days > 1 else ''}"
        return f"{d} {hours} giờ" if vi and hours else (f"{d} {hours} h" if hours else d)
    if hours:
        return f"{hours} giờ {minutes} phút" if vi else f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} phút" if vi else f"{minutes} min"
    return "dưới 1 phút" if vi else "under a minute"


@bp.app_template_filter("ago")
def ago(value: datetime | None, lang: str = "vi") -> str:
    """How long ago, in words: ``3 giờ 5 phút trước`` / ``3 h 5 min ago``."""
    if value is None:
        return "chưa bao giờ" if lang == "vi" else "never"
    delta = clock()() - value
    if delta < timedelta(minutes=1):
        return "vừa xong" if lang == "vi" else "just now"
    return f"{duration(delta, lang)} trước" if lang == "vi" else f"{duration(delta, lang)} ago"


@bp.app_template_global("status_name")
def status_name(code: int) -> tuple[str, str]:
    try:
        return lifecycle.STATUS_NAMES[Status(code)]
    except ValueError:
        return str(code), str(code)


@bp.app_template_global("type_name")
def type_name(event_type: str) -> tuple[str, str]:
    action = lifecycle.ACTION_BY_EVENT.get(event_type)
    if action is not None:
        return action.vi, action.en
    return OTHER_TYPES.get(event_type, (event_type, event_type))


@bp.app_template_global("data_summary")
def data_summary(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The payload fields a reader needs at a glance: (vi label, en label, value)."""
    out = []
    for key, (vi, en) in DATA_LABELS.items():
        value = data.get(key)
        if value in (None, "", []) or value is False:
            continue
        if key in ("due", "new_due"):
            value = vn_time(str(value))
        elif key == "missing" and isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "có" if value else "không"
        elif key == "amount":
            value = f"{int(value):,}".replace(",", ".") + " đ"
        out.append((vi, en, str(value)))
    return out


@bp.app_template_filter("b64")
def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@bp.get("/")
@login_required()
def home() -> Any:
    with database().read() as session:
        board = health.dashboard(session, now=clock()())
    gateways = gateway.from_config(current_app.config)
    no_gateway = [c for c in ("sms", "email") if c not in gateways]
    return render_template("home.html", board=board, no_gateway=no_gateway)
