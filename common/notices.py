"""What the citizen is told, in Vietnamese, in one SMS — the same words on the node (its
outbox, the dossier page) and at the hub (which builds every text it sends from these
templates and its own copy of the dossier's records; a node sends no text of its own).

Each message names only the dossier code and a date — never the citizen's name, ID number or
address — so a message read over a shoulder, or kept by the SMS provider, gives nothing away.
Every text has two forms: Vietnamese with diacritics (Zalo, e-mail; at most 70 characters,
one UCS-2 SMS) and the same words without diacritics for SMS (GSM-7 basic characters only,
at most 160). ``tests/node/test_outbox.py`` checks both limits with the longest code.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from common.calendar import VN_TZ

UCS2_LIMIT = 70
GSM7_LIMIT = 160
# The GSM 03.38 basic character set (the extension table is left out: its characters count
# double and some phones drop them).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
KINDS = ("received", "supplement", "apology", "result")
KIND_NAMES = {
    "received": ("Đã tiếp nhận", "Received"),
    "supplement": ("Cần bổ sung", "Supplement needed"),
    "apology": ("Xin lỗi, hẹn lại", "Apology, new date"),
    "result": ("Có kết quả", "Result ready"),
}
# The dossier events that call for a notice, and which.
KIND_OF_EVENT = {
    "dossier.received": "received",
    "dossier.accepted": "received",
    "dossier.supplement_requested": "supplement",
    "dossier.apologised": "apology",
    "dossier.resolved": "result",
}
EVENTS_OF_KIND = {
    kind: tuple(sorted(t for t, k in KIND_OF_EVENT.items() if k == kind)) for kind in KINDS
}
_TEXTS = {
    "received": "Đã tiếp nhận HS {code}. Hẹn trả ngày {date}.",
    "supplement": "HS {code} cần bổ sung giấy tờ, mời liên hệ nơi nộp.",
    "apology": "Xin lỗi, HS {code} trễ hạn; hẹn lại {date}.",
    "result": "HS {code} đã có kết quả. Mời ông/bà đến nhận.",
}


@dataclass(frozen=True)
class Notice:
    kind: str
    subject: str
    text: str  # Vietnamese with diacritics
    text_ascii: str  # without diacritics, GSM-7


def strip_diacritics(text: str) -> str:
    """Vietnamese without diacritics, case kept: "Đã tiếp nhận" → "Da tiep nhan"."""
    text = text.replace("đ", "d").replace("Đ", "D")
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare)


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC for c in text)


def sms_segments(text: str) -> int:
    """How many SMS a text takes (GSM-7: 160 / 153 per part; otherwise UCS-2: 70 / 67)."""
    single, part = (GSM7_LIMIT, 153) if is_gsm7(text) else (UCS2_LIMIT, 67)
    return 1 if len(text) <= single else -(-len(text) // part)


def appointment(kind: str, data: dict[str, object]) -> datetime | None:
    """The date a notice of ``kind`` announces, from its event's payload: the new date of an
    apology, the due date of an intake (None when the payload has none)."""
    value = data.get("new_due" if kind == "apology" else "due")
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def render(kind: str, *, code: str, when: datetime | None = None, commune: str = "") -> Notice:
    """The notice of ``kind`` for dossier ``code``; ``when`` is the (new) appointment."""
    date = when.astimezone(VN_TZ).strftime("%d/%m/%Y") if when else ""
    text = _TEXTS[kind].format(code=code, date=date)
    subject = f"{commune}: hồ sơ {code}" if commune else f"Hồ sơ {code}"
    return Notice(kind, subject[:200], text, strip_diacritics(text))
