"""The published procedure catalogue: which procedures a desk takes in, and on what terms.

The hub publishes the catalogue (BRIEF §1); every node holds a copy and checks each dossier
against it. Each procedure carries its national code (MaTTHC), its names, its field
(lĩnh vực), the level that decides it, the legal processing limit in working days
(``limit_days``) or, for the few procedures limited in hours ("4 giờ làm việc", "0,5 ngày"), in
working hours (``limit_hours``; exactly one of the two is given), the fee in
whole đồng and the list of documents (thành phần hồ sơ) with the number of originals,
certified copies and photocopies of each.

That list is a limit as much as a checklist: an officer may not require, or record, a paper
that is not on it (Decree 118/2025; BRIEF §4 "Receive"). :meth:`Procedure.check_documents`
says both what is missing and what is not on the list.

:meth:`Catalogue.from_dict` validates the JSON form strictly and reports every problem at
once, each naming its JSON path (``procedures[3].documents[1].original``) in Vietnamese and
English; :meth:`Catalogue.to_dict` gives back exactly the same JSON value.

Pure: the only file this module reads is its own bundled sample, through
:func:`importlib.resources` in :func:`load_sample_catalogue`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from importlib import resources
from types import MappingProxyType
from typing import Any, Final

from common import retention
from common.canonical import MAX_SAFE_INT
from common.errors import ErrorList, FieldProblem, NotFound, ValidationError

COMMUNE: Final = "commune"
PROVINCE: Final = "province"
LEVELS: Final = frozenset({COMMUNE, PROVINCE})
MAX_LIMIT_DAYS: Final = 365
MAX_LIMIT_HOURS: Final = 96  # working hours; a longer limit is written in days
MAX_COPIES: Final = 99

PROCEDURE_KEYS: Final = (
    "code",
    "name",
    "name_en",
    "field",
    "level",
    "limit_days",
    "fee",
    "fee_note",
    "electronic_result",
    "documents",
)
OPTIONAL_PROCEDURE_KEYS: Final = ("limit_hours", "retention_years")  # hours: instead of days
DOCUMENT_KEYS: Final = ("id", "name", "original", "certified_copy", "photocopy", "required")
CATALOGUE_KEYS: Final = ("version", "published", "procedures")

# National procedure codes look like ``1.001193`` or ``1.001193.000.00.00.H38``; locally
# defined procedures use other ASCII codes, so only the alphabet is fixed.
_CODE_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z.\-_]{0,63}")
_DOC_ID_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


# --------------------------------------------------------------------------- folding


def fold(text: str) -> str:
    """Lower-case ``text`` and strip Vietnamese diacritics: "Đăng ký" → "dang ky".

    Combining marks are removed after NFD decomposition; đ/Đ, which Unicode does not
    decompose, become d. Whitespace runs collapse to one space.
    """
    decomposed = unicodedata.normalize("NFD", text.lower())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.replace("đ", "d").split())


def _words(folded: str) -> str:
    """Punctuation to spaces, so that word boundaries are plain spaces."""
    return " ".join("".join(ch if ch.isalnum() else " " for ch in folded).split())


# --------------------------------------------------------------------------- values


def limit_text(limit_days: int | None, limit_hours: int | None = None) -> str:
    """A legal limit in Vietnamese: "3 ngày làm việc", "4 giờ làm việc", or "giải quyết trong
    ngày" for a same-day procedure (limit 0 days)."""
    if limit_hours is not None:
        return f"{limit_hours} giờ làm việc"
    if not limit_days:
        return "giải quyết trong ngày"
    return f"{limit_days} ngày làm việc"


@dataclass(frozen=True)
class Document:
    """One entry of a procedure's document list (thành phần hồ sơ)."""

    id: str
    name: str
    original: int
    certified_copy: int
    photocopy: int
    required: bool

    @property
    def quantity(self) -> int:
        """Papers of this kind in one set: originals + certified copies + photocopies."""
        return self.original + self.certified_copy + self.photocopy

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "original": self.original,
            "certified_copy": self.certified_copy,
            "photocopy": self.photocopy,
            "required": self.required,
        }


