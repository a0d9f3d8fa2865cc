"""The tamper corpus, generated when the tests run (never stored): bundles exported by a real
hub (SQLite) and then altered, real hubs fed misbehaving communes, and an in-memory hub
(``forge``) that logs what a real hub refuses. Each case must be detected and classified;
the untouched bundles pass."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common import keys, merkle, protocol, record
from common.audit.bundle import BundleError, Finding, Policy, verify_bundle
from tests.audit.conftest import DAY0, DAY1, DAY2, Commune, Desk, scenario
from tests.audit.forge import Forge, Writer, dump, fix_end, obj, raw_of, record_lines, with_raw
from tests.hub.fixtures import make_hub
from tests.support import MovableClock


@dataclass(repr=False)
class World:
    desk: Desk
    a: Commune
    b: Commune
    period: list[bytes]  # DAY1..DAY2, every commune
    only_b: list[bytes]  # DAY1..DAY2, commune b
    mischief: dict[str, tuple[Commune, list[bytes]]]  # whole log of one misbehaving commune
    key: bytes

    def __repr__(self) -> str:
        return "World(real hub, tamper base)"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    h = make_hub(tmp_path_factory.mktemp("hub"), MovableClock(DAY0))
    desk = Desk(h)
    a, b = scenario(desk)
    period = desk.export(since=DAY1, until=DAY2)
    only_b = desk.export([b.agency], since=DAY1, until=DAY2)
    desk.clock.set(DAY2 + timedelta(days=1, hours=8))
    m: dict[str, Commune] = {}
    for i, name in enumerate(
        ("revoked", "backdated", "postdated", "bad_root", "future", "offline")
    ):
        m[name] = desk.enrol(f"000.00.{30 + i}.H26", f"Xã {name}")
        desk.act(m[name], 1)
    c = m["revoked"]
    desk.act(c, 2)  # seq 2, 3: stored before the revocation that ends the key at seq 1
    desk.revoke(c, 1)
    desk.act(m["backdated"], 1, at=desk.clock() - timedelta(days=2))
    desk.act(m["postdated"], 1, at=desk.clock() + timedelta(days=1))
    bad = m["bad_root"]
    assert bad.anchor is not None
    desk.act(bad, 1, anchor=record.Anchor(bad.anchor.size, "00" * 32))
    desk.act(m["future"], 1, anchor=record.Anchor(10**6, "ab" * 32))
    desk.clock.advance(days=10)
    desk.act(m["offline"], 2)  # written on an anchor ten days old
    exports = {name: (c, desk.export([c.agency])) for name, c in m.items()}
    yield World(desk, a, b, period, only_b, exports, desk.hub_key())
    h.db.engine.dispose()


def check(lines: list[bytes], world: World, policy: Policy | None = None) -> list[Finding]:
    return verify_bundle(lines, hub_public_key=world.key, policy=policy).findings


def classes(lines: list[bytes], world: World) -> set[str]:
    return {f.cls for f in check(lines, world)}


def where(lines: list[bytes], node: str, seq: int) -> int:
    for i in record_lines(lines):
        rec = record.parse(raw_of(lines[i]))
        if (rec.node, rec.seq) == (node, seq):
            return i
    raise LookupError((node, seq))


def seqs(lines: list[bytes], node: str) -> list[int]:
    out = []
    for i in record_lines(lines):
        rec = record.parse(raw_of(lines[i]))
        if rec.node == node:
            out.append(rec.seq)
    return out


def edit(lines: list[bytes], i: int, **changes: object) -> list[bytes]:
    o = obj(lines[i])
    for k, v in changes.items():
        if k.startswith("proof_"):
            o["proof"][k[6:]] = v
        else:
            o[k] = v
    return [*lines[:i], dump(o), *lines[i + 1 :]]


def proof_bytes(line: bytes) -> bytes:
    return base64.b64decode(obj(line)["proof"]["hashes"])


# ------------------------------------------------------------------ untouched bundles pass


def test_untouched_exports_pass(world: World) -> None:
    for lines in (world.period, world.only_b):
        assert check(lines, world) == []


def test_b_chain_has_its_edges(world: World) -> None:
    assert seqs(world.period, world.b.node_id) == [2, 3, 4, 5, 6, 7]  # 3..6 in the period


# ------------------------------------------------------------------ altered bytes


def test_altered_byte_in_a_record_body(world: World) -> None:
    i = where(world.period, world.b.node_id, 4)
    raw = raw_of(world.period[i])
    assert b'"n":4' in raw
    lines = [*world.period]
    lines[i] = with_raw(lines[i], raw.replace(b'"n":4', b'"n":5'))
    found = check(lines, world)
    assert {f.cls for f in found} == {"altered_record"}
    assert (found[0].node, found[0].seq) == (world.b.node_id, 4)


def test_altered_signature(world: World) -> None:
    i = where(world.period, world.b.node_id, 5)
    raw = bytearray(raw_of(world.period[i]))
    raw[-1] ^= 0x40
    lines = [*world.period]
    lines[i] = with_raw(lines[i], bytes(raw))
    assert classes(lines, world) == {"altered_record"}


def test_altered_prefix_makes_the_record_unreadable(world: World) -> None:
    i = where(world.period, world.b.node_id, 5)
    raw = raw_of(world.period[i]).replace(b"event/v", b"event/x", 1)
    lines = [*world.period]
    lines[i] = with_raw(lines[i], raw)
    found = check(lines, world)
    assert {f.cls for f in found} == {"altered_record"} and found[0].seq == 5


def test_every_single_bit_flip_in_a_record_fails(world: World) -> None:
    i = where(world.period, world.a.node_id, 6)
    original = raw_of(world.period[i])

    @settings(max_examples=80, deadline=None)
    @given(bit=st.integers(min_value=0, max_value=len(original) * 8 - 1))
    def flip(bit: int) -> None:
        raw = bytearray(original)
        raw[bit // 8] ^= 1 << (bit % 8)
        lines = [*world.period]
        lines[i] = with_raw(lines[i], bytes(raw))
        found = classes(lines, world)
        assert "altered_record" in found
        assert found <= {"altered_record", "dropped_record", "unknown_key"}

    flip()


# ------------------------------------------------------------------ chains


def test_dropped_record(world: World) -> None:
    i = where(world.period, world.b.node_id, 4)
    found = check(fix_end(world.period[:i] + world.period[i + 1 :]), world)
    # the chain misses seq 4, and this bundle of every commune misses its leaf
    assert [(f.cls, f.seq) for f in found] == [("dropped_record", 4), ("dropped_record", None)]


def test_dropped_line_without_fixing_the_counts_is_also_truncation(world: World) -> None:
    i = where(world.period, world.b.node_id, 4)
    assert classes(world.period[:i] + world.period[i + 1 :], world) == {
        "dropped_record",
        "truncated",
    }


def test_reordered_records(world: World) -> None:
    i, j = where(world.period, world.b.node_id, 4), where(world.period, world.b.node_id, 5)
    assert j == i + 1  # one push, one checkpoint window
    lines = [*world.period]
    lines[i], lines[j] = lines[j], lines[i]
    found = check(lines, world)
    assert [(f.cls, f.seq) for f in found] == [("reordered", 4)]


def test_duplicated_record(world: World) -> None:
    i = where(world.period, world.b.node_id, 4)
    for at in (i + 1, len(world.period) - 1):  # right after it, and at the end of the log
        lines = fix_end([*world.period[:at], world.period[i], *world.period[at:]])
        found = check(lines, world)
        assert [(f.cls, f.seq) for f in found] == [("duplicate_record", 4)]


@pytest.mark.parametrize("seq", [2, 3])
def test_missing_start_of_a_chain(world: World, seq: int) -> None:
    """Seq 2 is the record before the period (its edge), seq 3 the first in it (its leaf
    is missing from this bundle of every commune too)."""
    i = where(world.period, world.b.node_id, seq)
    found = check(fix_end(world.period[:i] + world.period[i + 1 :]), world)
    extra = {"dropped_record"} if seq == 3 else set()
    assert {f.cls for f in found} == {"missing_start"} | extra
    assert found[0].node == world.b.node_id


@pytest.mark.parametrize("seq", [6, 7])
def test_missing_end_of_a_chain(world: World, seq: int) -> None:
    """Seq 6 is the last record in the period (its leaf is missing from this bundle of every
    commune too), seq 7 the one after it (its edge)."""
    i = where(world.period, world.b.node_id, seq)
    found = check(fix_end(world.period[:i] + world.period[i + 1 :]), world)
    extra = {"dropped_record"} if seq == 6 else set()
    assert {f.cls for f in found} == {"missing_end"} | extra
    assert found[0].node == world.b.node_id


# ------------------------------------------------------------------ proofs


def test_record_not_covered_by_any_proof(world: World) -> None:
    i = where(world.period, world.b.node_id, 4)
    found = check(edit(world.period, i, proof=None), world)
    assert [(f.cls, f.seq) for f in found] == [("unproven_record", 4)]


def test_inclusion_proof_for_the_wrong_leaf(world: World) -> None:
    lines = world.only_b
    i = where(lines, world.b.node_id, 6)  # alone in its push: its window holds one leaf
    leaf = obj(lines[i])["leaf"]
    for wrong in (leaf + 1, leaf - 1):
        found = check(edit(lines, i, leaf=wrong), world)
        assert "bad_inclusion_proof" in {f.cls for f in found}
        assert {f.cls for f in found} <= {"bad_inclusion_proof", "reordered"}


def test_inclusion_proof_for_the_wrong_tree_size(world: World) -> None:
    i = where(world.period, world.b.node_id, 4)
    size = obj(world.period[i])["proof"]["size"]
    for wrong in (size * 2, size + 1, size - 1):
        found = check(edit(world.period, i, proof_size=wrong), world)
        assert [(f.cls, f.seq) for f in found] == [("bad_inclusion_proof", 4)]


@pytest.mark.parametrize("change", ["extra", "missing", "garbage_after", "flipped"])
def test_proof_with_extra_or_missing_hashes(world: World, change: str) -> None:
    i = where(world.period, world.a.node_id, 6)
    proof = proof_bytes(world.period[i])
    altered = {
        "extra": proof + bytes(32),
        "missing": proof[:-32],
        "garbage_after": proof + b"\x00\x01",
        "flipped": bytes([proof[0] ^ 1]) + proof[1:],
    }[change]
    lines = edit(world.period, i, proof_hashes=base64.b64encode(altered).decode())
    found = check(lines, world)
    assert [(f.cls, f.seq) for f in found] == [("bad_inclusion_proof", 6)]


# ------------------------------------------------------------------ checkpoints


def _cp(line: bytes) -> dict[str, object]:
    signed = base64.b64decode(obj(line)["signed"])
    body: dict[str, object] = json.loads(signed[len(protocol.CHECKPOINT_PREFIX) : -64])
    return body


def _checkpoint_lines(lines: list[bytes]) -> list[int]:
    return [i for i, ln in enumerate(lines) if obj(ln)["kind"] == "checkpoint"]


def test_checkpoint_inconsistent_with_an_earlier_one(world: World) -> None:
    i = _checkpoint_lines(world.period)[3]
    o = obj(world.period[i])
    hashes = bytearray(base64.b64decode(o["consistency"]["hashes"]))
    hashes[5] ^= 1
    o["consistency"]["hashes"] = base64.b64encode(bytes(hashes)).decode()
    lines = [*world.period[:i], dump(o), *world.period[i + 1 :]]
    assert classes(lines, world) == {"inconsistent_checkpoint"}


def test_checkpoint_without_its_consistency_proof(world: World) -> None:
    i = _checkpoint_lines(world.period)[3]
    assert classes(edit(world.period, i, consistency=None), world) == {"unproven_checkpoint"}


def test_checkpoint_not_signed_by_the_hub(world: World) -> None:
    i = _checkpoint_lines(world.period)[3]
    signed = bytearray(base64.b64decode(obj(world.period[i])["signed"]))
    signed[-3] ^= 1
    lines = edit(world.period, i, signed=base64.b64encode(bytes(signed)).decode())
    found = classes(lines, world)
    assert "bad_checkpoint_signature" in found
    # what leaned on it is unproven, nothing else
    assert found <= {"bad_checkpoint_signature", "unproven_record", "unproven_checkpoint"}


def test_pinned_key_of_another_hub(world: World) -> None:
    other = keys.public_bytes(keys.generate())
    report = verify_bundle(world.period, hub_public_key=other)
    assert {"hub_key_mismatch", "bad_checkpoint_signature"} <= set(report.by_class)
    assert not report.ok


def test_shifted_period_edges(world: World) -> None:
    header = obj(world.period[0])
    sizes = [_cp(world.period[i])["size"] for i in _checkpoint_lines(world.period)]
    start, end = header["period"]["start"], header["period"]["end"]
    inside = [s for s in sizes if start < s < end]
    later_start = {**header, "period": {**header["period"], "start": inside[0]}}
    earlier_end = {**header, "period": {**header["period"], "end": inside[-1]}}
    assert "missing_start" in classes([dump(later_start), *world.period[1:]], world)
    assert "missing_end" in classes([dump(earlier_end), *world.period[1:]], world)


# ------------------------------------------------------------------ keys and time (real hub)


def test_event_signed_by_a_revoked_key_after_revocation(world: World) -> None:
    c, lines = world.mischief["revoked"]
    found = check(lines, world)
    assert [(f.cls, f.seq) for f in found] == [("revoked_key", 2), ("revoked_key", 3)]
    assert all(f.node == c.node_id and f.leaf is not None and f.record_id for f in found)


def test_hidden_revocation_is_found_in_the_hub_chain(world: World) -> None:
    c, lines = world.mischief["revoked"]
    i = next(
        k for k, ln in enumerate(lines) if obj(ln)["kind"] == "key" and obj(ln)["node"] == c.node_id
    )
    found = check(edit(lines, i, revocation=None, last_valid_seq=None, revoked_at=None), world)
    assert {f.cls for f in found} == {"unproven_key", "revoked_key"}
    assert sorted(f.seq for f in found if f.cls == "revoked_key") == [2, 3]  # type: ignore[type-var]


def test_key_line_without_its_evidence(world: World) -> None:
    i = next(
        k for k, ln in enumerate(world.period) if obj(ln)["kind"] == "key" and obj(ln)["rotation"]
    )
    found = classes(edit(world.period, i, rotation=None), world)
    assert "unproven_key" in found
    assert found <= {"unproven_key"}


def test_back_dated_event(world: World) -> None:
    c, lines = world.mischief["backdated"]
    found = check(lines, world)
    assert [(f.cls, f.node, f.seq) for f in found] == [("backdated", c.node_id, 2)]


def test_post_dated_event(world: World) -> None:
    _c, lines = world.mischief["postdated"]
    assert [(f.cls, f.seq) for f in check(lines, world)] == [("postdated", 2)]


@pytest.mark.parametrize("name", ["bad_root", "future"])
def test_anchor_that_does_not_exist(world: World, name: str) -> None:
    _c, lines = world.mischief[name]
    assert [(f.cls, f.seq) for f in check(lines, world)] == [("anchor_missing", 2)]


def test_offline_window_longer_than_the_policy(world: World) -> None:
    _c, lines = world.mischief["offline"]
    found = check(lines, world)
    assert [(f.cls, f.seq, f.detail.get("last_seq")) for f in found] == [("offline_window", 2, 3)]
    assert check(lines, world, policy=Policy(max_offline=timedelta(days=11))) == []


# ------------------------------------------------------------------ a hub that misbehaves


@pytest.fixture
def forge() -> Forge:
    f = Forge()
    w = f.node()
    f.push(w, 2)
    f.push(f.node("000.00.13.H26", "Xã B"), 1)
    return f


def _w(f: Forge) -> Writer:
    return next(w for w in f.writers.values() if w.agency == "000.00.12.H26")


def test_forge_bundle_passes_untouched(forge: Forge) -> None:
    assert verify_bundle(forge.bundle(), hub_public_key=keys.public_bytes(forge.hub_key)).ok


def test_event_by_an_unknown_key(forge: Forge) -> None:
    w = _w(forge)
    rec = forge.write(w, key=keys.generate())
    forge.append(rec.raw)
    forge.checkpoint()
    found = verify_bundle(forge.bundle()).findings
    assert [(f.cls, f.seq) for f in found] == [("unknown_key", 3)]


def test_hub_logged_a_badly_signed_record(forge: Forge) -> None:
    w = _w(forge)
    rec = forge.write(w)
    forge.append(rec.raw[:-1] + bytes([rec.raw[-1] ^ 1]))
    forge.checkpoint()
    assert [(f.cls, f.seq) for f in verify_bundle(forge.bundle()).findings] == [
        ("bad_signature", 3)
    ]


def test_forked_chain_two_records_at_one_seq(forge: Forge) -> None:
    w = _w(forge)
    one = forge.write(w, data={"v": 1}, advance=False)
    two = forge.write(w, data={"v": 2})
    forge.append(one.raw)
    forge.append(two.raw)
    forge.checkpoint()
    found = verify_bundle(forge.bundle()).findings
    assert [(f.cls, f.seq) for f in found] == [("fork", 3)]
    assert found[0].detail["other_leaf"] == forge.log[-2].leaf


def test_fork_shown_by_the_next_link(forge: Forge) -> None:
    """The log holds seq 3 and 4, then a seq 5 that continues another seq 4."""
    w = _w(forge)
    three, four = forge.push(w, 2)
    w.seq, w.prev = four.seq - 1, three.id
    forge.write(w, data={"hidden": True})  # another seq 4, never logged
    five = forge.write(w)
    forge.append(five.raw)
    forge.checkpoint()
    found = verify_bundle(forge.bundle()).findings
    assert [(f.cls, f.seq) for f in found] == [("fork", 5)]


def test_hub_logged_a_chain_out_of_order(forge: Forge) -> None:
    w = _w(forge)
    three, four = forge.write(w), forge.write(w)
    forge.append(four.raw)
    forge.append(three.raw)
    forge.checkpoint()
    found = verify_bundle(forge.bundle()).findings
    assert [(f.cls, f.seq) for f in found] == [("reordered", 4)]


def test_hub_logged_one_record_twice(forge: Forge) -> None:
    w = _w(forge)
    rec = forge.write(w)
    forge.append(rec.raw)
    forge.append(rec.raw)
    forge.checkpoint()
    found = verify_bundle(forge.bundle()).findings
    assert [(f.cls, f.seq) for f in found] == [("duplicate_record", 3)]


def test_anchor_naming_a_checkpoint_left_out_of_the_bundle(forge: Forge) -> None:
    w = _w(forge)
    forge.push(w, 1)  # anchored on the checkpoint of its previous push
    anchored = w.anchor
    assert anchored is not None
    forge.push(w, 1)
    keep = lambda size: size != anchored.size  # noqa: E731
    found = verify_bundle(forge.bundle(checkpoints=keep)).findings
    assert [(f.cls, f.seq) for f in found] == [("anchor_missing", 4)]


def test_split_view_of_the_auditors_checkpoint(forge: Forge) -> None:
    size, _root, _ = forge.checkpoints[1]
    theirs = forge.sign_checkpoint(size, bytes(32))
    report = verify_bundle(forge.bundle(), trusted_checkpoint=theirs)
    assert set(report.by_class) == {"inconsistent_checkpoint"}
    ok = verify_bundle(forge.bundle(), trusted_checkpoint=forge.checkpoints[1][2])
    assert ok.ok and ok.header["trusted_checkpoint"]["linked"] is True


def test_two_roots_for_one_size_in_the_bundle(forge: Forge) -> None:
    lines = forge.bundle()
    i = _checkpoint_lines(lines)[1]
    o = obj(lines[i])
    size = forge.checkpoints[1][0]
    o["signed"] = base64.b64encode(forge.sign_checkpoint(size, bytes(32))).decode()
    lines = fix_end([*lines[: i + 1], dump(o), *lines[i + 1 :]])
    assert set(verify_bundle(lines).by_class) == {"inconsistent_checkpoint"}


def test_cosignatures_witness_and_split_views(forge: Forge) -> None:
    w = _w(forge)
    size, _root, _ = forge.checkpoints[-1]
    forge.cosign(w, size)
    report = verify_bundle(forge.bundle(), policy=Policy(min_cosignatures=1))
    assert report.ok and report.counts["cosignatures"] == 1
    forge.cosign(w, forge.checkpoints[0][0], root=bytes(32))
    assert set(verify_bundle(forge.bundle()).by_class) == {"inconsistent_checkpoint"}


def test_bad_cosignature_and_unwitnessed_log(forge: Forge) -> None:
    lines = forge.bundle()
    assert set(verify_bundle(lines, policy=Policy(min_cosignatures=1)).by_class) == {"unwitnessed"}
    w = _w(forge)
    forge.cosign(w, forge.checkpoints[-1][0])
    lines = forge.bundle()
    i = next(k for k, ln in enumerate(lines) if obj(ln)["kind"] == "cosignature")
    signed = bytearray(base64.b64decode(obj(lines[i])["signed"]))
    signed[-1] ^= 1
    lines = edit(lines, i, signed=base64.b64encode(bytes(signed)).decode())
    assert set(verify_bundle(lines).by_class) == {"bad_cosignature"}


# ------------------------------------------------------------------ the file itself


def test_cut_short(world: World) -> None:
    assert classes(world.period[:-1], world) == {"truncated"}
    blob = b"".join(world.period)
    cut = blob[: len(blob) // 2].splitlines(keepends=True)
    assert "truncated" in classes(cut, world)


def test_unknown_and_misplaced_lines_are_findings(world: World) -> None:
    lines = [*world.period]
    lines.insert(5, b'{"kind":"comment","text":"hi"}\n')
    lines.insert(len(lines) - 2, b"\x00\x01 not json\n")
    node_line = next(ln for ln in world.period if obj(ln)["kind"] == "node")
    lines.insert(len(lines) - 2, node_line)
    found = check(fix_end(lines), world)
    assert {f.cls for f in found} == {"malformed"}
    assert len(found) == 3


def test_fuzzed_bundles_never_crash_the_verifier(world: World) -> None:
    @settings(max_examples=150, deadline=None)
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        _fuzz(world, data)

    fuzz()


def _fuzz(world: World, data: st.DataObject) -> None:
    lines = [*world.only_b]
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        i = data.draw(st.integers(min_value=0, max_value=len(lines) - 1))
        how = data.draw(st.sampled_from(["flip", "cut", "drop", "dup", "junk", "json"]))
        line = lines[i]
        if how == "flip" and line:
            k = data.draw(st.integers(min_value=0, max_value=len(line) - 1))
            lines[i] = line[:k] + bytes([line[k] ^ data.draw(st.integers(1, 255))]) + line[k + 1 :]
        elif how == "cut":
            lines[i] = line[: data.draw(st.integers(min_value=0, max_value=len(line)))]
        elif how == "drop":
            del lines[i]
        elif how == "dup":
            lines.insert(i, line)
        elif how == "junk":
            lines.insert(i, data.draw(st.binary(max_size=200)))
        else:
            value = data.draw(
                st.recursive(
                    st.none() | st.integers() | st.text(max_size=5) | st.booleans(),
                    lambda x: (
                        st.lists(x, max_size=3)
                        | st.dictionaries(
                            st.sampled_from(
                                ["kind", "leaf", "raw", "proof", "size", "hashes", "signed", "node"]
                            ),
                            x,
                            max_size=4,
                        )
                    ),
                    max_leaves=10,
                )
            )
            lines[i] = json.dumps(value).encode()
        if not lines:
            break
    try:
        report = verify_bundle(lines, hub_public_key=world.key)
    except BundleError:
        return
    assert report.counts["lines"] == len(lines)


def test_hostile_numbers_stay_bounded(world: World) -> None:
    end = obj(world.period[-1])
    huge = {**end, "counts": {"record": 10**18, "checkpoint": 2**62}}
    assert classes([*world.period[:-1], dump(huge)], world) == {"truncated"}
    f = Forge()
    w = f.node()
    for seq in (1, 2**40, 2**52):
        w.seq, w.prev = seq - 1, "ab" * 32 if seq > 1 else None
        f.append(f.write(w).raw)
    f.checkpoint()
    report = verify_bundle(f.bundle())
    assert "dropped_record" in report.by_class  # noticed, and no gap was allocated


def test_merkle_reference_agrees_on_the_real_export(world: World) -> None:
    """The exporter's proofs verify with the reference RFC 9162 code too."""
    checkpoints = {}
    for ln in world.period:
        o = obj(ln)
        if o["kind"] == "checkpoint":
            body = _cp(ln)
            checkpoints[body["size"]] = bytes.fromhex(str(body["root"]))
        elif o["kind"] == "record":
            proof = base64.b64decode(o["proof"]["hashes"])
            merkle.verify_inclusion(
                merkle.leaf_hash(base64.b64decode(o["raw"])),
                o["leaf"],
                o["proof"]["size"],
                [proof[k : k + 32] for k in range(0, len(proof), 32)],
                checkpoints[o["proof"]["size"]],
            )
