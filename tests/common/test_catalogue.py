"""The published procedure catalogue: the bundled sample, strict validation, search, documents."""

from __future__ import annotations

import copy
import dataclasses
import json
import unicodedata
from importlib import resources
from typing import Any

import pytest

from common.catalogue import (
    COMMUNE,
    LEVELS,
    MAX_LIMIT_DAYS,
    MAX_LIMIT_HOURS,
    PROVINCE,
    Catalogue,
    Procedure,
    fold,
    load_sample_catalogue,
)
from common.errors import NotFound, ValidationError
from tests.support import hour_limited_procedure_dict


@pytest.fixture(scope="module")
def sample() -> Catalogue:
    return load_sample_catalogue()


def sample_text() -> str:
    return resources.files("common").joinpath("data", "procedures.json").read_text("utf-8")


def sample_dict() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(sample_text())
    return data


def problems(data: Any) -> list[tuple[str, str]]:
    """(path, code) of every problem ``Catalogue.from_dict`` reports for ``data``."""
    with pytest.raises(ValidationError) as info:
        Catalogue.from_dict(data)
    for p in info.value.problems:
        assert p.vi and p.en, p  # every problem is said in both languages
    return [(p.field, p.code) for p in info.value.problems]


def all_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in all_strings(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in all_strings(item)]
    return []


# --------------------------------------------------------------------------- the sample


def test_sample_loads_and_has_both_levels(sample: Catalogue) -> None:
    assert sample.version == 1
    assert sample.published.isoformat() == "2026-11-01"
    commune = [p for p in sample if p.level == COMMUNE]
    province = [p for p in sample if p.level == PROVINCE]
    assert len(commune) >= 18
    assert len(province) >= 4
    assert len(commune) + len(province) == len(sample)
    assert all(not p.is_forwarded for p in commune)
    assert all(p.is_forwarded for p in province)


def test_sample_values_are_well_formed(sample: Catalogue) -> None:
    for code, proc in sample.procedures.items():
        assert code == proc.code
        assert proc.level in LEVELS
        assert type(proc.fee) is int and proc.fee >= 0
        assert type(proc.limit_days) is int and 0 <= proc.limit_days <= MAX_LIMIT_DAYS
        assert type(proc.electronic_result) is bool
        assert proc.documents, proc.code
        assert any(d.required for d in proc.documents), proc.code
        ids = [d.id for d in proc.documents]
        assert len(ids) == len(set(ids)), proc.code
        for doc in proc.documents:
            for count in (doc.original, doc.certified_copy, doc.photocopy):
                assert type(count) is int and count >= 0
            assert doc.quantity >= 1


def test_every_sample_string_is_nfc_with_diacritics(sample: Catalogue) -> None:
    strings = all_strings(sample_dict())
    assert strings
    for s in strings:
        assert unicodedata.is_normalized("NFC", s), s
    for proc in sample:
        assert unicodedata.is_normalized("NFC", proc.name)
        assert proc.name != fold(proc.name)  # Vietnamese names carry their diacritics
        for doc in proc.documents:
            assert unicodedata.is_normalized("NFC", doc.name)


def test_well_known_procedures_are_in_the_sample(sample: Catalogue) -> None:
    birth = sample.procedure("1.001193.000.00.00.H38")
    assert birth.name == "Đăng ký khai sinh"
    assert birth.field == "Hộ tịch"
    assert birth.limit_days == 0 and birth.same_day
    assert birth.fee == 0
    copy_cert = sample.procedure("2.000815.000.00.00.H38")
    assert copy_cert.field == "Chứng thực"
    assert copy_cert.fee == 2000
    assert sample.procedure("1.013831.000.00.00.H38").is_forwarded


def test_lookup_of_an_unknown_code(sample: Catalogue) -> None:
    assert sample.get("9.999999") is None
    assert "9.999999" not in sample
    with pytest.raises(NotFound):
        sample.procedure("9.999999")


def test_round_trip_is_exact(sample: Catalogue) -> None:
    data = sample_dict()
    assert sample.to_dict() == data
    # Same keys in the same order: re-serialising gives the published file byte for byte.
    text = json.dumps(sample.to_dict(), ensure_ascii=False, indent=2) + "\n"
    assert text == sample_text()
    assert Catalogue.from_dict(sample.to_dict()) == sample
    for proc in sample:
        assert Procedure.from_dict(proc.to_dict()) == proc
        assert list(proc.to_dict()) == list(data["procedures"][0])


def test_the_catalogue_cannot_be_changed_in_place(sample: Catalogue) -> None:
    with pytest.raises(TypeError):
        sample.procedures["x"] = sample.procedure("1.001193.000.00.00.H38")  # type: ignore[index]