@dataclass(frozen=True)
class DocumentCheck:
    """What :meth:`Procedure.check_documents` found; it never raises.

    ``missing``: ids of required documents not received (absent or count 0), in catalogue
    order. ``unknown``: ids received that the procedure does not list, which the officer may
    neither demand nor record. ``bad_counts``: ids whose count is not a whole number ≥ 0.
    """

    missing: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    bad_counts: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Every required document is there, and nothing outside the list was recorded."""
        return not (self.missing or self.unknown or self.bad_counts)


@dataclass(frozen=True)
class Procedure:
    """One administrative procedure (thủ tục hành chính) as published."""

    code: str
    name: str
    name_en: str
    field: str
    level: str
    limit_days: int | None  # None when the limit is in working hours
    fee: int
    fee_note: str
    electronic_result: bool
    documents: tuple[Document, ...]
    limit_hours: int | None = None  # working hours, for a procedure limited in hours
    # Years a closed dossier's personal data is kept; None: the field's default
    # (common.retention.DEFAULT_RETENTION_BY_FIELD).
    retention_years: int | None = None

    def __post_init__(self) -> None:
        if (self.limit_days is None) == (self.limit_hours is None):
            raise ValueError(
                f"procedure {self.code}: give exactly one of limit_days and limit_hours"
            )

    @property
    def retention(self) -> int:
        """Years a closed dossier's personal data is kept (given, or the field's default)."""
        if self.retention_years is not None:
            return self.retention_years
        return retention.default_years(self.field)

    @property
    def is_forwarded(self) -> bool:
        """Decided above the commune: received here, forwarded to the hub (liên thông)."""
        return self.level != COMMUNE

    @property
    def same_day(self) -> bool:
        """Resolved on the day of receipt (giải quyết ngay)."""
        return self.limit_days == 0

    @property
    def limit_text(self) -> str:
        """The legal limit in Vietnamese, for pages and printed forms (:func:`limit_text`)."""
        return limit_text(self.limit_days, self.limit_hours)

    def document(self, doc_id: str) -> Document | None:
        return next((d for d in self.documents if d.id == doc_id), None)

    @property
    def required_documents(self) -> tuple[Document, ...]:
        return tuple(d for d in self.documents if d.required)

    def check_documents(self, received: Mapping[str, int]) -> DocumentCheck:
        """Compare what the applicant handed in (document id → number of papers) with the list."""
        listed = {d.id for d in self.documents}
        unknown = tuple(doc_id for doc_id in received if doc_id not in listed)
        bad = tuple(
            doc_id
            for doc_id, count in received.items()
            if doc_id in listed and (type(count) is not int or count < 0)
        )

        def present(doc_id: str) -> bool:
            count = received.get(doc_id, 0)
            return type(count) is int and count > 0

        missing = tuple(d.id for d in self.documents if d.required and not present(d.id))
        return DocumentCheck(missing=missing, unknown=unknown, bad_counts=bad)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "name": self.name,
            "name_en": self.name_en,
            "field": self.field,
            "level": self.level,
        }
        if self.limit_hours is not None:
            out["limit_hours"] = self.limit_hours
        else:
            out["limit_days"] = self.limit_days
        out |= {
            "fee": self.fee,
            "fee_note": self.fee_note,
            "electronic_result": self.electronic_result,
            "documents": [d.to_dict() for d in self.documents],
        }
        if self.retention_years is not None:
            out["retention_years"] = self.retention_years
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Procedure:
        """Validate one procedure's JSON form; problems name paths such as ``documents[1].id``."""
        errors = ErrorList()
        proc = _parse_procedure(data, "", errors)
        errors.raise_if_any()
        assert proc is not None
        return proc


