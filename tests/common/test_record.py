"""Signed, chained records: sign, verify, tamper detection, chain continuity."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common import keys, record
from common.errors import ChainError, EncodingError, SignatureError

VN = timezone(timedelta(hours=7))
KEY = keys.generate()
NODE = keys.key_id(KEY)


def make(seq: int = 1, prev: str | None = None, **over: object) -> record.Record:
    fields: dict[str, object] = {
        "private_key": KEY,
        "node": NODE,
        "seq": seq,
        "prev": prev,
        "at": datetime(2026, 11, 22, 9, 30, tzinfo=VN),
        "anchor": None,
        "dossier": "000.00.12.H26-261122-0001",
        "type": "dossier.received",
        "actor": "hoa.le",
        "data": {"applicant": {"name": "Nguyễn Thị Hồng"}, "fee": 8000},
    }
    fields.update(over)
    return record.make(**fields)  # type: ignore[arg-type]


def chain(n: int) -> list[record.Record]:
    out: list[record.Record] = []
    for i in range(1, n + 1):
        out.append(make(i, out[-1].id if out else None))
    return out


def test_layout_prefix_body_signature() -> None:
    r = make()
    assert r.raw.startswith(record.PREFIX)
    assert r.raw == record.PREFIX + r.body_bytes + r.signature
    assert len(r.signature) == 64
    assert r.id == record.record_id(r.raw)
    r.verify(KEY.public_key())
    assert record.parse(r.raw) == r


def test_signature_by_another_key_fails() -> None:
    with pytest.raises(SignatureError):
        make().verify(keys.generate().public_key())


@settings(max_examples=60)
@given(st.data())
def test_every_single_bit_flip_is_detected(data: st.DataObject) -> None:
    r = make()
    pos = data.draw(st.integers(0, len(r.raw) - 1))
    bit = data.draw(st.integers(0, 7))
    tampered = bytearray(r.raw)
    tampered[pos] ^= 1 << bit
    with pytest.raises((EncodingError, SignatureError)):
        parsed = record.parse(bytes(tampered))
        parsed.verify(KEY.public_key())


def test_record_id_changes_with_any_byte() -> None:
    r = make()
    assert record.record_id(r.raw[:-1] + bytes([r.raw[-1] ^ 1])) != r.id


def test_chain_continuity() -> None:
    records = chain(5)
    record.check_follows(None, records[0])
    for a, b in itertools.pairwise(records):
        record.check_follows(a, b)


def test_chain_gap_reorder_and_wrong_prev_are_refused() -> None:
    r1, r2, r3 = chain(3)
    with pytest.raises(ChainError) as gap:
        record.check_follows(r1, r3)
    assert gap.value.detail["expected_seq"] == 2
    with pytest.raises(ChainError):
        record.check_follows(r2, r1)
    forged = make(2, "0" * 64)
    with pytest.raises(ChainError):
        record.check_follows(r1, forged)
    with pytest.raises(ChainError):
        record.check_follows(None, r2)


def test_first_record_must_have_null_prev() -> None:
    with pytest.raises(EncodingError):
        make(1, "a" * 64)
    with pytest.raises(EncodingError):
        make(2, None)


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"type": "Received"}, "type"),
        ({"actor": "có dấu"}, "actor"),
        ({"node": "XYZ"}, "node"),
        ({"data": {"x": 1.5}}, "floating"),
        ({"seq": 0}, "seq"),
    ],
)
def test_bad_fields_are_refused_with_their_name(over: dict[str, object], field: str) -> None:
    with pytest.raises(EncodingError) as info:
        make(**over)
    assert field in info.value.en


def test_naive_time_is_refused() -> None:
    with pytest.raises(EncodingError):
        make(at=datetime(2026, 1, 1))


def test_anchor_is_committed() -> None:
    r = make(anchor=record.Anchor(12, "ab" * 32))
    assert r.anchor == record.Anchor(12, "ab" * 32)
    assert b'"anchor":{"root":"' + b"ab" * 32 + b'","size":12}' in r.raw


def test_wrong_prefix_and_oversize_are_refused() -> None:
    r = make()
    with pytest.raises(EncodingError, match="prefix"):
        record.parse(b"vn-dossier/event/v9\n" + r.raw[len(record.PREFIX) :])
    with pytest.raises(EncodingError, match="limit"):
        record.parse(b"x" * (record.MAX_RECORD_SIZE + 1))
    with pytest.raises(EncodingError, match="too short"):
        record.parse(record.PREFIX + b"{}")


def test_time_may_be_any_offset_but_is_kept_verbatim() -> None:
    r = make(at=datetime(2026, 11, 22, 2, 30, tzinfo=UTC))
    assert r.at == "2026-11-22T02:30:00+00:00"
