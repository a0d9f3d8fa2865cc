"""Checks for Vietnamese personal data: citizen ID (CCCD), mobile number, name, e-mail.

Style: each ``validate_*`` function returns a list of :class:`FieldProblem` (empty when the
value is good), each with the field name, a machine code, and a message in Vietnamese and in
English that says what is wrong. The caller gathers them in an :class:`ErrorList` and raises
once. Functions that produce a value (:func:`normalise_phone`, :func:`decode_cccd`) raise
:class:`ValidationError` with the same problems instead.

Nothing here reads the clock: :func:`validate_cccd` takes ``today``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Literal

from common.errors import FieldProblem, ValidationError

# Birth-registration province codes, digits 1–3 of a CCCD (Circular 59/2021/TT-BCA, appendix
# on province codes; kept unchanged by Circular 17/2024/TT-BCA). These are the 63 provinces
# before the 2025 merger: an ID keeps the code of where its holder's birth was registered.
PROVINCES: dict[str, str] = {
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hòa Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu",
    "079": "Thành phố Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
}

Sex = Literal["male", "female"]


@dataclass(frozen=True)
class CccdInfo:
    """What a CCCD number says about its holder."""

    province_code: str
    province_name: str
    sex: Sex
    birth_year: int


def _p(field: str, code: str, vi: str, en: str) -> FieldProblem:
    return FieldProblem(field, code, vi, en)


def _show(chars: set[str]) -> str:
    """Characters for a message: printable ones as themselves, the rest as U+XXXX."""
    shown = (
        ch
        if ch.isprintable() and not ch.isspace() and not unicodedata.combining(ch)
        else f"U+{ord(ch):04X}"
        for ch in sorted(chars)
    )
    return " ".join(shown)


def _required(field: str) -> FieldProblem:
    return _p(field, "required", "Trường này là bắt buộc.", "This field is required.")


_ASCII_DIGITS = re.compile(r"[0-9]+")


# --- Citizen ID (CCCD) --------------------------------------------------------------------


def _cccd_structure(value: str, field: str) -> list[FieldProblem]:
    """Structural problems: 12 ASCII digits, a known province code."""
    if not isinstance(value, str) or value == "":
        return [_required(field)]
    problems: list[FieldProblem] = []
    if any(ch.isspace() for ch in value):
        problems.append(
            _p(
                field,
                "cccd_spaces",
                "Số CCCD có khoảng trắng; hãy nhập liền 12 chữ số.",
                "The ID number contains spaces; write the 12 digits without spaces.",
            )
        )
    others = {ch for ch in value if not ch.isspace() and not ("0" <= ch <= "9")}
    if others:
        shown = _show(others)
        problems.append(
            _p(
                field,
                "cccd_not_digits",
                f"Số CCCD chỉ gồm chữ số 0–9; có ký tự không hợp lệ: {shown}.",
                f"The ID number may contain only the digits 0–9; found: {shown}.",
            )
        )
    digits = sum(1 for ch in value if "0" <= ch <= "9")
    if digits != 12:
        problems.append(
            _p(
                field,
                "cccd_length",
                f"Số CCCD phải có đúng 12 chữ số; đã nhập {digits} chữ số.",
                f"The ID number must have exactly 12 digits; {digits} found.",
            )
        )
    if problems:
        return problems
    code = value[:3]
    if code not in PROVINCES:
        problems.append(
            _p(
                field,
                "cccd_province",
                f"Mã tỉnh nơi đăng ký khai sinh {code} (3 chữ số đầu) không có trong danh mục.",
                f"{code} (the first 3 digits) is not a birth-registration province code.",
            )
        )
    return problems


def _decode(value: str) -> CccdInfo:
    gender_century = int(value[3])
    century = 1900 + 100 * (gender_century // 2)  # 0/1 → 1900s, 2/3 → 2000s, … 8/9 → 2300s
    return CccdInfo(
        province_code=value[:3],
        province_name=PROVINCES[value[:3]],
        sex="male" if gender_century % 2 == 0 else "female",
        birth_year=century + int(value[4:6]),
    )


def validate_cccd(value: str, *, today: date, field: str = "id_number") -> list[FieldProblem]:
    """Problems with a citizen ID (CCCD) number, Circular 59/2021/TT-BCA:

    * exactly 12 ASCII digits — spaces, other characters and the wrong length are each named;
    * digits 1–3: a birth-registration province code from :data:`PROVINCES` (the code is named);
    * digit 4: century and sex — 0/1 born 1900–1999 male/female, 2/3 2000s, 4/5 2100s,
      6/7 2200s, 8/9 2300s;
    * digits 5–6: the last two digits of the birth year, which may not be after ``today``.
    """
    problems = _cccd_structure(value, field)
    if problems:
        return problems
    info = _decode(value)
    if info.birth_year > today.year:
        problems.append(
            _p(
                field,
                "cccd_birth_year",
                f"Số CCCD cho năm sinh {info.birth_year} (chữ số 4–6), sau năm hiện tại.",
                f"The ID number gives birth year {info.birth_year} (digits 4–6), "
                "which is in the future.",
            )
        )
    return problems


def decode_cccd(value: str) -> CccdInfo:
    """Province, sex and birth year from a structurally valid CCCD number; raises
    :class:`ValidationError` otherwise (use :func:`validate_cccd` for the birth-year check)."""
    problems = _cccd_structure(value, "id_number")
    if problems:
        raise ValidationError(problems)
    return _decode(value)


# --- Identity documents ---------------------------------------------------------------------

# What an applicant proves who they are with: the citizen ID (CCCD, or the 12-digit personal
# ID number on the VNeID account) for a Vietnamese citizen; a passport for a foreigner (or a
# Vietnamese living abroad); another document (a birth certificate for a child, a residence
# card) with its own number.
ID_TYPES: dict[str, tuple[str, str]] = {
    "cccd": ("Căn cước / CCCD", "Citizen ID (CCCD)"),
    "passport": ("Hộ chiếu", "Passport"),
    "other": ("Giấy tờ khác", "Other document"),
}
_PASSPORT = re.compile(r"[A-Z0-9]{6,12}")
_OTHER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9/.\-]{0,29}")


def normalise_id(id_type: str, value: str) -> str:
    """The number as stored: trimmed; a passport number in capitals without spaces."""
    text = value.strip() if isinstance(value, str) else ""
    if id_type == "passport":
        return "".join(text.split()).upper()
    return text


def validate_id_document(
    id_type: str, value: str, *, today: date, field: str = "id_number"
) -> list[FieldProblem]:
    """Problems with an identity document's number, by its type (:data:`ID_TYPES`): a CCCD
    by :func:`validate_cccd`; a passport 6–12 letters and digits (spaces ignored, letters
    read as capitals); another document 1–30 letters, digits, ``/``, ``.`` or ``-``."""
    if id_type not in ID_TYPES:
        return [
            _p(
                "id_type",
                "unknown_id_type",
                "Loại giấy tờ tùy thân không hợp lệ (CCCD, hộ chiếu hoặc giấy tờ khác).",
                "Unknown identity document type (CCCD, passport or other).",
            )
        ]
    text = normalise_id(id_type, value)
    if not text:
        return [_required(field)]
    if id_type == "cccd":
        return validate_cccd(text, today=today, field=field)
    if id_type == "passport" and not _PASSPORT.fullmatch(text):
        return [
            _p(
                field,
                "passport_number",
                "Số hộ chiếu gồm 6 đến 12 chữ cái và chữ số (vd: C1234567).",
                "A passport number is 6 to 12 letters and digits (e.g. C1234567).",
            )
        ]
    if id_type == "other" and (not text.isascii() or not _OTHER_ID.fullmatch(text)):
        return [
            _p(
                field,
                "document_number",
                "Số giấy tờ gồm tối đa 30 chữ cái không dấu, chữ số, dấu / . hoặc -.",
                "A document number is up to 30 letters, digits, / . or -.",
            )
        ]
    return []


# --- Mobile numbers -----------------------------------------------------------------------

# Mobile prefixes in use (the three digits 0xy of a 10-digit number), as the operators
# hold them: Viettel 032–039, 086, 096–098; VinaPhone 081–085, 088, 091, 094; MobiFone 070,
# 076–079, 089, 090, 093; Vietnamobile 052, 056, 058, 092; Gmobile 059, 099; Itel 087;
# Reddi 055. A number in an unallocated range (030, 031, 050, 071, …) reaches no one.
MOBILE_PREFIXES = frozenset(
    [f"03{d}" for d in "23456789"]
    + ["052", "055", "056", "058", "059", "070", "076", "077", "078", "079"]
    + [f"08{d}" for d in "123456789"]
    + [f"09{d}" for d in "0123456789"]
)
_PHONE_SHAPE = re.compile(r"\+?[0-9]+(?:[ .\-]+[0-9]+)*")


def _phone(value: str, field: str) -> tuple[str | None, list[FieldProblem]]:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        return None, [_required(field)]
    if any(ch.isalpha() for ch in text):
        return None, [
            _p(
                field,
                "phone_letters",
                "Số điện thoại không được chứa chữ cái.",
                "The phone number must not contain letters.",
            )
        ]
    if not _PHONE_SHAPE.fullmatch(text) or not text.isascii():
        return None, [
            _p(
                field,
                "phone_characters",
                "Số điện thoại chỉ gồm chữ số, có thể có dấu + ở đầu và dấu cách, "
                "dấu chấm hoặc gạch ngang giữa các nhóm số.",
                "The phone number may contain only digits, a leading +, and spaces, dots "
                "or dashes between groups of digits.",
            )
        ]
    digits = "".join(_ASCII_DIGITS.findall(text))
    if text.startswith("+"):
        if not digits.startswith("84"):
            return None, [
                _p(
                    field,
                    "phone_country",
                    "Chỉ nhận số di động Việt Nam (+84).",
                    "Only Vietnamese mobile numbers (+84) are accepted.",
                )
            ]
        national = digits[2:]
        if national.startswith("0"):
            return None, [
                _p(
                    field,
                    "phone_trunk_zero",
                    "Sau +84 không viết số 0 đầu: +84 912 345 678 hoặc 0912 345 678.",
                    "Drop the leading 0 after +84: +84 912 345 678, or 0912 345 678.",
                )
            ]
        shown = f"+84 và {len(national)} chữ số", f"+84 and {len(national)} digits"
    else:
        if not digits.startswith("0"):
            return None, [
                _p(
                    field,
                    "phone_prefix",
                    "Số di động phải bắt đầu bằng 0 hoặc +84.",
                    "A mobile number must start with 0 or +84.",
                )
            ]
        national = digits[1:]
        shown = f"{len(digits)} chữ số", f"{len(digits)} digits"
    if national[:1] == "2":
        return None, [
            _p(
                field,
                "phone_landline",
                "Đây là số máy cố định (02…), không nhận được tin nhắn; hãy ghi số di động "
                "(10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09).",
                "This is a landline number (02…), which cannot receive text messages; give a "
                "mobile number (10 digits starting with 03, 05, 07, 08 or 09).",
            )
        ]
    if len(national) != 9:
        short = len(national) < 9
        return None, [
            _p(
                field,
                "phone_too_short" if short else "phone_too_long",
                f"Số điện thoại quá {'ngắn' if short else 'dài'} ({shown[0]}); cần 10 chữ số "
                "bắt đầu bằng 0, hoặc +84 và 9 chữ số.",
                f"The phone number is too {'short' if short else 'long'} ({shown[1]}); it needs "
                "10 digits starting with 0, or +84 and 9 digits.",
            )
        ]
    if national[0] not in "35789":
        prefix = "0" + national[0]
        return None, [
            _p(
                field,
                "phone_prefix",
                f"Đầu số {prefix} không phải đầu số di động; số di động bắt đầu bằng "
                "03, 05, 07, 08 hoặc 09.",
                f"{prefix} is not a mobile prefix; mobile numbers start with 03, 05, 07, 08 or 09.",
            )
        ]
    if "0" + national[:2] not in MOBILE_PREFIXES:
        prefix = "0" + national[:2]
        return None, [
            _p(
                field,
                "phone_unallocated",
                f"Đầu số {prefix} chưa được cấp cho nhà mạng nào; hãy kiểm tra lại số.",
                f"No operator holds the prefix {prefix}; check the number.",
            )
        ]
    return "0" + national, []


def validate_phone(value: str, *, field: str = "phone") -> list[FieldProblem]:
    """Problems with a Vietnamese mobile number: ``0`` + 9 digits starting with a prefix an
    operator holds (:data:`MOBILE_PREFIXES`), or ``+84`` + those 9 digits. Spaces, dots and dashes
    between digit groups ("0912 345 678", "+84 912-345-678") are tolerated. Letters, other
    characters, a foreign country code, a 0 after +84, a landline (02…, whatever its
    length), the wrong length, a non-mobile prefix and an unallocated one are each named."""
    return _phone(value, field)[1]


def normalise_phone(value: str, *, field: str = "phone") -> str:
    """The number as ``0xxxxxxxxx`` (10 digits); raises :class:`ValidationError` if invalid."""
    number, problems = _phone(value, field)
    if number is None:
        raise ValidationError(problems)
    return number


# --- Names --------------------------------------------------------------------------------

NAME_MAX = 100
_NAME_PUNCTUATION = frozenset(" '’-.")


def normalise_name(value: str) -> str:
    """What the web layer does to typed input before validation: NFC, trimmed, runs of
    whitespace collapsed to one space. The API does not do this; it refuses instead."""
    return " ".join(unicodedata.normalize("NFC", value).split())


def validate_name(value: str, *, field: str = "applicant_name") -> list[FieldProblem]:
    """Problems with a person's name, stored as typed (BRIEF §4: store NFC):

    * it must already be in NFC; decomposed text (NFD, a letter followed by combining
      accents) is refused — the web layer normalises, an API client must send NFC;
    * not empty after trimming, at most 100 characters;
    * only letters (any script, Vietnamese diacritics included), spaces, apostrophes
      (' or ’), hyphens and dots — no digits, no control characters, nothing else.
    """
    if not isinstance(value, str) or not value.strip():
        return [_required(field)]
    if not unicodedata.is_normalized("NFC", value):
        return [
            _p(
                field,
                "name_not_nfc",
                "Họ tên đang ở dạng Unicode tổ hợp (NFD, dấu tách rời chữ); "
                "hãy gửi ở dạng dựng sẵn NFC.",
                "The name is in decomposed Unicode form (NFD, accents as separate "
                "characters); send it in composed form (NFC).",
            )
        ]
    problems: list[FieldProblem] = []
    if len(value) > NAME_MAX:
        problems.append(
            _p(
                field,
                "name_too_long",
                f"Họ tên dài tối đa {NAME_MAX} ký tự; đã nhập {len(value)}.",
                f"The name may have at most {NAME_MAX} characters; it has {len(value)}.",
            )
        )
    if any(unicodedata.category(ch).startswith("N") for ch in value):
        problems.append(
            _p(
                field,
                "name_digits",
                "Họ tên không được chứa chữ số.",
                "A name may not contain digits.",
            )
        )
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value):
        problems.append(
            _p(
                field,
                "name_control",
                "Họ tên chứa ký tự điều khiển (xuống dòng, tab…).",
                "The name contains control characters (line breaks, tabs…).",
            )
        )
    odd = {
        ch
        for ch in value
        if not ch.isalpha()
        and ch not in _NAME_PUNCTUATION
        and unicodedata.category(ch)[0] not in ("N", "C")
        and unicodedata.category(ch) not in ("Zl", "Zp")
    }
    if odd:
        shown = _show(odd)
        problems.append(
            _p(
                field,
                "name_characters",
                f"Họ tên chỉ gồm chữ cái, dấu cách, dấu nháy ('), gạch ngang và dấu chấm; "
                f"có ký tự không hợp lệ: {shown}.",
                f"A name may contain only letters, spaces, apostrophes, hyphens and dots; "
                f"found: {shown}.",
            )
        )
    return problems


_D_LETTERS = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "Ð": "d"})


def fold_diacritics(text: str) -> str:
    """A lowercase ASCII search key: "Nguyễn Văn Đức" → "nguyen van duc".

    đ/Đ become d (and so do ð/Ð, the Icelandic eth that legacy Vietnamese encodings and some
    keyboards put in place of Đ); accents and other combining marks are dropped (compatibility
    decomposition, so ligatures and full-width letters fold too); whatever is still not
    printable ASCII is dropped (so "Søren" gives "sren"); whitespace runs become one space,
    trimmed. The result is idempotent.
    """
    text = text.translate(_D_LETTERS)
    text = unicodedata.normalize("NFKD", text).casefold()
    text = unicodedata.normalize("NFKD", text)  # casefold can compose (e.g. "ǰ")
    text = " ".join(text.split())
    kept = "".join(ch for ch in text if " " <= ch <= "~").lower()
    return " ".join(kept.split())


# --- E-mail -------------------------------------------------------------------------------

EMAIL_MAX = 254
_EMAIL_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?")


def validate_email(
    value: str, *, field: str = "email", required: bool = False
) -> list[FieldProblem]:
    """Problems with an e-mail address — a structural check only: at most 254 characters,
    exactly one @, something before it, and a domain of dot-separated labels with at least
    one dot, each label ASCII letters, digits and inner hyphens (an internationalised domain
    must be given in its xn-- form); no spaces. Empty is fine unless ``required``."""
    if not isinstance(value, str) or value == "":
        return [_required(field)] if required else []
    if len(value) > EMAIL_MAX:
        return [
            _p(
                field,
                "email_too_long",
                f"Địa chỉ thư điện tử dài tối đa {EMAIL_MAX} ký tự; đã nhập {len(value)}.",
                f"An e-mail address has at most {EMAIL_MAX} characters; this has {len(value)}.",
            )
        ]
    local, at, domain = value.partition("@")
    labels = domain.split(".")
    if (
        not at
        or "@" in domain
        or not local
        or any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in value)
        or len(labels) < 2
        or not all(_EMAIL_LABEL.fullmatch(label) for label in labels)
    ):
        return [
            _p(
                field,
                "email_format",
                "Địa chỉ thư điện tử không đúng dạng (ví dụ: ten@example.vn).",
                "The e-mail address is not in the right form (for example: name@example.vn).",
            )
        ]
    return []