@dataclass(frozen=True)
class Catalogue:
    """A published catalogue: its version, publication date and procedures by code."""

    version: int
    published: date
    procedures: Mapping[str, Procedure]
    _index: tuple[tuple[Procedure, str, str, str], ...] = dataclass_field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for code, proc in self.procedures.items():
            if code != proc.code:
                raise ValueError(f"catalogue key {code!r} holds procedure {proc.code!r}")
        frozen = MappingProxyType(dict(self.procedures))
        object.__setattr__(self, "procedures", frozen)
        index = tuple(
            (
                p,
                fold(p.code),
                _words(fold(p.name)),
                _words(fold(f"{p.name_en} {p.field}")),
            )
            for p in frozen.values()
        )
        object.__setattr__(self, "_index", index)

    def __len__(self) -> int:
        return len(self.procedures)

    def __iter__(self) -> Iterator[Procedure]:
        return iter(self.procedures.values())

    def __contains__(self, code: object) -> bool:
        return code in self.procedures

    def get(self, code: str) -> Procedure | None:
        return self.procedures.get(code)

    def procedure(self, code: str) -> Procedure:
        """The procedure with ``code``, or :class:`~common.errors.NotFound`."""
        proc = self.procedures.get(code)
        if proc is None:
            raise NotFound(
                f"procedure {code} is not in the published catalogue",
                vi=f"Thủ tục {code} không có trong danh mục đã công bố.",
                code=code,
            )
        return proc

    def search(self, query: str) -> tuple[Procedure, ...]:
        """Procedures matching ``query`` with or without diacritics, best first.

        Looks at the code, the Vietnamese and English names and the field. Ranks: code match;
        name starting with the query; the query as a phrase at a word start in the name;
        every query word starting a word of name, English name or field; plain substring.
        Ties keep catalogue order. A blank query returns every procedure.
        """
        folded = fold(query)
        phrase = _words(folded)
        if not phrase:
            return tuple(self.procedures.values())
        terms = phrase.split()
        scored: list[tuple[int, int, int, Procedure]] = []
        for order, (proc, code, name, other) in enumerate(self._index):
            rank = _rank(folded, phrase, terms, code, name, other)
            if rank is not None:
                at = _position(phrase, name) if rank <= 2 else 0
                scored.append((rank, at, order, proc))
        scored.sort(key=lambda item: item[:3])
        return tuple(item[3] for item in scored)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "published": self.published.isoformat(),
            "procedures": [p.to_dict() for p in self.procedures.values()],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Catalogue:
        """Validate the whole JSON form; raises :class:`ValidationError` listing every problem."""
        errors = ErrorList()
        if not isinstance(data, dict):
            errors.add(
                "$",
                "wrong_type",
                "Danh mục phải là một đối tượng JSON.",
                "The catalogue must be a JSON object.",
            )
            errors.raise_if_any()
        _check_keys(data, CATALOGUE_KEYS, "", errors)
        version = _int(data, "version", "", errors, low=1, high=MAX_SAFE_INT)
        published = _date(data, "published", "", errors)
        procedures: dict[str, Procedure] = {}
        raw = data.get("procedures")
        if "procedures" in data and not isinstance(raw, list):
            _wrong_type(errors, "procedures", "một danh sách", "a list")
        elif isinstance(raw, list):
            seen: dict[str, int] = {}
            for i, item in enumerate(raw):
                path = f"procedures[{i}]"
                proc = _parse_procedure(item, path, errors)
                code = item.get("code") if isinstance(item, dict) else None
                if isinstance(code, str) and code in seen:
                    errors.add(
                        f"{path}.code",
                        "duplicate",
                        f"Mã thủ tục {code} trùng với procedures[{seen[code]}].",
                        f"Procedure code {code} repeats procedures[{seen[code]}].",
                    )
                elif isinstance(code, str):
                    seen[code] = i
                if proc is not None and proc.code not in procedures:
                    procedures[proc.code] = proc
        errors.raise_if_any()
        assert version is not None and published is not None
        return cls(version=version, published=published, procedures=procedures)

    @classmethod
    def from_json(cls, text: str | bytes) -> Catalogue:
        """Parse and validate JSON text, refusing repeated keys and NaN/Infinity as well."""

        def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for key, value in items:
                if key in out:
                    raise ValueError(f"key {key!r} appears twice in one object")
                out[key] = value
            return out

        def constant(name: str) -> Any:
            raise ValueError(f"{name} is not a number JSON allows")

        try:
            data = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise ValidationError(
                [
                    FieldProblem(
                        "$",
                        "bad_json",
                        f"Tệp danh mục không phải JSON hợp lệ: {exc}",
                        f"The catalogue is not valid JSON: {exc}",
                    )
                ]
            ) from exc
        return cls.from_dict(data)


def load_sample_catalogue() -> Catalogue:
    """The sample catalogue bundled with the package (``common/data/procedures.json``)."""
    text = resources.files("common").joinpath("data", "procedures.json").read_text("utf-8")
    return Catalogue.from_json(text)


# --------------------------------------------------------------------------- search ranks


def _rank(
    folded: str, phrase: str, terms: list[str], code: str, name: str, other: str
) -> int | None:
    if code == folded or code.startswith(folded):
        return 0
    if name.startswith(phrase):
        return 1
    if f" {phrase}" in f" {name}":
        return 2
    words = f" {name} {other}"
    if all(f" {term}" in words for term in terms):
        return 3
    if folded in code or phrase in name or phrase in other:
        return 4
    return None