# --------------------------------------------------------------------------- search


def names(found: tuple[Procedure, ...]) -> list[str]:
    return [p.name for p in found]


def test_fold_strips_vietnamese_diacritics() -> None:
    assert fold("Đăng Ký  KẾT HÔN") == "dang ky ket hon"
    assert fold(unicodedata.normalize("NFD", "Chứng thực")) == "chung thuc"
    assert fold("đất đai") == "dat dai"


def test_search_khai_sinh(sample: Catalogue) -> None:
    found = sample.search("khai sinh")
    assert names(found)[0] == "Đăng ký khai sinh"
    assert sample.search("Khai Sinh") == found
    assert sample.search("khai sinh")[0].code.startswith("1.001193")


def test_search_ket_hon_without_diacritics(sample: Catalogue) -> None:
    assert names(sample.search("ket hon"))[0] == "Đăng ký kết hôn"
    assert names(sample.search("kết hôn"))[0] == "Đăng ký kết hôn"


def test_search_land(sample: Catalogue) -> None:
    land = {p.code for p in sample if p.field == "Đất đai"}
    assert len(land) >= 3
    for query in ("dat dai", "đất đai", "đất", "dat"):
        found = sample.search(query)
        assert land <= {p.code for p in found}, query
    assert {p.code for p in sample.search("dat dai")} == land
    assert sample.search("dat dai")[0].name.startswith("Đăng ký đất đai")


def test_search_chung_thuc(sample: Catalogue) -> None:
    certs = [p for p in sample if p.field == "Chứng thực"]
    assert len(certs) >= 3
    found = sample.search("chung thuc")
    assert {p.code for p in found[: len(certs)]} == {p.code for p in certs}
    assert all(p.name.startswith("Chứng thực") for p in found[: len(certs)])


def test_search_by_code_english_and_field(sample: Catalogue) -> None:
    assert names(sample.search("1.001193")) == ["Đăng ký khai sinh"]
    assert names(sample.search("birth"))[0] == "Đăng ký khai sinh"
    assert {p.field for p in sample.search("ho tich")} == {"Hộ tịch"}
    assert sample.search("criminal record")[0].code.startswith("3.000333")


def test_search_prefix_while_typing_and_ranking(sample: Catalogue) -> None:
    typed = names(sample.search("kha"))
    assert typed[:2] == ["Đăng ký khai sinh", "Đăng ký khai tử"]
    # A name that starts with the query outranks one that only contains it.
    found = names(sample.search("cap"))
    assert found[0].startswith("Cấp")


def test_search_every_procedure_finds_itself(sample: Catalogue) -> None:
    for proc in sample:
        assert proc in sample.search(proc.name)
        assert sample.search(fold(proc.name)) == sample.search(proc.name)
        assert sample.search(proc.code)[0] == proc


def test_search_blank_and_nonsense(sample: Catalogue) -> None:
    assert sample.search("") == tuple(sample)
    assert sample.search("  ,. ") == tuple(sample)
    assert sample.search("xyzzy qwerty") == ()


# --------------------------------------------------------------------------- validation


def test_missing_field_names_the_exact_path() -> None:
    data = sample_dict()
    del data["procedures"][3]["fee"]
    del data["procedures"][0]["documents"][1]["required"]
    assert problems(data) == [
        ("procedures[0].documents[1].required", "missing"),
        ("procedures[3].fee", "missing"),
    ]


def test_missing_top_level_fields() -> None:
    assert problems({"procedures": []}) == [("version", "missing"), ("published", "missing")]


def test_float_fee_is_refused() -> None:
    data = sample_dict()
    data["procedures"][2]["fee"] = 1000.0
    assert problems(data) == [("procedures[2].fee", "wrong_type")]
    data["procedures"][2]["fee"] = 0.0
    assert problems(data) == [("procedures[2].fee", "wrong_type")]


def test_bool_count_is_refused() -> None:
    data = sample_dict()
    data["procedures"][0]["documents"][1]["original"] = True
    assert problems(data) == [("procedures[0].documents[1].original", "wrong_type")]


def test_bool_limit_and_version_are_refused() -> None:
    data = sample_dict()
    data["version"] = True
    data["procedures"][1]["limit_days"] = False
    assert problems(data) == [("version", "wrong_type"), ("procedures[1].limit_days", "wrong_type")]


def test_nfd_name_is_refused() -> None:
    data = sample_dict()
    data["procedures"][4]["name"] = unicodedata.normalize("NFD", data["procedures"][4]["name"])
    data["procedures"][0]["documents"][0]["name"] = unicodedata.normalize(
        "NFD", "Tờ khai đăng ký khai sinh"
    )
    assert problems(data) == [
        ("procedures[0].documents[0].name", "not_nfc"),
        ("procedures[4].name", "not_nfc"),
    ]


