"""Canonical encoding: one value, one byte string; everything else refused."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common import canonical
from common.errors import EncodingError

nfc_text = st.text(max_size=30).map(lambda s: unicodedata.normalize("NFC", s))
keys_ = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
safe_ints = st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
values = st.recursive(
    st.none() | st.booleans() | safe_ints | nfc_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys_, children, max_size=4),
    max_leaves=20,
)


@given(values)
def test_encode_then_decode_round_trips(value: object) -> None:
    data = canonical.encode(value)
    assert canonical.decode(data) == value
    assert canonical.encode(canonical.decode(data)) == data


@given(st.dictionaries(keys_, safe_ints, min_size=2, max_size=6))
def test_key_order_does_not_change_bytes(value: dict[str, int]) -> None:
    reordered = dict(reversed(list(value.items())))
    assert canonical.encode(reordered) == canonical.encode(value)


def test_vietnamese_text_is_raw_utf8_sorted_keys_no_spaces() -> None:
    assert canonical.encode({"b": 1, "a": "Nguyễn Văn Đức"}) == (
        '{"a":"Nguyễn Văn Đức","b":1}'.encode()
    )


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b'{"a":1,"a":2}', "appears twice"),
        (b'{"a":1.0}', "not a whole number"),
        (b'{"a":1e3}', "not a whole number"),
        (b'{"a":NaN}', "not allowed"),
        (b'{"a":9007199254740992}', "outside"),
        (b'{"a":-9007199254740992}', "outside"),
        (b'{ "a":1}', "not the canonical encoding"),
        (b'{"b":1,"a":2}', "not the canonical encoding"),
        (b'{"a":"\\u00e9"}', "not the canonical encoding"),
        (b'{"a":-0}', "not the canonical encoding"),
        ('{"a":"Nguye\u0302\u0303n"}'.encode(), "NFC"),
        (b'{"a":"\xff"}', "UTF-8"),
        (b"[" * 40 + b"]" * 40, "nested deeper"),
        (b'{"a":', "not JSON"),
        (b'{"\xc3\xa9":1}', "ASCII"),
    ],
)
def test_non_canonical_or_forbidden_input_is_refused(data: bytes, words: str) -> None:
    with pytest.raises(EncodingError) as info:
        canonical.decode(data)
    assert words in info.value.en


@pytest.mark.parametrize(
    "value",
    [{"x": 1.5}, {"x": 2**60}, {"x": unicodedata.normalize("NFD", "Đặng")}, {1: "a"}, {"x": b"b"}],
)
def test_encode_refuses_forbidden_values(value: object) -> None:
    with pytest.raises(EncodingError):
        canonical.encode(value)


def test_nfd_error_names_the_path() -> None:
    with pytest.raises(EncodingError) as info:
        canonical.encode({"applicant": {"name": unicodedata.normalize("NFD", "Hoà")}})
    assert "$.applicant.name" in info.value.en
    assert "NFC" in info.value.vi