def _position(phrase: str, name: str) -> int:
    at = f" {name}".find(f" {phrase}")
    return at if at >= 0 else len(name)


# --------------------------------------------------------------------------- validation


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _wrong_type(errors: ErrorList, path: str, vi_kind: str, en_kind: str) -> None:
    errors.add(path, "wrong_type", f"Phải là {vi_kind}.", f"Must be {en_kind}.")


def _check_keys(
    data: dict[str, Any],
    keys: tuple[str, ...],
    prefix: str,
    errors: ErrorList,
    *,
    optional: tuple[str, ...] = (),
) -> None:
    for key in keys:
        if key not in data and key not in optional:
            errors.add(
                _join(prefix, key),
                "missing",
                "Thiếu trường bắt buộc.",
                "This field is required.",
            )
    for key in data:
        if key not in keys and key not in optional:
            errors.add(
                _join(prefix, str(key)),
                "unknown_field",
                "Trường này không có trong định dạng danh mục.",
                "This field is not part of the catalogue format.",
            )


def _int(
    data: dict[str, Any], key: str, prefix: str, errors: ErrorList, *, low: int, high: int
) -> int | None:
    if key not in data:
        return None
    value = data[key]
    path = _join(prefix, key)
    if type(value) is not int:  # refuses bool (a subclass of int) and float alike
        _wrong_type(errors, path, "số nguyên", "a whole number")
        return None
    if not low <= value <= high:
        errors.add(
            path,
            "out_of_range",
            f"Phải từ {low} đến {high}.",
            f"Must be between {low} and {high}.",
        )
        return None
    return value


def _bool(data: dict[str, Any], key: str, prefix: str, errors: ErrorList) -> bool | None:
    if key not in data:
        return None
    value = data[key]
    if type(value) is not bool:
        _wrong_type(errors, _join(prefix, key), "true hoặc false", "true or false")
        return None
    return value


def _str(
    data: dict[str, Any], key: str, prefix: str, errors: ErrorList, *, empty: bool = False
) -> str | None:
    if key not in data:
        return None
    value = data[key]
    path = _join(prefix, key)
    if not isinstance(value, str):
        _wrong_type(errors, path, "chuỗi văn bản", "a string")
        return None
    if not unicodedata.is_normalized("NFC", value):
        errors.add(
            path,
            "not_nfc",
            "Văn bản không ở dạng Unicode NFC (dấu bị tách rời).",
            "The text is not in Unicode NFC form (decomposed accents).",
        )
        return None
    if not value.strip():
        if empty and value == "":
            return value
        errors.add(path, "empty", "Không được để trống.", "Must not be empty.")
        return None
    if value != value.strip():
        errors.add(
            path,
            "whitespace",
            "Có khoảng trắng thừa ở đầu hoặc cuối.",
            "Has leading or trailing whitespace.",
        )
        return None
    return value


def _pattern(
    value: str | None, pattern: re.Pattern[str], path: str, errors: ErrorList, vi: str, en: str
) -> str | None:
    if value is None:
        return None
    if not pattern.fullmatch(value):
        errors.add(path, "bad_format", vi, en)
        return None
    return value


def _date(data: dict[str, Any], key: str, prefix: str, errors: ErrorList) -> date | None:
    value = _str(data, key, prefix, errors)
    if value is None:
        return None
    path = _join(prefix, key)
    try:
        if not _DATE_RE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        errors.add(
            path,
            "bad_format",
            "Ngày phải theo dạng YYYY-MM-DD.",
            "The date must be written YYYY-MM-DD.",
        )
        return None


def _parse_document(data: Any, path: str, errors: ErrorList) -> Document | None:
    if not isinstance(data, dict):
        _wrong_type(errors, path or "$", "một đối tượng", "an object")
        return None
    before = len(errors.problems)
    _check_keys(data, DOCUMENT_KEYS, path, errors)
    doc_id = _pattern(
        _str(data, "id", path, errors),
        _DOC_ID_RE,
        _join(path, "id"),
        errors,
        "Mã giấy tờ chỉ gồm chữ thường không dấu, chữ số và dấu gạch dưới (tối đa 40 ký tự).",
        "A document id is lower-case ASCII letters, digits and underscores (at most 40).",
    )
    name = _str(data, "name", path, errors)
    counts = [
        _int(data, key, path, errors, low=0, high=MAX_COPIES)
        for key in ("original", "certified_copy", "photocopy")
    ]
    required = _bool(data, "required", path, errors)
    if all(c is not None for c in counts) and sum(c or 0 for c in counts) == 0:
        errors.add(
            _join(path, "original"),
            "no_quantity",
            "Giấy tờ phải có ít nhất một bản (bản chính, bản sao chứng thực hoặc bản chụp).",
            "A document needs at least one paper (original, certified copy or photocopy).",
        )
    if len(errors.problems) > before:
        return None
    assert doc_id is not None and name is not None and required is not None
    original, certified, photo = (c or 0 for c in counts)
    return Document(doc_id, name, original, certified, photo, required)