def test_duplicate_code_is_refused() -> None:
    data = sample_dict()
    data["procedures"][5]["code"] = data["procedures"][0]["code"]
    assert problems(data) == [("procedures[5].code", "duplicate")]


def test_duplicate_document_id_is_refused() -> None:
    data = sample_dict()
    docs = data["procedures"][0]["documents"]
    docs[1]["id"] = docs[0]["id"]
    assert problems(data) == [("procedures[0].documents[1].id", "duplicate")]


def test_bad_level_is_refused() -> None:
    data = sample_dict()
    data["procedures"][1]["level"] = "district"
    assert problems(data) == [("procedures[1].level", "bad_choice")]


def test_ranges_are_enforced() -> None:
    data = sample_dict()
    data["procedures"][0]["limit_days"] = MAX_LIMIT_DAYS + 1
    data["procedures"][1]["limit_days"] = -1
    data["procedures"][2]["fee"] = -5000
    data["procedures"][3]["documents"][0]["photocopy"] = -1
    assert problems(data) == [
        ("procedures[0].limit_days", "out_of_range"),
        ("procedures[1].limit_days", "out_of_range"),
        ("procedures[2].fee", "out_of_range"),
        ("procedures[3].documents[0].photocopy", "out_of_range"),
    ]
    data = sample_dict()
    data["procedures"][0]["limit_days"] = MAX_LIMIT_DAYS
    data["procedures"][1]["limit_days"] = 0
    assert Catalogue.from_dict(data).to_dict() == data


def test_other_shapes_are_refused() -> None:
    data = sample_dict()
    data["published"] = "01/11/2026"
    data["procedures"][0]["surprise"] = 1
    data["procedures"][1]["documents"][0]["id"] = "Tờ khai"
    data["procedures"][2]["code"] = "1.000 894"
    data["procedures"][3]["name"] = "  "
    data["procedures"][4]["name_en"] = " padded"
    data["procedures"][5]["electronic_result"] = "yes"
    data["procedures"][6]["documents"] = {}
    data["procedures"][7]["documents"][0].update(original=0, certified_copy=0, photocopy=0)
    data["procedures"][8]["fee_note"] = None
    assert problems(data) == [
        ("published", "bad_format"),
        ("procedures[0].surprise", "unknown_field"),
        ("procedures[1].documents[0].id", "bad_format"),
        ("procedures[2].code", "bad_format"),
        ("procedures[3].name", "empty"),
        ("procedures[4].name_en", "whitespace"),
        ("procedures[5].electronic_result", "wrong_type"),
        ("procedures[6].documents", "wrong_type"),
        ("procedures[7].documents[0].original", "no_quantity"),
        ("procedures[8].fee_note", "wrong_type"),
    ]


def test_not_objects_are_refused() -> None:
    assert problems([]) == [("$", "wrong_type")]
    assert problems({"version": 1, "published": "2026-11-01", "procedures": [1]}) == [
        ("procedures[0]", "wrong_type")
    ]
    assert problems({"version": 1, "published": "2026-11-01", "procedures": "none"}) == [
        ("procedures", "wrong_type")
    ]


def test_empty_fee_note_is_allowed_but_key_is_not_optional() -> None:
    data = sample_dict()
    data["procedures"][0]["fee_note"] = ""
    assert Catalogue.from_dict(data).procedures[data["procedures"][0]["code"]].fee_note == ""
    del data["procedures"][0]["fee_note"]
    assert problems(data) == [("procedures[0].fee_note", "missing")]


def test_validation_error_reports_in_both_languages() -> None:
    data = sample_dict()
    data["procedures"][1]["level"] = "district"
    with pytest.raises(ValidationError) as info:
        Catalogue.from_dict(data)
    body = info.value.as_dict()
    assert body["code"] == "invalid_input"
    assert body["errors"][0]["field"] == "procedures[1].level"
    assert "procedures[1].level" in info.value.en and "procedures[1].level" in info.value.vi
    assert "commune" in body["errors"][0]["en"]
    assert "cấp xã" in body["errors"][0]["vi"]


def test_the_input_is_not_modified() -> None:
    data = sample_dict()
    before = copy.deepcopy(data)
    Catalogue.from_dict(data)
    assert data == before


def test_procedure_from_dict_paths_have_no_prefix() -> None:
    proc = sample_dict()["procedures"][0]
    proc["documents"][0]["required"] = 1
    proc["fee"] = 1.5
    with pytest.raises(ValidationError) as info:
        Procedure.from_dict(proc)
    assert [(p.field, p.code) for p in info.value.problems] == [
        ("fee", "wrong_type"),
        ("documents[0].required", "wrong_type"),
    ]


