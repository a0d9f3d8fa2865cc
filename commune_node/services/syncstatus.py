"""What the node shows about its link with the hub, in words an official understands:
connected or not, last successful sync, records waiting and the age of the oldest, the last
error with what to do, dead letters and alarms."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import keys
from commune_node.models import Alarm, DamagedRecord, DeadLetter
from commune_node.services.backlog import acked_seq, queue_report
from commune_node.services.identity import get_setting

# error code → (Vietnamese, English): what happened and what to do.
ADVICE: dict[str, tuple[str, str]] = {
    "no_link": (
        "Không kết nối được tới máy chủ cấp trên. Hồ sơ vẫn được lưu an toàn trên máy này và sẽ "
        "tự động gửi khi có mạng; không cần làm gì thêm.",
        "The hub cannot be reached. Records are safe on this computer and will be sent by "
        "themselves when a link appears; nothing to do.",
    ),
    "hub_busy": (
        "Máy chủ cấp trên đang bận vì nhiều xã gửi cùng lúc. Nút sẽ tự gửi lại sau thời gian cấp "
        "trên hẹn; hồ sơ vẫn được lưu an toàn trên máy này, không cần làm gì thêm.",
        "The hub is busy with many communes at once. The node sends again by itself after the "
        "time the hub asked for; records are safe on this computer; nothing to do.",
    ),
    "not_enrolled": (
        "Máy này chưa được đăng ký với cấp trên. Xin mã đăng ký từ quản trị viên cấp trên rồi chạy "
        "lệnh commune-node enrol.",
        "This computer is not enrolled with the hub. Ask the hub administrator for an enrolment "
        "code and run commune-node enrol.",
    ),
    "stale_timestamp": (
        "Đồng hồ của máy lệch quá xa so với máy chủ cấp trên. Hãy chỉnh lại ngày giờ của máy.",
        "This computer's clock is far off the hub's. Set the date and time of this computer.",
    ),
    "key_revoked": (
        "Cấp trên đã thu hồi khoá của máy này. Hồ sơ vẫn được lưu; liên hệ quản trị viên cấp trên "
        "để đăng ký lại máy.",
        "The hub revoked this computer's key. Records are kept; contact the hub administrator to "
        "enrol this computer again.",
    ),
    "node_quarantined": (
        "Cấp trên đã tạm dừng nhận dữ liệu từ máy này vì phát hiện hai bản ghi khác nhau cùng số "
        "thứ tự (có thể do khôi phục bản sao lưu cũ). Không nhập lại dữ liệu; liên hệ quản trị "
        "viên cấp trên.",
        "The hub stopped accepting records from this computer: it found two different records "
        "with the same number (perhaps an old backup was restored). Do not re-enter anything; "
        "contact the hub administrator.",
    ),
    "unknown_node": (
        "Cấp trên không nhận ra máy này. Liên hệ quản trị viên cấp trên.",
        "The hub does not know this computer. Contact the hub administrator.",
    ),
    "node_replaced": (
        "Máy này đã bị thay bằng máy mới cho xã (cấp trên đã thu hồi khoá của máy). Máy không "
        "còn đồng bộ được; hồ sơ nhập trên máy này sau khi bị thay không được cấp trên nhận. "
        "Hãy giao máy cho cán bộ CNTT và dùng máy mới.",
        "This computer was replaced by a new one for the commune (the hub revoked its keys). It "
        "can no longer sync; dossiers entered here after the replacement are not accepted. Give "
        "it to the IT officer and use the new computer.",
    ),
    "hub_mismatch": (
        "Dữ liệu tại cấp trên không khớp với máy này. Đồng bộ đã dừng để bảo vệ dữ liệu; liên hệ "
        "quản trị viên cấp trên.",
        "The hub's copy does not match this computer. Sync stopped to protect the data; contact "
        "the hub administrator.",
    ),
    "bad_proof": (
        "Bằng chứng nhật ký của cấp trên không khớp với bản đã xác nhận trước đây (có thể cấp trên "
        "đã khôi phục dữ liệu cũ). Đồng bộ đã dừng; hồ sơ vẫn được lưu trên máy này. Báo ngay quản "
        "trị viên cấp trên và thanh tra.",
        "The hub's log no longer matches what this computer confirmed before (perhaps the hub "
        "was restored from an old backup). Sync stopped; records are safe on this computer. Tell "
        "the hub administrator and the inspectorate at once.",
    ),
    "log_recovering": (
        "Cấp trên vừa khôi phục dữ liệu từ bản sao lưu và đang dựng lại nhật ký từ dữ liệu các "
        "xã gửi lại. Hồ sơ của xã được lưu an toàn trên máy này và sẽ tự gửi khi xong; không "
        "cần làm gì thêm.",
        "The hub was restored from a backup and is rebuilding its log from what the communes "
        "give back. Records are safe on this computer and will be sent by themselves when it "
        "is done; nothing to do.",
    ),
    "equivocation": (
        "Cấp trên nhận được hai bản ghi khác nhau cùng số thứ tự từ máy này và đã tạm dừng nhận "
        "dữ liệu. Không nhập lại dữ liệu; liên hệ quản trị viên cấp trên.",
        "The hub received two different records with the same number from this computer and "
        "stopped accepting its records. Do not re-enter anything; contact the hub administrator.",
    ),
    "unknown_key": (
        "Cấp trên không nhận ra khoá của máy này. Liên hệ quản trị viên cấp trên để đăng ký lại.",
        "The hub does not know this computer's key. Contact the hub administrator to enrol again.",
    ),
    "bad_receipt": (
        "Biên nhận của cấp trên không khớp với dữ liệu của máy. Liên hệ quản trị viên cấp trên.",
        "The hub's receipt does not match this computer's records. Contact the hub administrator.",
    ),
}


@dataclass(frozen=True)
class SyncStatus:
    enrolled: bool
    hub_name: str
    connected: bool
    last_ok: datetime | None
    waiting: int
    oldest: datetime | None
    acked_seq: int
    error_code: str | None
    error_vi: str | None
    error_en: str | None
    clock_offset: int
    hub_key: str
    hub_fingerprint: str
    dead: list[DeadLetter]
    alarms: list[Alarm]
    damaged: list[DamagedRecord] = field(default_factory=list)  # found damaged on disk
    restored: bool = False  # put back from a backup, not yet reconciled with the hub

    def oldest_age(self, now: datetime) -> timedelta | None:
        return now - self.oldest if self.oldest else None


ADVICE["fork"] = ADVICE["equivocation"]


def _refused_advice(error: dict[str, str]) -> tuple[str, str]:
    """A refusal without its own advice: the hub's words, then what to do."""
    return (
        f"Cấp trên từ chối đồng bộ: {error.get('vi') or error.get('code')}. Hồ sơ vẫn được lưu "
        "trên máy này; nếu lỗi lặp lại, liên hệ quản trị viên cấp trên.",
        f"The hub refused the sync: {error.get('en') or error.get('code')}. Records are safe on "
        "this computer; if this keeps happening, contact the hub administrator.",
    )


