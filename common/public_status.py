"""What the public status look-up tells a citizen: the same words on the node and the hub.

The answer carries the dossier code (which the citizen typed), the procedure's name, the
status, the appointment and what to do next — never a name, ID number, phone, address or a
note an officer wrote. Pure: the caller passes the state and the few event fields needed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from common.lifecycle import STATUS_NAMES, DossierState, Status

_NEXT: dict[Status, tuple[str, str]] = {
    Status.SUBMITTED: (
        "Hồ sơ trực tuyến đang chờ cán bộ kiểm tra và tiếp nhận.",
        "The online submission is waiting to be checked and accepted.",
    ),
    Status.ACCEPTED: (
        "Hồ sơ đang được giải quyết. Ông/bà chưa cần làm gì thêm.",
        "The dossier is being processed. Nothing is needed from you yet.",
    ),
    Status.PROCESSING: (
        "Hồ sơ đang được giải quyết. Ông/bà chưa cần làm gì thêm.",
        "The dossier is being processed. Nothing is needed from you yet.",
    ),
    Status.SUPPLEMENT: (
        "Cần bổ sung giấy tờ: mời ông/bà mang các giấy tờ dưới đây đến nơi đã nộp hồ sơ.",
        "Documents are missing: please bring the papers below to where you applied.",
    ),
    Status.PAYMENT: (
        "Cần nộp phí, lệ phí tại nơi đã nộp hồ sơ trước khi hồ sơ được giải quyết tiếp.",
        "A fee is due at the desk where you applied before processing goes on.",
    ),
    Status.REFUSED: (
        "Hồ sơ không được tiếp nhận; lý do ghi trong phiếu từ chối đã giao cho ông/bà.",
        "The dossier was not accepted; the reason is in the refusal slip you were given.",
    ),
    Status.WITHDRAWN: (
        "Hồ sơ đã được rút theo đề nghị của ông/bà.",
        "The dossier was withdrawn at your request.",
    ),
    Status.STOPPED: (
        "Hồ sơ đã dừng giải quyết; mời liên hệ nơi đã nộp hồ sơ để biết thêm.",
        "Processing was stopped; please ask at the desk where you applied.",
    ),
    Status.RESOLVED: (
        "Đã có kết quả: mời ông/bà mang giấy hẹn đến nơi đã nộp hồ sơ để nhận.",
        "The result is ready: bring your appointment slip to the desk to collect it.",
    ),
    Status.RETURNED: ("Đã trả kết quả. Cảm ơn ông/bà.", "The result has been handed over."),
}


@dataclass(frozen=True)
class PublicStatus:
    code: str
    procedure_name: str
    status: int
    status_vi: str
    status_en: str
    received_at: datetime | None
    due_at: datetime | None  # the current appointment (an apology's new date included)
    forwarded: bool
    next_vi: str
    next_en: str
    missing: tuple[str, ...] = ()  # names of the documents to bring (catalogue names)
    amount: int | None = None  # the fee asked for, in đồng
    overdue: bool = False  # open, and the appointment has passed


def describe(
    state: DossierState,
    *,
    procedure_name: str,
    missing: Sequence[str] = (),
    document_names: Mapping[str, str] | None = None,
    amount: int | None = None,
    now: datetime | None = None,
) -> PublicStatus:
    """The answer for ``state``; ``missing`` are the document ids of the last supplement
    request, ``amount`` the last payment asked for."""
    names = document_names or {}
    vi, en = STATUS_NAMES[state.status]
    next_vi, next_en = _NEXT.get(state.status, ("", ""))
    open_pause = state.status is Status.SUPPLEMENT
    running = state.status in (Status.ACCEPTED, Status.PROCESSING)
    overdue = bool(running and now and state.due_at and state.due_at < now)
    if overdue:
        next_vi = (
            "Hồ sơ đã quá ngày hẹn. Cơ quan giải quyết phải gửi văn bản xin lỗi và hẹn lại ngày "
            "trả; ông/bà có thể liên hệ nơi đã nộp hồ sơ."
        )
        next_en = (
            "The appointment has passed. The agency must apologise and set a new date; you "
            "may ask at the desk where you applied."
        )
    return PublicStatus(
        code=state.code,
        procedure_name=procedure_name,
        status=int(state.status),
        status_vi=vi,
        status_en=en,
        received_at=state.received_at,
        due_at=state.due_at,
        forwarded=state.forwarded,
        next_vi=next_vi,
        next_en=next_en,
        missing=tuple(names.get(m, m) for m in missing) if open_pause else (),
        amount=amount if state.status is Status.PAYMENT else None,
        overdue=overdue,
    )


def check_digits(value: str) -> str | None:
    """The four digits typed, or None when the input is not exactly four digits."""
    digits = value.strip()
    return digits if len(digits) == 4 and digits.isascii() and digits.isdigit() else None


def expected_digits(phone: str, id_number: str) -> str:
    """What the citizen must type: the last four digits of the phone given at intake, or of
    the ID number when no phone was given (many households have none)."""
    source = "".join(c for c in (phone or id_number or "") if c.isdigit())
    return source[-4:] if len(source) >= 4 else ""


def digest(digits: str, salt: bytes) -> bytes:
    """Slow salted hash of the four digits (scrypt): what the hub stores instead of them."""
    return hashlib.scrypt(digits.encode(), salt=salt, n=2**12, r=8, p=1, dklen=32)


def same(a: str | bytes, b: str | bytes) -> bool:
    """Constant-time comparison."""
    left = a.encode() if isinstance(a, str) else a
    right = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(left, right)
