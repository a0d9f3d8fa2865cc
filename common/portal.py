"""The national public service portal's dossier-sync message (DVCQG, through the province's
LGSP), built from the hub's projection of a dossier. Pure: no I/O, no clock.

The field list is the one provincial integrations send; ``docs/national-portal.md`` gives
each field's source and what is sent when the product has no value. The hub writes one
message per status change into its outbox, in the transaction of the change; the sender
delivers them in order per dossier. :func:`delivery_key` is what makes a resend after a lost
answer harmless: the portal keeps one entry per (MaHoSo, TrangThaiHoSo, NgayCapNhat).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from common.lifecycle import TERMINAL, Channel, DossierState, Status

VN_TZ = timezone(timedelta(hours=7))
TIME_FORMAT = "%Y%m%d%H%M%S"
WORKING_DAYS = "Ngày làm việc"
WORKING_HOURS = "Giờ làm việc"  # DonViTinh of a procedure limited in working hours
CITIZEN = 1  # LoaiDoiTuong: công dân (a person); 2 would be an organisation
ORDINARY, INTER_LEVEL = 0, 1  # HinhThuc: handled where received, or liên thông upwards

FIELDS: tuple[str, ...] = (
    "MaHoSo", "SoBienNhan", "MaTTHC", "TenTTHC", "MaLinhVuc", "TenLinhVuc", "ChuHoSo",
    "LoaiDoiTuong", "MaDoiTuong", "NgayTiepNhan", "NgayHenTra", "NgayCapNhat",
    "TrangThaiHoSo", "KenhThucHien", "HinhThuc", "DonViXuLy", "NgayKetThucXuLy",
    "ThoiGianGiaiQuyet", "DonViTinh", "DanhSachPhiLePhi", "DuocThanhToanTrucTuyen",
    "DuocSoHoa", "TaiLieuNop", "DanhSachGiayToKetQua",
)  # fmt: skip
_TIME = re.compile(r"\d{14}\Z")
_AGENCY = re.compile(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}\Z")
_CODE = re.compile(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}-\d{6}-\d{4}\Z")


@dataclass(frozen=True)
class PortalDossier:
    """What the hub knows of a dossier that the portal must hear, at one status change."""

    state: DossierState
    changed_at: datetime  # when this status was reached (the record's time)
    taken_at: datetime  # when the dossier was first taken in (received, registered, refused)
    procedure_name: str
    field_code: str  # the catalogue's code of the procedure's field; "" when it has none
    field_name: str
    limit_days: int
    owner_name: str
    owner_id: str  # the ID number the portal links the dossier to the citizen's account by
    handled_by: str  # agency code of the unit handling the dossier now
    fee: int = 0
    fee_name: str = ""
    limit_hours: int | None = None  # set for a procedure limited in hours (then limit_days is 0)
    paid_online: bool = False
    digitised: bool = False


def portal_time(moment: datetime | None) -> str:
    """``yyyyMMddHHmmss`` in Vietnam time; "" for no time."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        raise ValueError("a portal time needs a UTC offset")
    return moment.astimezone(VN_TZ).strftime(TIME_FORMAT)