def status(session: Session, *, now: datetime, interval: int) -> SyncStatus:
    last_ok_raw = get_setting(session, "last_sync_ok") or ""
    last_ok = datetime.fromisoformat(last_ok_raw) if last_ok_raw else None
    error = json.loads(get_setting(session, "last_error") or "null") or {}
    code = error.get("code")
    vi, en = ADVICE.get(code, _refused_advice(error)) if code else (None, None)
    if not get_setting(session, "hub_id"):
        code, (vi, en) = "not_enrolled", ADVICE["not_enrolled"]
    waiting, oldest = queue_report(session)
    public = get_setting(session, "hub_public_key") or ""
    connected = bool(last_ok and not code and now - last_ok <= timedelta(seconds=3 * interval))
    return SyncStatus(
        enrolled=bool(get_setting(session, "hub_id")),
        hub_name=get_setting(session, "hub_name") or "",
        connected=connected,
        last_ok=last_ok,
        waiting=waiting,
        oldest=oldest,
        acked_seq=acked_seq(session),
        error_code=code,
        error_vi=vi,
        error_en=en,
        clock_offset=int(get_setting(session, "clock_offset", "0") or 0),
        hub_key=public,
        hub_fingerprint=keys.fingerprint(bytes.fromhex(public)) if public else "",
        dead=list(session.scalars(select(DeadLetter).order_by(DeadLetter.seq.desc()).limit(50))),
        alarms=list(
            session.scalars(
                select(Alarm)
                .where(Alarm.acknowledged.is_(False))
                .order_by(Alarm.id.desc())
                .limit(50)
            )
        ),
        damaged=list(
            session.scalars(select(DamagedRecord).order_by(DamagedRecord.seq.desc()).limit(50))
        ),
        restored=bool(get_setting(session, "restored")),
    )


def acknowledge_alarm(session: Session, alarm_id: int) -> None:
    row = session.get(Alarm, alarm_id)
    if row is not None:
        row.acknowledged = True