def _parse_procedure(data: Any, path: str, errors: ErrorList) -> Procedure | None:
    if not isinstance(data, dict):
        _wrong_type(errors, path or "$", "một đối tượng", "an object")
        return None
    before = len(errors.problems)
    _check_keys(
        data, PROCEDURE_KEYS, path, errors, optional=("limit_days", *OPTIONAL_PROCEDURE_KEYS)
    )
    if ("limit_days" in data) == ("limit_hours" in data):
        errors.add(
            _join(path, "limit_days"),
            "missing" if "limit_days" not in data else "both_limits",
            "Ghi thời hạn giải quyết bằng ngày làm việc (limit_days) hoặc bằng giờ làm việc "
            "(limit_hours), chỉ một trong hai.",
            "Give the processing limit in working days (limit_days) or in working hours "
            "(limit_hours): exactly one of them.",
        )
    code = _pattern(
        _str(data, "code", path, errors),
        _CODE_RE,
        _join(path, "code"),
        errors,
        "Mã thủ tục chỉ gồm chữ, số, dấu chấm, gạch ngang (tối đa 64 ký tự), ví dụ 1.001193.",
        "A procedure code is ASCII letters, digits, dots and dashes (at most 64), e.g. 1.001193.",
    )
    name = _str(data, "name", path, errors)
    name_en = _str(data, "name_en", path, errors)
    field_name = _str(data, "field", path, errors)
    level = _str(data, "level", path, errors)
    if level is not None and level not in LEVELS:
        errors.add(
            _join(path, "level"),
            "bad_choice",
            "Cấp giải quyết phải là «commune» (cấp xã) hoặc «province» (cấp tỉnh).",
            "The level must be 'commune' or 'province'.",
        )
        level = None
    limit_days = _int(data, "limit_days", path, errors, low=0, high=MAX_LIMIT_DAYS)
    limit_hours = _int(data, "limit_hours", path, errors, low=1, high=MAX_LIMIT_HOURS)
    fee = _int(data, "fee", path, errors, low=0, high=MAX_SAFE_INT)
    fee_note = _str(data, "fee_note", path, errors, empty=True)
    electronic = _bool(data, "electronic_result", path, errors)
    retention_years = _int(
        data, "retention_years", path, errors, low=1, high=retention.MAX_RETENTION_YEARS
    )
    documents: list[Document] = []
    raw_docs = data.get("documents")
    if "documents" in data and not isinstance(raw_docs, list):
        _wrong_type(errors, _join(path, "documents"), "một danh sách", "a list")
    elif isinstance(raw_docs, list):
        seen: dict[str, int] = {}
        for j, item in enumerate(raw_docs):
            doc_path = _join(path, f"documents[{j}]")
            doc = _parse_document(item, doc_path, errors)
            doc_id = item.get("id") if isinstance(item, dict) else None
            if isinstance(doc_id, str) and doc_id in seen:
                errors.add(
                    f"{doc_path}.id",
                    "duplicate",
                    f"Mã giấy tờ {doc_id} trùng với documents[{seen[doc_id]}].",
                    f"Document id {doc_id} repeats documents[{seen[doc_id]}].",
                )
            elif isinstance(doc_id, str):
                seen[doc_id] = j
            if doc is not None:
                documents.append(doc)
    if len(errors.problems) > before:
        return None
    assert code is not None and name is not None and name_en is not None
    assert field_name is not None and level is not None
    assert (limit_days is None) != (limit_hours is None)
    assert fee is not None and fee_note is not None and electronic is not None
    return Procedure(
        code=code,
        name=name,
        name_en=name_en,
        field=field_name,
        level=level,
        limit_days=limit_days,
        fee=fee,
        fee_note=fee_note,
        electronic_result=electronic,
        documents=tuple(documents),
        limit_hours=limit_hours,
        retention_years=retention_years,
    )