def message(d: PortalDossier) -> dict[str, Any]:
    """The dossier-sync message for the dossier's current status."""
    s = d.state
    if s.status is Status.NEW:
        raise ValueError("a dossier that does not exist yet has no portal status")
    fees = [{"TenPhiLePhi": d.fee_name or "Lệ phí", "MucPhi": d.fee}] if d.fee > 0 else []
    return {
        "MaHoSo": s.code,
        "SoBienNhan": s.code,  # the receipt (form 01) carries the dossier code as its number
        "MaTTHC": s.procedure,
        "TenTTHC": d.procedure_name,
        "MaLinhVuc": d.field_code,
        "TenLinhVuc": d.field_name,
        "ChuHoSo": d.owner_name,
        "LoaiDoiTuong": CITIZEN,
        "MaDoiTuong": d.owner_id,
        "NgayTiepNhan": portal_time(s.received_at or d.taken_at),
        "NgayHenTra": portal_time(s.due_at),
        "NgayCapNhat": portal_time(d.changed_at),
        "TrangThaiHoSo": int(s.status),
        "KenhThucHien": int(s.channel),
        "HinhThuc": INTER_LEVEL if s.forwarded else ORDINARY,
        "DonViXuLy": d.handled_by,
        "NgayKetThucXuLy": portal_time(s.ended_at) if s.status in TERMINAL else "",
        "ThoiGianGiaiQuyet": d.limit_days if d.limit_hours is None else d.limit_hours,
        "DonViTinh": WORKING_DAYS if d.limit_hours is None else WORKING_HOURS,
        "DanhSachPhiLePhi": fees,
        "DuocThanhToanTrucTuyen": 1 if d.paid_online else 0,
        "DuocSoHoa": 1 if d.digitised else 0,
        "TaiLieuNop": [],  # file entries once scanned documents exist
        "DanhSachGiayToKetQua": [],
    }


def delivery_key(msg: dict[str, Any]) -> str:
    """The portal's idempotency key: one entry per dossier, status and time of change."""
    return f"{msg['MaHoSo']}|{msg['TrangThaiHoSo']}|{msg['NgayCapNhat']}"


def problems(msg: dict[str, Any]) -> list[str]:
    """What is wrong with a message by the documented field list (empty: nothing). The hub
    checks before it queues, so that the portal never has to refuse our own mistake."""
    out = [f"{name}: missing" for name in FIELDS if name not in msg]
    out += [f"{name}: not a portal field" for name in msg if name not in FIELDS]
    if out:
        return out
    if not _CODE.match(str(msg["MaHoSo"])):
        out.append("MaHoSo: not a dossier code")
    for name in ("TenTTHC", "ChuHoSo", "MaTTHC", "TenLinhVuc"):
        if not isinstance(msg[name], str) or not msg[name].strip():
            out.append(f"{name}: required text")
    if not _AGENCY.match(str(msg["DonViXuLy"])):
        out.append("DonViXuLy: not an agency code")
    for name in ("NgayTiepNhan", "NgayCapNhat"):
        if not _TIME.match(str(msg[name])):
            out.append(f"{name}: not yyyyMMddHHmmss")
    for name in ("NgayHenTra", "NgayKetThucXuLy"):
        if msg[name] != "" and not _TIME.match(str(msg[name])):
            out.append(f"{name}: not yyyyMMddHHmmss")
    if isinstance(msg["TrangThaiHoSo"], bool) or msg["TrangThaiHoSo"] not in range(1, 11):
        out.append("TrangThaiHoSo: not 1 to 10")
    if isinstance(msg["KenhThucHien"], bool) or msg["KenhThucHien"] not in tuple(map(int, Channel)):
        out.append("KenhThucHien: not 1 to 3")
    if (msg["NgayKetThucXuLy"] != "") != (msg["TrangThaiHoSo"] in tuple(int(t) for t in TERMINAL)):
        out.append("NgayKetThucXuLy: given exactly when the dossier has ended")
    if msg["NgayTiepNhan"] and msg["NgayCapNhat"] and msg["NgayCapNhat"] < msg["NgayTiepNhan"]:
        out.append("NgayCapNhat: before NgayTiepNhan")
    for name in ("ThoiGianGiaiQuyet", "LoaiDoiTuong", "HinhThuc"):
        if not isinstance(msg[name], int) or isinstance(msg[name], bool) or msg[name] < 0:
            out.append(f"{name}: not a whole number")
    for name in ("DuocThanhToanTrucTuyen", "DuocSoHoa"):
        if isinstance(msg[name], bool) or msg[name] not in (0, 1):
            out.append(f"{name}: not 0 or 1")
    for name in ("DanhSachPhiLePhi", "TaiLieuNop", "DanhSachGiayToKetQua"):
        if not isinstance(msg[name], list):
            out.append(f"{name}: not a list")
    return out