def test_from_json_refuses_repeated_keys_and_nan() -> None:
    text = sample_text()
    assert Catalogue.from_json(text) == Catalogue.from_json(text.encode("utf-8"))
    repeated = text.replace('"version": 1,', '"version": 1, "version": 2,', 1)
    with pytest.raises(ValidationError) as info:
        Catalogue.from_json(repeated)
    assert info.value.problems[0].code == "bad_json"
    with pytest.raises(ValidationError):
        Catalogue.from_json(text.replace('"fee": 0,', '"fee": NaN,', 1))
    with pytest.raises(ValidationError):
        Catalogue.from_json("{not json")


# --------------------------------------------------------------------------- documents


def test_check_documents_complete(sample: Catalogue) -> None:
    birth = sample.procedure("1.001193.000.00.00.H38")
    check = birth.check_documents({"to_khai": 1, "giay_chung_sinh": 1})
    assert check.complete
    assert check.missing == () and check.unknown == () and check.bad_counts == ()


def test_check_documents_reports_missing_required(sample: Catalogue) -> None:
    birth = sample.procedure("1.001193.000.00.00.H38")
    check = birth.check_documents({"to_khai": 1})
    assert check.missing == ("giay_chung_sinh",)
    assert not check.complete
    # A count of 0 is the same as not handed in; optional papers are never "missing".
    check = birth.check_documents({"to_khai": 0, "van_ban_uy_quyen": 1})
    assert check.missing == ("to_khai", "giay_chung_sinh")
    assert birth.check_documents({}).missing == tuple(d.id for d in birth.required_documents)


def test_check_documents_refuses_papers_outside_the_list(sample: Catalogue) -> None:
    birth = sample.procedure("1.001193.000.00.00.H38")
    check = birth.check_documents(
        {"to_khai": 1, "giay_chung_sinh": 1, "so_ho_khau": 1, "giay_ket_hon": 0}
    )
    assert check.unknown == ("so_ho_khau", "giay_ket_hon")
    assert check.missing == ()
    assert not check.complete


def test_check_documents_flags_bad_counts(sample: Catalogue) -> None:
    birth = sample.procedure("1.001193.000.00.00.H38")
    check = birth.check_documents({"to_khai": True, "giay_chung_sinh": -1})
    assert check.bad_counts == ("to_khai", "giay_chung_sinh")
    assert check.missing == ("to_khai", "giay_chung_sinh")
    assert not check.complete


# --- limits in working hours ------------------------------------------------------------------


def test_a_procedure_limited_in_hours_round_trips() -> None:
    data = sample_dict()
    data["procedures"].append(hour_limited_procedure_dict())
    catalogue = Catalogue.from_dict(data)
    proc = catalogue.procedure("TEST.HOURS.4")
    assert proc.limit_hours == 4 and proc.limit_days is None and not proc.same_day
    assert proc.limit_text == "4 giờ làm việc"
    assert catalogue.to_dict() == data
    assert "limit_days" not in proc.to_dict()


def test_limit_text_for_days(sample: Catalogue) -> None:
    days = next(p for p in sample if p.limit_days == 3)
    assert days.limit_text == "3 ngày làm việc" and days.limit_hours is None
    same_day = next(p for p in sample if p.limit_days == 0)
    assert same_day.limit_text == "giải quyết trong ngày"
    assert "limit_hours" not in same_day.to_dict()


def test_exactly_one_limit_is_given() -> None:
    data = sample_dict()
    data["procedures"][0]["limit_hours"] = 4  # both
    del data["procedures"][1]["limit_days"]  # neither
    assert problems(data) == [
        ("procedures[0].limit_days", "both_limits"),
        ("procedures[1].limit_days", "missing"),
    ]


def test_limit_hours_range_and_type() -> None:
    data = sample_dict()
    for i, value in enumerate((0, MAX_LIMIT_HOURS + 1, 1.5, True)):
        del data["procedures"][i]["limit_days"]
        data["procedures"][i]["limit_hours"] = value
    assert problems(data) == [
        ("procedures[0].limit_hours", "out_of_range"),
        ("procedures[1].limit_hours", "out_of_range"),
        ("procedures[2].limit_hours", "wrong_type"),
        ("procedures[3].limit_hours", "wrong_type"),
    ]


def test_procedure_value_needs_one_limit() -> None:
    proc = Procedure.from_dict(hour_limited_procedure_dict())
    with pytest.raises(ValueError, match="exactly one"):
        dataclasses.replace(proc, limit_days=2)
