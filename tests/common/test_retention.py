"""Retention periods: per procedure in the catalogue, or the field's default; counted from
the day a dossier closed; the label pages show once personal data is erased."""

from __future__ import annotations

import copy
from datetime import datetime

import pytest

from common import retention
from common.catalogue import Catalogue, load_sample_catalogue
from common.errors import ValidationError
from tests.support import VN

MARITAL = "1.004873.000.00.00.H38"  # Hộ tịch
COPY = "2.000815.000.00.00.H38"  # Chứng thực


def test_defaults_by_field_and_a_published_period() -> None:
    sample = load_sample_catalogue()
    assert sample.procedure(MARITAL).retention == 20
    assert sample.procedure(COPY).retention == 5
    assert all(p.retention_years is None for p in sample)  # the sample gives none
    data = sample.to_dict()
    assert "retention_years" not in data["procedures"][0]  # unchanged bytes when absent
    for p in data["procedures"]:
        if p["code"] == COPY:
            p["retention_years"] = 2
    published = Catalogue.from_dict(data)
    assert published.procedure(COPY).retention == 2
    assert Catalogue.from_dict(published.to_dict()) == published  # round trip


@pytest.mark.parametrize("bad", [0, -1, 101, "5", 2.5, True, None])
def test_a_bad_period_is_refused_with_its_path(bad: object) -> None:
    data = copy.deepcopy(load_sample_catalogue().to_dict())
    data["procedures"][3]["retention_years"] = bad
    with pytest.raises(ValidationError) as info:
        Catalogue.from_dict(data)
    assert [p.field for p in info.value.problems] == ["procedures[3].retention_years"]


def test_the_period_counts_from_the_day_of_closing_in_vietnam() -> None:
    closed = datetime(2026, 11, 23, 23, 30, tzinfo=VN)  # late evening, still 23/11 in Vietnam
    due = retention.erase_after(closed, 5)
    assert due == datetime(2031, 11, 23, 0, 0, tzinfo=VN)
    assert not retention.is_due(closed, 5, datetime(2031, 11, 22, 23, 59, tzinfo=VN))
    assert retention.is_due(closed, 5, due)
    assert not retention.is_due(None, 5, due)  # an open dossier is never due
    leap = datetime(2028, 2, 29, 10, 0, tzinfo=VN)
    assert retention.erase_after(leap, 1) == datetime(2029, 2, 28, 0, 0, tzinfo=VN)


def test_the_erased_label_gives_the_vietnamese_date() -> None:
    at = datetime(2046, 11, 23, 1, 0, tzinfo=VN)
    assert retention.erased_label(at) == "Dữ liệu cá nhân đã xoá ngày 23/11/2046"
    assert retention.erased_label_en(at) == "Personal data erased on 23/11/2046"
