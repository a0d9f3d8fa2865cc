"""Vietnamese personal data: CCCD, mobile numbers, names, diacritic folding, e-mail."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.errors import ErrorList, FieldProblem, ValidationError
from common.validators import (
    MOBILE_PREFIXES,
    PROVINCES,
    CccdInfo,
    decode_cccd,
    fold_diacritics,
    normalise_name,
    normalise_phone,
    validate_cccd,
    validate_email,
    validate_name,
    validate_phone,
)

TODAY = date(2026, 3, 2)


def codes(problems: list[FieldProblem]) -> list[str]:
    return [p.code for p in problems]


# --- CCCD -------------------------------------------------------------------------------------


def test_province_list() -> None:
    assert len(PROVINCES) == 63
    assert PROVINCES["001"] == "Hà Nội"
    assert PROVINCES["079"] == "Thành phố Hồ Chí Minh"
    assert PROVINCES["096"] == "Cà Mau"
    assert all(len(code) == 3 and "001" <= code <= "096" for code in PROVINCES)


@pytest.mark.parametrize(
    ("value", "info"),
    [
        ("001085012345", CccdInfo("001", "Hà Nội", "male", 1985)),
        ("079190000001", CccdInfo("079", "Thành phố Hồ Chí Minh", "female", 1990)),
        ("096205123456", CccdInfo("096", "Cà Mau", "male", 2005)),
        ("038326000000", CccdInfo("038", "Thanh Hóa", "female", 2026)),
    ],
)
def test_valid_cccd_decodes(value: str, info: CccdInfo) -> None:
    assert validate_cccd(value, today=TODAY) == []
    assert decode_cccd(value) == info


@pytest.mark.parametrize(
    ("value", "expected", "mention"),
    [
        ("", ["required"], ""),
        ("001 085 012 345", ["cccd_spaces"], "spaces"),
        ("00108501234A", ["cccd_not_digits", "cccd_length"], "A"),
        ("00108501234", ["cccd_length"], "11"),
        ("0010850123456", ["cccd_length"], "13"),
        ("００1085012345", ["cccd_not_digits", "cccd_length"], "０"),  # full-width digits
        ("003085012345", ["cccd_province"], "003"),
        ("097085012345", ["cccd_province"], "097"),
        ("000085012345", ["cccd_province"], "000"),
        ("001327012345", ["cccd_birth_year"], "2027"),
        ("001485012345", ["cccd_birth_year"], "2185"),
    ],
)
def test_invalid_cccd(value: str, expected: list[str], mention: str) -> None:
    problems = validate_cccd(value, today=TODAY, field="id_number")
    assert codes(problems) == expected
    assert all(p.field == "id_number" and p.vi and p.en for p in problems)
    assert mention in " ".join(p.en for p in problems)
    if expected[0] != "cccd_birth_year":
        with pytest.raises(ValidationError):
            decode_cccd(value)


def test_cccd_birth_year_is_relative_to_today() -> None:
    assert validate_cccd("001327012345", today=date(2027, 1, 1)) == []


def test_problems_collect_into_error_list() -> None:
    errors = ErrorList()
    errors.problems.extend(validate_cccd("12", today=TODAY))
    errors.problems.extend(validate_phone("12"))
    with pytest.raises(ValidationError) as caught:
        errors.raise_if_any()
    assert {p["field"] for p in caught.value.as_dict()["errors"]} == {"id_number", "phone"}


CENTURY_DIGIT = {1900: (0, 1), 2000: (2, 3), 2100: (4, 5), 2200: (6, 7), 2300: (8, 9)}


@settings(max_examples=200)
@given(
    st.sampled_from(sorted(PROVINCES)),
    st.sampled_from(["male", "female"]),
    st.integers(min_value=1900, max_value=2026),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
)
def test_generated_cccd_round_trips(province: str, sex: str, year: int, serial: str) -> None:
    century = year // 100 * 100
    digit = CENTURY_DIGIT[century][0 if sex == "male" else 1]
    value = f"{province}{digit}{year % 100:02d}{serial}"
    assert validate_cccd(value, today=TODAY) == []
    assert decode_cccd(value) == CccdInfo(province, PROVINCES[province], sex, year)  # type: ignore[arg-type]


# --- mobile numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normal"),
    [
        ("0912345678", "0912345678"),
        ("0912 345 678", "0912345678"),
        ("0912.345.678", "0912345678"),
        ("0912-345-678", "0912345678"),
        ("0912 - 345 - 678", "0912345678"),
        (" 0352345678 ", "0352345678"),
        ("+84912345678", "0912345678"),
        ("+84 912 345 678", "0912345678"),
        ("+84-565-123-456", "0565123456"),
        ("0701234567", "0701234567"),
        ("0861234567", "0861234567"),
    ],
)
def test_valid_phones(value: str, normal: str) -> None:
    assert validate_phone(value) == []
    assert normalise_phone(value) == normal


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "required"),
        ("091234567", "phone_too_short"),
        ("09123456789", "phone_too_long"),
        ("+8491234567", "phone_too_short"),
        ("0212345678", "phone_landline"),
        ("02438251234", "phone_landline"),  # Hà Nội landline: 11 digits, not "too long"
        ("+84 24 3825 1234", "phone_landline"),
        ("0302345678", "phone_unallocated"),
        ("0312345678", "phone_unallocated"),
        ("0502345678", "phone_unallocated"),
        ("0712345678", "phone_unallocated"),
        ("0742345678", "phone_unallocated"),
        ("0802345678", "phone_unallocated"),
        ("0412345678", "phone_prefix"),
        ("0612345678", "phone_prefix"),
        ("+84212345678", "phone_landline"),
        ("84912345678", "phone_prefix"),
        ("912345678", "phone_prefix"),
        ("09l2345678", "phone_letters"),
        ("phone", "phone_letters"),
        ("(+84)912345678", "phone_characters"),
        ("0912/345/678", "phone_characters"),
        ("0912345678-", "phone_characters"),
        ("０９１２３４５６７８", "phone_characters"),
        ("+1 202 555 0100", "phone_country"),
        ("+84 0912 345 678", "phone_trunk_zero"),
    ],
)
def test_invalid_phones(value: str, code: str) -> None:
    problems = validate_phone(value, field="contact_phone")
    assert codes(problems) == [code]
    assert problems[0].field == "contact_phone" and problems[0].vi and problems[0].en
    with pytest.raises(ValidationError):
        normalise_phone(value)


def test_phone_prefix_message_names_the_prefix() -> None:
    (problem,) = validate_phone("0412345678")
    assert "04" in problem.en and "04" in problem.vi
    (problem,) = validate_phone("0742345678")
    assert "074" in problem.en and "074" in problem.vi


@pytest.mark.parametrize("prefix", sorted(MOBILE_PREFIXES))
def test_every_allocated_prefix_is_accepted(prefix: str) -> None:
    assert validate_phone(prefix + "1234567") == []


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["Nguyễn Văn Đức", "Trần Thị Ngọc Ánh", "H'Hen Niê", "Lê-Nguyễn Minh", "Đỗ T. Hương", "Ksor Y"],
)
def test_valid_names(name: str) -> None:
    assert validate_name(name) == []


def test_nfd_name_refused_nfc_accepted() -> None:
    nfc = "Nguyễn Thị Hường"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    problems = validate_name(nfd, field="applicant_name")
    assert codes(problems) == ["name_not_nfc"]
    assert "NFD" in problems[0].en and "NFD" in problems[0].vi
    assert validate_name(unicodedata.normalize("NFC", nfd)) == []
    assert normalise_name("  " + nfd + "\t ") == nfc


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ["required"]),
        ("   ", ["required"]),
        ("Nguyễn Văn 2", ["name_digits"]),
        ("Nguyễn\nVăn", ["name_control"]),
        ("Nguyễn Văn A@", ["name_characters"]),
        ("Nguyễn\u00a0Văn", ["name_characters"]),
        ("A" * 101, ["name_too_long"]),
    ],
)
def test_invalid_names(value: str, expected: list[str]) -> None:
    assert codes(validate_name(value)) == expected


def test_name_of_exactly_100_characters() -> None:
    assert validate_name("A" * 100) == []


# --- folding diacritics -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Nguyễn Văn Đức", "nguyen van duc"),
        ("ĐẶNG THỊ ĐÀO", "dang thi dao"),
        ("đường Lê Lợi", "duong le loi"),
        ("Phường Bến Nghé,  Quận 1", "phuong ben nghe, quan 1"),
        (unicodedata.normalize("NFD", "Trương Ưng Ổn"), "truong ung on"),
        ("Ðoàn", "doan"),  # eth in place of Đ
        ("", ""),
    ],
)
def test_fold_diacritics(text: str, key: str) -> None:
    assert fold_diacritics(text) == key


@settings(max_examples=300)
@given(st.text())
def test_fold_is_ascii_and_idempotent(text: str) -> None:
    key = fold_diacritics(text)
    assert key.isascii()
    assert key == key.lower() == key.strip()
    assert fold_diacritics(key) == key


@settings(max_examples=100)
@given(st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọ "))
def test_fold_matches_nfd_typing(text: str) -> None:
    assert fold_diacritics(text) == fold_diacritics(unicodedata.normalize("NFD", text.upper()))


# --- e-mail -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "a@b.vn", "nguyen.van.a+hs@ubnd.hanoi.gov.vn"])
def test_valid_emails(value: str) -> None:
    assert validate_email(value) == []


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("no-at-sign.vn", "email_format"),
        ("a@@b.vn", "email_format"),
        ("a@b@c.vn", "email_format"),
        ("@b.vn", "email_format"),
        ("a@localhost", "email_format"),
        ("a@b..vn", "email_format"),
        ("a b@c.vn", "email_format"),
        ("a@" + "b" * 250 + ".vn", "email_too_long"),
    ],
)
def test_invalid_emails(value: str, code: str) -> None:
    assert codes(validate_email(value)) == [code]


def test_required_email() -> None:
    assert codes(validate_email("", required=True)) == ["required"]


# --- identity documents -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("id_type", "value", "code"),
    [
        ("cccd", "062195001234", None),
        ("cccd", "123456789012345", "cccd_length"),
        ("passport", "C1234567", None),
        ("passport", "c 123 4567", None),  # spaces ignored, capitals
        ("passport", "N12345678", None),
        ("passport", "AB12", "passport_number"),
        ("passport", "C123456/7", "passport_number"),
        ("other", "123/2020", None),
        ("other", "KS-45.2019", None),
        ("other", "Số 12", "document_number"),
        ("other", "", "required"),
        ("visa", "C1234567", "unknown_id_type"),
    ],
)
def test_identity_documents_by_type(id_type: str, value: str, code: str | None) -> None:
    from datetime import date

    from common.validators import validate_id_document

    problems = validate_id_document(id_type, value, today=date(2026, 12, 5))
    assert codes(problems) == ([] if code is None else [code])
    for p in problems:
        assert p.vi and p.en and p.vi != p.en
