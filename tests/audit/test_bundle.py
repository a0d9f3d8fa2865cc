"""The audit bundle: real hub exports that verify (SQLite and PostgreSQL), the strict line
format, and property tests of the fast paths against the reference code."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from central_hub.models import Checkpoint, LogRecord
from common import (
    canonical,
    keys,
    merkle,
    protocol,
    record,
    record_fast,
)
from common.audit import bundle_format, bundle_read
from common.audit.bundle import (
    BundleError,
    LineError,
    Policy,
    decode_line,
    read_checkpoint,
    verify_bundle,
)
from common.audit.bundle_read import CheckpointFile
from common.audit.chain import Chain
from common.errors import EncodingError, NotFound
from tests.audit.conftest import DAY1, DAY2, Desk, scenario
from tests.audit.forge import Forge, obj
from tests.sync.conftest import Site, sync
from tests.sync.helpers import act, take_in

# ------------------------------------------------------------------ real hub exports


def _ok(lines: list[bytes], desk: Desk, **kw: object) -> dict[str, object]:
    report = verify_bundle(lines, hub_public_key=desk.hub_key(), **kw)  # type: ignore[arg-type]
    assert report.ok, [f.as_dict() for f in report.findings]
    return report.as_dict()


def test_whole_log_export_verifies(desk: Desk) -> None:
    a, b = scenario(desk)
    lines = desk.export()
    report = _ok(lines, desk)
    with desk.hub.db.read() as s:
        total = len(list(s.scalars(select(LogRecord.leaf))))
    counts = report["counts"]
    assert counts["records"] == counts["records_verified"] == total  # type: ignore[index]
    chains = {c["node"]: c for c in report["header"]["chains"]}  # type: ignore[index]
    assert chains[a.node_id]["records"] == a.seq and chains[b.node_id]["records"] == b.seq
    assert chains[desk.hub.identity.hub_id]["chain"] == "complete"
    assert chains[a.node_id]["keys"] == 2  # the rotation


def test_period_export_holds_the_period_and_the_records_around_it(desk: Desk) -> None:
    a, b = scenario(desk)
    lines = desk.export(since=DAY1, until=DAY2)
    report = _ok(lines, desk)
    header = obj(lines[0])
    start, end = header["period"]["start"], header["period"]["end"]
    with desk.hub.db.read() as s:
        cps = {c.size: c.created_at for c in s.scalars(select(Checkpoint))}
        rows = list(s.scalars(select(LogRecord).order_by(LogRecord.leaf)))
    assert cps[start] < DAY1 <= min(t for size, t in cps.items() if size > start)
    assert cps[end] < DAY2 <= min(t for size, t in cps.items() if size > end)
    in_period = [r for r in rows if start <= r.leaf < end]
    assert report["counts"]["records_in_period"] == len(in_period)  # type: ignore[index]
    exported = {obj(ln)["leaf"] for ln in lines if obj(ln)["kind"] == "record"}
    for node in (a.node_id, b.node_id):
        mine = [r for r in rows if r.node_id == node]
        inside = [r for r in mine if start <= r.leaf < end]
        before = [r for r in mine if r.leaf < start]
        after = [r for r in mine if r.leaf >= end]
        assert {r.leaf for r in inside} <= exported
        assert before[-1].leaf in exported and after[0].leaf in exported  # the edges
        assert before[0].leaf not in exported  # nothing else from outside the period
    rotation = next(r for r in rows if r.type == "key.rotated")
    assert rotation.leaf in exported


def test_one_commune_export_has_a_partial_hub_chain(desk: Desk) -> None:
    a, b = scenario(desk)
    lines = desk.export(communes=[a.agency], since=DAY1, until=DAY2)
    report = _ok(lines, desk)
    kinds = {c["node"]: c["chain"] for c in report["header"]["chains"]}  # type: ignore[index]
    assert kinds == {a.node_id: "complete", desk.hub.identity.hub_id: "partial"}
    nodes = {record.parse(_raw(ln)).node for ln in lines if obj(ln)["kind"] == "record"}
    assert b.node_id not in nodes
    notes = report["notes"]
    assert isinstance(notes, list) and any("partial" in n for n in notes)


def test_revocation_evidence_travels_with_the_key(desk: Desk) -> None:
    a, _ = scenario(desk)
    desk.act(a, 2)
    desk.revoke(a, a.seq)
    lines = desk.export(communes=[a.node_id])
    _ok(lines, desk)
    key_lines = [
        obj(ln) for ln in lines if obj(ln)["kind"] == "key" and obj(ln)["node"] == a.node_id
    ]
    assert key_lines[-1]["revocation"] and key_lines[-1]["last_valid_seq"] == a.seq
    assert key_lines[-1]["rotation"] and key_lines[0]["rotation"] is None


def test_auditor_checkpoint_is_linked_when_the_export_includes_it(desk: Desk) -> None:
    a, _b = scenario(desk)
    plain = desk.export(communes=[a.agency], since=DAY1, until=DAY2)
    held = {_size(ln) for ln in plain if obj(ln)["kind"] == "checkpoint"}
    with desk.hub.db.read() as s:
        early = next(
            c for c in s.scalars(select(Checkpoint).order_by(Checkpoint.size)) if c.size not in held
        )
    lines = desk.export(communes=[a.agency], since=DAY1, until=DAY2, sizes=(early.size,))
    report = _ok(lines, desk, trusted_checkpoint=early.signed)
    assert report["header"]["trusted_checkpoint"]["linked"] is True  # type: ignore[index]
    without = verify_bundle(plain, trusted_checkpoint=early.signed)
    assert set(without.by_class) == {"unlinked_checkpoint"}


def test_streaming_in_tiny_chunks_writes_the_same_bundle(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several server-side cursors open at once, merged in log order (PostgreSQL too)."""
    from central_hub.services import export, export_plan

    a, _ = scenario(desk)
    for kw in ({}, {"communes": [a.agency], "since": DAY1, "until": DAY2}):
        whole = desk.export(**kw)  # type: ignore[arg-type]
        monkeypatch.setattr(export_plan, "CHUNK", 2)
        monkeypatch.setattr(export, "CHUNK", 2)
        assert desk.export(**kw) == whole  # type: ignore[arg-type]
        monkeypatch.undo()


