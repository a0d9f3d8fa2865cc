"""Scanned documents of a dossier: what the signed record says about a file, how a file's
real type is told from its bytes, and the hub's signed receipt for a file. No I/O.

A file is never inside a record. The record ``dossier.document_attached`` names it by its
SHA-256, size, media type and page count, with the catalogue document it belongs to
(docs/records.md); the bytes travel apart, in chunks, after the records
(docs/sync-protocol.md, "Files").
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from common import canonical, keys
from common.errors import FieldProblem

TYPE = "dossier.document_attached"
PDF, JPEG, PNG = "application/pdf", "image/jpeg", "image/png"
ACCEPTED = (PDF, JPEG, PNG)
STORED_TYPES = (PDF,)  # every document is kept and sent as one PDF
MAX_FILE_BYTES = 1 << 40
MAX_PAGES = 1000
FILE_RECEIPT_PREFIX = b"vn-dossier/file-receipt/v1\n"
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_DOC_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")


def sniff(data: bytes) -> str | None:
    """The media type the bytes really are (PDF, JPEG or PNG), whatever the file is called;
    None for anything else."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    return None


def digest(data: bytes) -> str:
    """The file's address: lowercase hex SHA-256 of its bytes."""
    return hashlib.sha256(data).hexdigest()


def is_digest(text: Any) -> bool:
    return isinstance(text, str) and _HEX64.match(text) is not None


@dataclass(frozen=True)
class Attachment:
    """The payload of a ``dossier.document_attached`` record."""

    document: str  # the document's id in the procedure's catalogue entry
    document_name: str  # its name there, as the officer saw it
    sha256: str
    size: int
    media_type: str
    pages: int

    def data(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "document_name": self.document_name,
            "media_type": self.media_type,
            "pages": self.pages,
            "sha256": self.sha256,
            "size": self.size,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Attachment:
        return cls(
            document=str(data["document"]),
            document_name=str(data["document_name"]),
            sha256=str(data["sha256"]),
            size=int(data["size"]),
            media_type=str(data["media_type"]),
            pages=int(data["pages"]),
        )


def _int(value: Any, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def problems(data: dict[str, Any]) -> list[FieldProblem]:
    """What is wrong with a ``dossier.document_attached`` payload (empty: nothing)."""
    found: list[FieldProblem] = []

    def bad(name: str, en: str, vi: str) -> None:
        found.append(FieldProblem(f"data.{name}", "invalid", vi, en))

    if not is_digest(data.get("sha256")):
        bad("sha256", "must be 64 lowercase hex digits", "Phải là 64 chữ số hex thường")
    if not _int(data.get("size"), 1, MAX_FILE_BYTES):
        bad("size", "must be a whole number of bytes ≥ 1", "Phải là số byte nguyên dương")
    if data.get("media_type") not in STORED_TYPES:
        bad("media_type", "must be application/pdf", "Phải là application/pdf")
    if not _int(data.get("pages"), 1, MAX_PAGES):
        bad("pages", f"must be 1 to {MAX_PAGES}", f"Phải từ 1 đến {MAX_PAGES}")
    if not (isinstance(data.get("document"), str) and _DOC_ID.match(data["document"])):
        bad("document", "must be a catalogue document id", "Phải là mã giấy tờ trong danh mục")
    name = data.get("document_name")
    if not (isinstance(name, str) and 1 <= len(name) <= 300):
        bad("document_name", "must be 1 to 300 characters", "Phải dài 1 đến 300 ký tự")
    return found


def receipt_body(
    *, hub: str, node: str, sha256: str, size: int, time: str, dossiers: list[str]
) -> dict[str, Any]:
    """A file receipt means: *the hub holds the file of this hash and size, sent by this
    node, checked against its hash, for these dossiers*."""
    return {
        "dossiers": sorted(dossiers),
        "hub": hub,
        "node": node,
        "sha256": sha256,
        "size": size,
        "time": time,
    }


def sign_receipt(body: dict[str, Any], private_key: keys.PrivateKey) -> bytes:
    message = FILE_RECEIPT_PREFIX + canonical.encode(body)
    return message + keys.sign(private_key, message)


def open_receipt(raw: bytes, public: keys.PublicKey) -> dict[str, Any]:
    """Verify a file receipt with the hub's key and return its body (raises otherwise)."""
    if not raw.startswith(FILE_RECEIPT_PREFIX) or len(raw) < len(FILE_RECEIPT_PREFIX) + 64:
        raise ValueError("not a file receipt")
    keys.verify(public, raw[-64:], raw[:-64])
    body = canonical.decode(raw[len(FILE_RECEIPT_PREFIX) : -64])
    if not isinstance(body, dict):
        raise ValueError("not a file receipt")
    return body


def waiting_text(count: int, size: int, age_days: int | None) -> tuple[str, str]:
    """ "3 files, 1.2 MB waiting, oldest 2 days" in Vietnamese and English (node's sync page
    and the hub's node health page)."""
    if not count:
        return "Không có tệp nào chờ gửi", "No file waiting"
    mb = f"{size / (1024 * 1024):.1f}"
    days = age_days or 0
    en = f"{count} file{'s' if count != 1 else ''}, {mb} MB waiting, oldest {days} day" + (
        "s" if days != 1 else ""
    )
    vi = f"{count} tệp, {mb.replace('.', ',')} MB chờ gửi, tệp cũ nhất {days} ngày"
    return vi, en
