"""Commitments and sealed disclosures (common/personal.py): what the signed record keeps of a
person, and the box the hub opens."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common import personal
from common.errors import DossierError, EncodingError
from common.personal import Disclosure, DisclosureError

INTAKE: dict[str, Any] = {
    "procedure": "1.004873.000.00.00.H38",
    "applicant": {
        "name": "Nguyễn Thị Hồng Nhung",
        "id_number": "062195001234",
        "birth_date": "1995-04-12",
        "phone": "0912345678",
        "email": "",
        "address": "Thôn 3, xã Đăk Pxi",
    },
    "request": "Xin xác nhận tình trạng hôn nhân cho con gái Nhung",
    "documents": {"to_khai": {"original": 1}},
    "fee": 0,
}
RECORD_ID = "ab" * 32
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40).map(
    lambda s: unicodedata.normalize("NFC", s)
)


def counter_salt() -> personal.Salt:
    n = iter(range(1, 10**6))
    return lambda size: next(n).to_bytes(size, "big")


def test_concealed_data_holds_no_personal_value_and_reveals_back() -> None:
    clear, disclosures = personal.conceal(INTAKE)
    blob = json.dumps(clear, ensure_ascii=False)
    for value in ("Nguyễn", "062195001234", "0912345678", "Thôn 3", "1995-04-12", "Nhung"):
        assert value not in blob
    assert clear["procedure"] == INTAKE["procedure"] and clear["fee"] == 0
    assert clear["applicant"] == {"email": ""}  # empty values say nothing about anyone
    assert set(clear["pd"]) == {d.path for d in disclosures}
    assert personal.reveal(clear, disclosures) == INTAKE


def test_a_commitment_can_be_recomputed_from_the_specification_alone() -> None:
    """The layout in common/personal.py: digest = SHA-256("vn-dossier/disclosure/v1\\n" ‖ JCS([salt, path,
    value])), lowercase hex; salt is 32 lowercase hex digits."""
    clear, disclosures = personal.conceal(INTAKE, salt=counter_salt())
    name = next(d for d in disclosures if d.path == "applicant.name")
    assert name.salt == "00000000000000000000000000000001"
    jcs = json.dumps([name.salt, name.path, name.value], ensure_ascii=False,
                     separators=(",", ":")).encode()  # fmt: skip
    assert (
        clear["pd"]["applicant.name"]
        == hashlib.sha256(b"vn-dossier/disclosure/v1\n" + jcs).hexdigest()
    )


def test_salts_are_fresh_so_equal_values_give_different_commitments() -> None:
    a, _ = personal.conceal(INTAKE)
    b, _ = personal.conceal(INTAKE)
    assert a["pd"]["applicant.id_number"] != b["pd"]["applicant.id_number"]


@pytest.mark.parametrize(
    "change",
    [
        lambda d: Disclosure(d.salt, d.path, "062195001235"),
        lambda d: Disclosure("f" * 32, d.path, d.value),
        lambda d: Disclosure(d.salt, "applicant.phone", d.value),
    ],
    ids=["value", "salt", "path"],
)
def test_a_disclosure_that_does_not_match_is_refused_naming_the_field(change: Any) -> None:
    clear, disclosures = personal.conceal(INTAKE)
    wrong = [change(d) if d.path == "applicant.id_number" else d for d in disclosures]
    with pytest.raises(DisclosureError) as info:
        personal.reveal(clear, wrong)
    assert "applicant." in str(info.value)
    assert personal.verify(clear, [change(d) for d in disclosures
                                   if d.path == "applicant.id_number"])  # fmt: skip


def test_erased_values_keep_their_commitment() -> None:
    clear, disclosures = personal.conceal(INTAKE)
    kept = [d for d in disclosures if not d.path.startswith("applicant.")]
    shown = personal.reveal(clear, kept)
    assert shown["request"] == INTAKE["request"]
    assert "name" not in shown["applicant"] and "applicant.name" in shown["pd"]


def test_commitments_in_clear_beside_a_value_or_on_another_field_are_refused() -> None:
    clear, _ = personal.conceal(INTAKE)
    both = {**clear, "request": "x"}
    with pytest.raises(DisclosureError, match="both in clear and committed"):
        personal.commitments(both)
    with pytest.raises(DisclosureError, match="not a personal field"):
        personal.commitments({**clear, "pd": {"fee": "0" * 64}})
    with pytest.raises(DisclosureError, match="already holds commitments"):
        personal.conceal(clear)


@settings(max_examples=200)
@given(
    values=st.dictionaries(st.sampled_from(personal.PERSONAL_PATHS), text, min_size=1),
    other=st.integers(-(2**53) + 1, 2**53 - 1),
)
def test_conceal_then_reveal_is_the_identity(values: dict[str, str], other: int) -> None:
    data: dict[str, Any] = {"applicant": {}, "fee": other}
    for path, value in values.items():
        if path.startswith("applicant."):
            data["applicant"][path.split(".", 1)[1]] = value
        else:
            data[path] = value
    clear, disclosures = personal.conceal(data)
    for d in disclosures:
        assert d.value not in ("", None)
    assert personal.reveal(clear, disclosures) == data
    again = personal.decode_disclosures(personal.encode_disclosures(disclosures))
    assert again == disclosures


def test_a_sealed_box_opens_with_the_hubs_key_for_its_record_only() -> None:
    hub = personal.generate_encryption_key()
    _, disclosures = personal.conceal(INTAKE)
    box = personal.seal(disclosures, to=hub.public_key(), record_id=RECORD_ID)
    assert b"Nguy" not in box and b"062195001234" not in box
    assert personal.sealed_key_id(box) == personal.encryption_key_id(hub)
    assert personal.unseal(box, key=hub, record_id=RECORD_ID) == disclosures
    with pytest.raises(DisclosureError, match="another record"):
        personal.unseal(box, key=hub, record_id="cd" * 32)  # moved to another record
    with pytest.raises(DisclosureError, match="another encryption key"):
        personal.unseal(box, key=personal.generate_encryption_key(), record_id=RECORD_ID)


@settings(max_examples=100)
@given(st.data())
def test_any_altered_byte_of_a_box_is_refused(data: st.DataObject) -> None:
    hub = personal.generate_encryption_key()
    _, disclosures = personal.conceal(INTAKE)
    box = bytearray(personal.seal(disclosures, to=hub.public_key(), record_id=RECORD_ID))
    at = data.draw(st.integers(0, len(box) - 1))
    box[at] ^= data.draw(st.integers(1, 255))
    with pytest.raises(DisclosureError):
        personal.unseal(bytes(box), key=hub, record_id=RECORD_ID)


@given(st.binary(max_size=300))
def test_any_bytes_either_open_or_are_refused_cleanly(junk: bytes) -> None:
    hub = personal.generate_encryption_key()
    for box in (junk, personal.SEAL_PREFIX + junk):
        with pytest.raises(DisclosureError):
            personal.unseal(box, key=hub, record_id=RECORD_ID)


# ------------------------------------------------ the record format and the sync batch


def _signed(version: int, data: dict[str, object]) -> bytes:
    from datetime import UTC, datetime

    from common import keys, record

    key = keys.generate()
    return record.make(
        private_key=key,
        node=keys.key_id(key),
        seq=1,
        prev=None,
        at=datetime(2026, 12, 5, 9, tzinfo=UTC),
        anchor=None,
        dossier="000.00.12.H26-261205-0001",
        type="dossier.received",
        actor="hoa.le",
        data=data,
        version=version,
    ).raw


def test_version_2_records_commit_and_version_1_records_stay_readable() -> None:
    from common import record, record_fast

    data, shown = personal.conceal({"applicant": {"name": "Lê Văn Tám"}, "channel": 1})
    new = record.parse(_signed(2, data))
    old = record.parse(_signed(1, {"applicant": {"name": "Lê Văn Tám"}, "channel": 1}))
    assert (new.version, old.version) == (2, 1)
    assert "Lê Văn Tám".encode() not in new.raw and "Lê Văn Tám".encode() in old.raw
    assert personal.reveal(new.data, shown)["applicant"]["name"] == "Lê Văn Tám"
    assert record_fast.parse(new.raw) == new and record_fast.parse(old.raw) == old
    # a version 1 record cannot carry commitments: the version says where the data is
    with pytest.raises(EncodingError, match="version 1"):
        record.parse(_signed(1, data))
    with pytest.raises(EncodingError, match="version 1"):
        record_fast.parse(_signed(1, data))


def test_sealed_boxes_travel_beside_their_records_in_both_batch_versions() -> None:
    from common import protocol, record

    key = personal.generate_encryption_key()
    data, shown = personal.conceal({"applicant": {"name": "Lê Văn Tám"}, "channel": 1})
    raws = [_signed(2, data), _signed(2, {"channel": 1})]
    rid = record.record_id(raws[0])
    boxes = {rid: personal.seal(shown, to=key.public_key(), record_id=rid)}
    for body in (
        protocol.encode_batch(raws, sealed=boxes),
        protocol.encode_batch_v2(raws, sealed=boxes),
    ):
        got, sealed = protocol.decode_batch_sealed(body)
        assert got == raws and sealed == boxes
        assert protocol.decode_batch(body) == raws  # a reader of records only skips them
        assert personal.unseal(sealed[rid], key=key, record_id=rid) == shown
    # a box first in a batch belongs to no record
    bad = protocol.encode_frames([boxes[rid], raws[0]])
    with pytest.raises(DossierError, match="follow their record"):
        protocol.decode_frames_sealed(bad)


def test_the_hubs_encryption_key_statement_is_checked() -> None:
    from common import keys, protocol
    from common.errors import SignatureError

    hub = keys.generate()
    enc = personal.encryption_public_bytes(personal.generate_encryption_key()).hex()
    signed = protocol.encryption_key_statement(hub_id=keys.key_id(hub), public_hex=enc, key=hub)
    public = keys.public_from_hex(keys.public_bytes(hub).hex())
    assert protocol.encryption_key_of(signed, public, hub_id=keys.key_id(hub)) == enc
    other = keys.generate()
    with pytest.raises(SignatureError):
        protocol.encryption_key_of(
            signed, keys.public_from_hex(keys.public_bytes(other).hex()), hub_id=keys.key_id(hub)
        )


def test_values_at_rest_open_only_with_the_data_key_and_in_place() -> None:
    data_key, other = b"k" * 32, b"o" * 32
    d = personal.Disclosure("00" * 16, "applicant.phone", "0912345678")
    box = personal.encrypt_at_rest(data_key, d, record_id="ab" * 32)
    assert b"0912345678" not in box
    assert personal.decrypt_at_rest(data_key, box, record_id="ab" * 32, path=d.path) == d
    for key, rid in ((other, "ab" * 32), (data_key, "cd" * 32)):
        with pytest.raises(personal.DisclosureError):
            personal.decrypt_at_rest(key, box, record_id=rid, path=d.path)
    text = personal.encrypt_text(data_key, "an@x.vn", context="c")
    assert "an@x.vn" not in text and personal.decrypt_text(data_key, text, context="c") == "an@x.vn"
    with pytest.raises(personal.DisclosureError):
        personal.decrypt_text(data_key, text, context="other")
    key = personal.lookup_key(data_key)
    assert personal.lookup_hash(key, "name", "Lê  Văn") == personal.lookup_hash(
        key, "name", "lê văn"
    )
    assert personal.lookup_hash(key, "name", "lê văn") != personal.lookup_hash(
        personal.lookup_key(other), "name", "lê văn"
    )