def test_unknown_commune_and_checkpoint_are_clean_errors(desk: Desk) -> None:
    scenario(desk)
    with pytest.raises(NotFound):
        desk.export(communes=["000.00.99.H26"])
    with pytest.raises(NotFound):
        desk.export(sizes=(10_000,))


def test_fresh_hub_exports_a_bundle_that_verifies(desk: Desk) -> None:
    _ok(desk.export(), desk)


def test_export_after_real_sync_over_http_verifies(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    b = site.node("b", "000.00.13.H26", commune="Xã Đăk Pne")
    codes = [take_in(a), take_in(a), take_in(b)]
    act(a, codes[0], "processing")
    for n in (a, b):
        sync(n)
    site.clock.advance(hours=2)
    take_in(b)
    for n in (a, b):
        sync(n)
    desk = Desk(site.hub)
    report = _ok(desk.export(), desk)
    assert report["counts"]["records"] >= 6  # type: ignore[index]
    counts = report["counts"]
    assert counts["records_without_anchor"] < counts["records"]  # type: ignore[index]
    assert counts["cosignatures"] >= 1, counts  # type: ignore[index]  # the nodes witnessed


# ------------------------------------------------------------------ the line format


def _size(line: bytes) -> int:
    signed = protocol.unb64(obj(line)["signed"])
    return int(json.loads(signed[len(protocol.CHECKPOINT_PREFIX) : -64])["size"])


def _raw(line: bytes) -> bytes:
    import base64

    return base64.b64decode(obj(line)["raw"])


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"kind":"end","counts":{},"counts":{}}', "duplicate_key"),
        (b'{"kind":"record","leaf":1.5,"raw":"","proof":null}', "not_integer"),
        (b'{"kind":"record","leaf":1,"raw":"","proof":null,"x":1}', "wrong_fields"),
        (b'{"kind":"record","leaf":-1,"raw":"","proof":null}', "bad_value"),
        (b'{"kind":"record","leaf":true,"raw":"","proof":null}', "bad_value"),
        (b'{"kind":"record","leaf":1,"raw":"@@@@","proof":null}', "bad_base64"),
        (b'{"kind":"record","leaf":1,"raw":"","proof":{"size":"2","hashes":""}}', "bad_value"),
        (b'{"kind":"nope"}', "unknown_kind"),
        (b'{"kind":7}', "unknown_kind"),
        (b"[1,2]", "not_object"),
        (b"\xff\xfe", "not_utf8"),
        (b"{", "not_json"),
        (b'{"kind":"end","counts":' + b"[" * 50 + b"]" * 50 + b"}", "too_deep"),
        (b'{"kind":"end","counts":{"record":NaN}}', "not_integer"),
        (b'{"kind":"end","counts":{}}' + b" " * 2000, "overlong"),
    ],
)
def test_lines_are_read_strictly(line: bytes, reason: str) -> None:
    with pytest.raises(LineError) as info:
        decode_line(line, max_bytes=1024)
    assert info.value.detail["reason"] == reason


