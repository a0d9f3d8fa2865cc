"""One error tree for the whole protocol.

Every error carries a stable machine ``code`` (documented, never reused), an HTTP-like
``status`` that the web layers map to a response, whether a client may ``retry`` the same
request later, and a message in Vietnamese and in English. Field-level problems name the
field, so a form or an API client can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one input field, said in both languages."""

    field: str
    code: str
    vi: str
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "vi": self.vi, "en": self.en}


class DossierError(Exception):
    """Base of every error the protocol and the domain rules raise."""

    code = "error"
    status = 400
    retryable = False
    vi = "Có lỗi xảy ra."
    en = "Something went wrong."

    def __init__(self, en: str | None = None, *, vi: str | None = None, **detail: Any) -> None:
        cls = type(self)
        self.en = en or cls.en
        # A specific English message without its Vietnamese twin keeps the generic Vietnamese
        # sentence and adds the detail, so the Vietnamese reader still learns what happened.
        self.vi = vi or (cls.vi if en is None else f"{cls.vi} ({en})")
        self.detail = detail
        super().__init__(self.en)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": self.code,
            "message": self.en,
            "message_vi": self.vi,
            "retryable": self.retryable,
        }
        if self.detail:
            body["detail"] = self.detail
        return body


class ValidationError(DossierError):
    """Input that breaks a rule; lists every problem found, one per field."""

    code = "invalid_input"
    status = 422
    vi = "Dữ liệu không hợp lệ."
    en = "The input is not valid."

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = list(problems)
        en = "; ".join(f"{p.field}: {p.en}" for p in self.problems) or type(self).en
        vi = "; ".join(f"{p.field}: {p.vi}" for p in self.problems) or type(self).vi
        super().__init__(en, vi=vi)

    def as_dict(self) -> dict[str, Any]:
        body = super().as_dict()
        body["errors"] = [p.as_dict() for p in self.problems]
        return body


class EncodingError(DossierError):
    """Bytes or values that are not in the one canonical form the protocol accepts."""

    code = "bad_encoding"
    status = 400
    vi = "Bản ghi không đúng định dạng chuẩn."
    en = "The record is not in canonical form."


class SignatureError(DossierError):
    code = "bad_signature"
    status = 400
    vi = "Chữ ký số không hợp lệ."
    en = "The signature does not verify."


class ChainError(DossierError):
    """A record does not follow its predecessor (wrong seq, wrong prev hash, other node)."""

    code = "chain_broken"
    status = 409
    vi = "Chuỗi bản ghi bị đứt hoặc sai thứ tự."
    en = "The record does not continue the chain."


class TransitionError(DossierError):
    """An action that the dossier's status or the officer's role does not allow."""

    code = "illegal_transition"
    status = 409
    vi = "Không thể thực hiện thao tác này với hồ sơ ở trạng thái hiện tại."
    en = "This action is not allowed for the dossier in its current status."


class RoleError(TransitionError):
    code = "role_not_allowed"
    status = 403
    vi = "Vai trò của cán bộ không được phép thực hiện thao tác này."
    en = "The officer's role does not allow this action."


class NotFound(DossierError):
    code = "not_found"
    status = 404
    vi = "Không tìm thấy."
    en = "Not found."


class CalendarError(DossierError):
    code = "bad_calendar"
    status = 422
    vi = "Lịch làm việc không hợp lệ."
    en = "The working-day calendar is not valid."


@dataclass
class ErrorList:
    """Collects field problems while validating, then raises them all at once."""

    problems: list[FieldProblem] = field(default_factory=list)

    def add(self, field_name: str, code: str, vi: str, en: str) -> None:
        self.problems.append(FieldProblem(field_name, code, vi, en))

    def raise_if_any(self) -> None:
        if self.problems:
            raise ValidationError(self.problems)