def test_the_one_checkpoint_file_format() -> None:
    f = Forge()
    w = f.node()
    f.push(w, 2)
    signed = f.checkpoints[-1][2]
    cosig = f.cosign(w, f.checkpoints[-1][0])
    hello = {"hub_id": f.hub_id, "checkpoint": {"size": 2, "signed": protocol.b64(signed)}}
    assert read_checkpoint(json.dumps(hello).encode()) == CheckpointFile(signed)
    node_file = {
        "format": "vn-dossier-checkpoint/v1",
        "checkpoint": {"signed": protocol.b64(signed)},
        "cosignature": {"node": w.node, "signed": protocol.b64(cosig)},
    }
    assert read_checkpoint(json.dumps(node_file).encode()) == CheckpointFile(
        signed, (w.node, cosig)
    )
    for bad in (
        signed,  # the raw statement is not the file format
        b"hello",
        b"{}",
        b'{"signed": 5}',
        json.dumps(hello["checkpoint"]).encode(),
        json.dumps({**node_file, "cosignature": {"node": "x", "signed": ""}}).encode(),
        b"x" * 70_000,
    ):
        with pytest.raises(LineError):
            read_checkpoint(bad)


def test_unusable_inputs_raise_a_clean_error() -> None:
    f = Forge()
    f.push(f.node(), 1)
    lines = f.bundle()
    for bad in ([], [b"garbage"], lines[1:], [lines[0].replace(b"audit/v1", b"audit/v9")]):
        with pytest.raises(BundleError):
            verify_bundle(bad)


def test_limits_make_hostile_bundles_unusable_not_unbounded() -> None:
    f = Forge()
    w = f.node()
    f.push(w, 3)
    lines = f.bundle()
    with pytest.raises(BundleError):
        verify_bundle(lines, policy=Policy(max_checkpoints=0))
    with pytest.raises(BundleError):
        verify_bundle(lines, policy=Policy(max_nodes=1))
    # absurd sequence numbers start new runs instead of allocating the gap
    chain = Chain("n" * 32, True, 0)
    for i, seq in enumerate((1, 2**50, 2**40, 7, 2**62)):
        chain.put(seq, bytes(32), bytes(16), i, 0, 0)
    assert [s.seq for s in chain.slots()] == [1, 7, 2**40, 2**50, 2**62]
    assert sum(len(r.data) for r in chain.runs) == 5 * 58


# ------------------------------------------------------------------ fast paths = reference


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=True)
    | st.lists(
        st.characters(codec="utf-8")
        | st.sampled_from(
            ["\u0301", "e", "\u0323", "\u212b", "\n", '"', "\\", "\u1e47", "n", "\x1f"]
        ),
        max_size=8,
    ).map("".join),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)


def _reference(body: bytes) -> object:
    try:
        return ("ok", canonical.decode(body))
    except EncodingError:
        return "refused"


def _fast(body: bytes) -> object:
    try:
        return ("ok", record_fast.decode(body))
    except EncodingError:
        return "refused"


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values, indent=st.booleans())
def test_fast_canonical_decode_agrees_with_the_reference(value: object, indent: bool) -> None:
    try:
        body = json.dumps(value, ensure_ascii=indent, sort_keys=not indent).encode(
            "utf-8", "surrogatepass"
        )
    except (ValueError, UnicodeEncodeError):
        return
    assert _fast(body) == _reference(body)
    try:
        canon = canonical.encode(value)
    except EncodingError:
        return
    assert _fast(canon) == _reference(canon) == ("ok", value)


def _sample_record(data: dict[str, object]) -> record.Record:
    key = keys.generate()
    return record.make(
        private_key=key,
        node=keys.key_id(key),
        seq=2,
        prev="ab" * 32,
        at=DAY1,
        anchor=record.Anchor(3, "cd" * 32),
        dossier="000.00.12.H26-261123-0001",
        type="dossier.received",
        actor="hoa.le",
        data=data,
    )


@settings(max_examples=300)
@given(
    pos=st.integers(min_value=0),
    byte=st.integers(min_value=0, max_value=255),
    op=st.sampled_from(["set", "insert", "delete"]),
)
def test_fast_record_parse_agrees_with_the_reference(pos: int, byte: int, op: str) -> None:
    rec = _sample_record(
        {"applicant": {"name": "Nguyễn Văn Đức"}, "channel": 1, "documents": ["a", "b"]}
    )
    raw = bytearray(rec.raw)
    i = pos % len(raw)
    if op == "set":
        raw[i] = byte
    elif op == "insert":
        raw.insert(i, byte)
    else:
        del raw[i]

    def outcome(parse: object) -> object:
        try:
            return parse(bytes(raw))  # type: ignore[operator]
        except EncodingError:
            return "refused"

    assert outcome(record_fast.parse) == outcome(record.parse)


@settings(max_examples=200)
@given(size=st.integers(min_value=1, max_value=300), data=st.data())
def test_fast_inclusion_walk_agrees_with_the_reference(size: int, data: st.DataObject) -> None:
    from common.audit.records import inclusion_root

    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    store = merkle.MemoryNodes.from_leaf_hashes(leaves)
    root = merkle.root_from_leaf_hashes(leaves)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    proof = merkle.inclusion_proof(store, index, size)
    claim_index = data.draw(st.sampled_from([index, index + 1, max(index - 1, 0), size]))
    claim_size = data.draw(st.sampled_from([size, size + 1, max(size - 1, 1), size * 2]))
    cut = data.draw(st.sampled_from(["same", "extra", "short", "flip"]))
    if cut == "extra":
        proof = [*proof, leaves[0]]
    elif cut == "short" and proof:
        proof = proof[:-1]
    elif cut == "flip" and proof:
        proof = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
    try:
        merkle.verify_inclusion(leaves[index], claim_index, claim_size, proof, root)
        reference = True
    except merkle.ProofError:
        reference = False
    got = inclusion_root(leaves[index], claim_index, claim_size, b"".join(proof))
    assert (got == root) == reference


_RECORD_LINES = [
    bundle_format.record_line(7, b"\x00record bytes\xff" * 5, size=9, proof=[b"h" * 32] * 3),
    bundle_format.record_line(0, b"r", size=1),
    bundle_format.record_line(12, b"unproven", size=None),
]


def _line_outcome(read: Callable[[bytes], object], line: bytes) -> object:
    try:
        return read(line)
    except LineError as exc:
        return exc.detail["reason"]


@settings(max_examples=400)
@given(
    which=st.sampled_from(range(len(_RECORD_LINES))),
    pos=st.integers(min_value=0),
    byte=st.sampled_from(b'0123456789-+.eE "\\:,{}[]=/Aa\n\x00\xc3'),
    op=st.sampled_from(["set", "insert", "delete", "none"]),
)
def test_fast_record_line_reader_agrees_with_the_json_reader(
    which: int, pos: int, byte: int, op: str
) -> None:
    line = bytearray(_RECORD_LINES[which].rstrip(b"\n"))
    i = pos % len(line)
    if op == "set":
        line[i] = byte
    elif op == "insert":
        line.insert(i, byte)
    elif op == "delete":
        del line[i]
    data = bytes(line)
    fast = _line_outcome(lambda ln: decode_line(ln, max_bytes=1 << 20), data)
    assert fast == _line_outcome(bundle_read._read_json_line, data)
    assert fast == _line_outcome(lambda ln: decode_line(ln, max_bytes=1 << 20), data + b"\n")


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(min_value=1, max_value=70), data=st.data())
def test_proof_walks_in_any_order_agree_with_the_reference(size: int, data: st.DataObject) -> None:
    """The walk that stops where it joins the last verified one gives every verdict the full
    walk gives, whatever the order of the leaves, their sizes and any damage to the proofs."""
    from common.audit.records import RecordChecks, inclusion_root

    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    store = merkle.MemoryNodes.from_leaf_hashes(leaves)
    checks = RecordChecks(Policy())
    for _ in range(data.draw(st.integers(min_value=1, max_value=25))):
        tree = data.draw(st.integers(min_value=1, max_value=size))
        root = merkle.root_from_leaf_hashes(leaves[:tree])
        index = data.draw(st.integers(min_value=0, max_value=tree - 1))
        proof = bytearray(b"".join(merkle.inclusion_proof(store, index, tree)))
        leaf = leaves[index]
        damage = data.draw(st.sampled_from(["none", "none", "proof", "leaf", "index"]))
        if damage == "proof" and proof:
            proof[data.draw(st.integers(min_value=0, max_value=len(proof) - 1))] ^= 1
        elif damage == "leaf":
            leaf = leaves[(index + 1) % size]
        elif damage == "index":
            index = data.draw(st.integers(min_value=0, max_value=tree))
        want = inclusion_root(leaf, index, tree, bytes(proof))
        got = checks._path(leaf, index, tree, bytes(proof), root)
        assert (got is None) == (want == root)


def test_memoised_proof_walks_stay_strict() -> None:
    """Consecutive records share proof paths; a wrong hash above the shared part still fails."""
    f = Forge()
    w = f.node()
    f.push(w, 40)
    lines = f.bundle()
    assert verify_bundle(lines).ok
    rec_idx = [i for i, ln in enumerate(lines) if obj(ln)["kind"] == "record"]
    import base64

    o = obj(lines[rec_idx[20]])
    proof = bytearray(base64.b64decode(o["proof"]["hashes"]))
    proof[-1] ^= 1  # the topmost hash, shared with the records before it
    o["proof"]["hashes"] = base64.b64encode(bytes(proof)).decode()
    from tests.audit.forge import dump

    lines[rec_idx[20]] = dump(o)
    report = verify_bundle(lines)
    assert set(report.by_class) == {"bad_inclusion_proof"}
    assert [f.seq for f in report.findings] == [21]


@settings(max_examples=100)
@given(order=st.permutations(list(range(1, 30))))
def test_chain_slots_hold_any_arrival_order(order: list[int]) -> None:
    chain = Chain("n" * 32, True, 0)
    for seq in order:
        assert chain.get(seq) is None
        chain.put(seq, seq.to_bytes(32, "big"), bytes(16), seq * 10, 0, 0)
    assert [s.seq for s in chain.slots()] == list(range(1, 30))
    assert all(chain.get(s).leaf == s * 10 for s in range(1, 30))  # type: ignore[union-attr]


def test_time_tolerance_is_a_policy() -> None:
    f = Forge()
    w = f.node()
    f.push(w, 1)
    f.push(w, 1, at=f.now - timedelta(minutes=3))  # 3 minutes before its anchor's time
    assert verify_bundle(f.bundle()).ok
    strict = verify_bundle(f.bundle(), policy=Policy(clock_tolerance=timedelta(0)))
    assert set(strict.by_class) == {"backdated"}
