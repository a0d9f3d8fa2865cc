"""Tests of common.merkle against RFC 6962/9162, a naive reference, and a 1M-leaf tree.

Known-answer vectors are those of the certificate-transparency / transparency-dev/merkle
Go test suites (testonly/constants.go and proof/verify_test.go): the 8 leaf inputs, every
perfect-subtree hash, the roots of sizes 0..8, and their inclusion and consistency proofs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common import merkle
from common.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MemoryNodes,
    NodeKey,
    ProofError,
    TreeDataError,
    TreeRangeError,
    consistency_proof,
    consistency_proof_keys,
    inclusion_proof,
    inclusion_proof_keys,
    leaf_hash,
    node_hash,
    root_from_inclusion,
    root_from_leaf_hashes,
    subtree_hash,
    verify_consistency,
    verify_inclusion,
)

# ----------------------------------------------------------------------------- naive reference
# Written straight from RFC 9162 §2.1, with hashlib only, independent of common.merkle.


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_mth(hs: Sequence[bytes]) -> bytes:
    if not hs:
        return _sha(b"")
    if len(hs) == 1:
        return hs[0]
    k = _k(len(hs))
    return _sha(b"\x01" + naive_mth(hs[:k]) + naive_mth(hs[k:]))


def naive_path(m: int, hs: Sequence[bytes]) -> list[bytes]:
    if len(hs) == 1:
        return []
    k = _k(len(hs))
    if m < k:
        return [*naive_path(m, hs[:k]), naive_mth(hs[k:])]
    return [*naive_path(m - k, hs[k:]), naive_mth(hs[:k])]


def naive_subproof(m: int, hs: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(hs)
    if m == n:
        return [] if b else [naive_mth(hs)]
    k = _k(n)
    if m <= k:
        return [*naive_subproof(m, hs[:k], b), naive_mth(hs[k:])]
    return [*naive_subproof(m - k, hs[k:], False), naive_mth(hs[:k])]


def naive_proof(m: int, hs: Sequence[bytes]) -> list[bytes]:
    return naive_subproof(m, hs, True)


# ----------------------------------------------------------------------------- RFC vectors


def h(x: str) -> bytes:
    return bytes.fromhex(x)


LEAF_INPUTS = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]
LEAVES = [_sha(b"\x00" + d) for d in LEAF_INPUTS]

NODE_HASHES = [
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]

ROOTS = {
    0: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}

# The published prefixes the brief quotes, checked against the full values above.
PUBLISHED_PREFIXES = [
    "6e340b9c",
    "fac54203",
    "aeb6bcfe",
    "d37ee418",
    "4e3bbb1f",
    "76e67dad",
    "ddb89be4",
    "5dc9da79",
]

# (leaf index (0-based), tree size) -> PATH.  The Go suite numbers leaves from 1.
INCLUSION_VECTORS: dict[tuple[int, int], list[str]] = {
    (0, 1): [],
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 3): ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    (1, 5): [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
    # Not in the Go list; its one hash is leaf 0's hash (NodeHashes[0][0]).
    (1, 2): ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"],
}

CONSISTENCY_VECTORS: dict[tuple[int, int], list[str]] = {
    (1, 1): [],
    (1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
    (6, 7): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}

SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")
RFC_STORE = MemoryNodes.from_leaf_hashes(LEAVES)


def test_hash_primitives() -> None:
    assert leaf_hash(b"") == h(NODE_HASHES[0][0])
    assert node_hash(LEAVES[0], LEAVES[1]) == h(NODE_HASHES[1][0])
    assert EMPTY_ROOT == h(ROOTS[0]) == _sha(b"")
    assert [leaf_hash(d) for d in LEAF_INPUTS] == [h(x) for x in NODE_HASHES[0]]


def test_published_root_prefixes_match_full_values() -> None:
    assert [ROOTS[n][:8] for n in range(1, 9)] == PUBLISHED_PREFIXES


@pytest.mark.parametrize("size", range(9))
def test_rfc_roots(size: int) -> None:
    want = h(ROOTS[size])
    assert root_from_leaf_hashes(LEAVES[:size]) == want
    assert naive_mth(LEAVES[:size]) == want
    tree = CompactRange()
    tree.extend(LEAVES[:size])
    assert tree.size == size
    assert tree.root() == want
    assert merkle.root(RFC_STORE, size) == want
    assert CompactRange.from_nodes(size, RFC_STORE).root() == want


def test_rfc_node_table_is_exactly_what_appends_store() -> None:
    want = {
        (level, index): h(x) for level, row in enumerate(NODE_HASHES) for index, x in enumerate(row)
    }
    assert RFC_STORE.nodes == want


@pytest.mark.parametrize(("index", "size"), sorted(INCLUSION_VECTORS))
def test_rfc_inclusion_proofs(index: int, size: int) -> None:
    want = [h(x) for x in INCLUSION_VECTORS[(index, size)]]
    assert naive_path(index, LEAVES[:size]) == want
    assert inclusion_proof(RFC_STORE, index, size) == want
    root = h(ROOTS[size])
    assert root_from_inclusion(LEAVES[index], index, size, want) == root
    verify_inclusion(LEAVES[index], index, size, want, root)
    assert_inclusion_corruptions_fail(LEAVES[index], index, size, want, root)


@pytest.mark.parametrize(("old", "new"), sorted(CONSISTENCY_VECTORS))
def test_rfc_consistency_proofs(old: int, new: int) -> None:
    want = [h(x) for x in CONSISTENCY_VECTORS[(old, new)]]
    if old < new:
        assert naive_proof(old, LEAVES[:new]) == want
    assert consistency_proof(RFC_STORE, old, new) == want
    verify_consistency(old, new, h(ROOTS[old]), h(ROOTS[new]), want)
    if want:
        assert_consistency_corruptions_fail(old, new, h(ROOTS[old]), h(ROOTS[new]), want)


def test_all_small_proofs_match_naive_and_verify() -> None:
    for size in range(1, 9):
        for index in range(size):
            proof = inclusion_proof(RFC_STORE, index, size)
            assert proof == naive_path(index, LEAVES[:size])
            verify_inclusion(LEAVES[index], index, size, proof, h(ROOTS[size]))
        for old in range(0, size + 1):
            proof = consistency_proof(RFC_STORE, old, size)
            if 0 < old < size:
                assert proof == naive_proof(old, LEAVES[:size])
            else:
                assert proof == []
            verify_consistency(old, size, h(ROOTS[old]), h(ROOTS[size]), proof)


# ----------------------------------------------------------------------------- corruptions


def _flip(b: bytes, bit: int = 3) -> bytes:
    return bytes([b[0] ^ (1 << bit)]) + b[1:]


def assert_inclusion_corruptions_fail(
    leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes
) -> None:
    probes: list[tuple[str, bytes, int, int, list[bytes], bytes]] = [
        ("index - 1", leaf, index - 1, size, proof, root),
        ("index + 1", leaf, index + 1, size, proof, root),
        ("index ^ 2", leaf, index ^ 2, size, proof, root),
        ("size * 2", leaf, index, size * 2, proof, root),
        ("size // 2", leaf, index, size // 2, proof, root),
        ("wrong leaf", leaf_hash(b"WrongLeaf"), index, size, proof, root),
        ("empty root", leaf, index, size, proof, EMPTY_ROOT),
        ("random root", leaf, index, size, proof, SOME_HASH),
        ("flipped root", leaf, index, size, proof, _flip(root)),
        ("trailing garbage", leaf, index, size, [*proof, SOME_HASH], root),
        ("trailing root", leaf, index, size, [*proof, root], root),
        ("trailing empty", leaf, index, size, [*proof, b""], root),
        ("preceding garbage", leaf, index, size, [SOME_HASH, *proof], root),
        ("preceding root", leaf, index, size, [root, *proof], root),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = _flip(wrong[i])
        probes.append((f"flipped proof[{i}]", leaf, index, size, wrong, root))
        probes.append((f"dropped proof[{i}]", leaf, index, size, proof[:i] + proof[i + 1 :], root))
        probes.append(
            (f"inserted at {i}", leaf, index, size, [*proof[:i], SOME_HASH, *proof[i:]], root)
        )
        probes.append((f"short proof[{i}]", leaf, index, size, [*proof[:i], wrong[i][:31]], root))
    verified = []
    for desc, lf, ix, sz, pf, rt in probes:
        try:
            verify_inclusion(lf, ix, sz, pf, rt)
        except ProofError:
            continue
        verified.append(desc)
    assert verified == [], f"({index}, {size}) verified corrupted: {verified}"


def assert_consistency_corruptions_fail(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> None:
    probes: list[tuple[str, int, int, bytes, bytes, list[bytes]]] = [
        ("old - 1", old - 1, new, old_root, new_root, proof),
        ("old + 1", old + 1, new, old_root, new_root, proof),
        ("old ^ 2", old ^ 2, new, old_root, new_root, proof),
        # Not new ± 1: a proof fixes the tree's shape, and neighbouring sizes can share it;
        # the signed checkpoint binds size and root together (see common.merkle).
        ("new * 2", old, new * 2, old_root, new_root, proof),
        ("new // 2", old, new // 2, old_root, new_root, proof),
        ("wrong old root", old, new, SOME_HASH, new_root, proof),
        ("wrong new root", old, new, old_root, SOME_HASH, proof),
        ("flipped old root", old, new, _flip(old_root), new_root, proof),
        ("flipped new root", old, new, old_root, _flip(new_root), proof),
        ("swapped roots", old, new, new_root, old_root, proof),
        ("empty proof", old, new, old_root, new_root, []),
        ("trailing garbage", old, new, old_root, new_root, [*proof, SOME_HASH]),
        ("trailing old root", old, new, old_root, new_root, [*proof, old_root]),
        ("trailing new root", old, new, old_root, new_root, [*proof, new_root]),
        ("preceding garbage", old, new, old_root, new_root, [SOME_HASH, *proof]),
        ("preceding old root", old, new, old_root, new_root, [old_root, *proof]),
        ("preceding new root", old, new, old_root, new_root, [new_root, *proof]),
        ("preceding proof[0]", old, new, old_root, new_root, [proof[0], *proof]),
        ("trailing empty", old, new, old_root, new_root, [*proof, b""]),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = _flip(wrong[i], 4)
        probes.append((f"flipped proof[{i}]", old, new, old_root, new_root, wrong))
        probes.append(
            (f"dropped proof[{i}]", old, new, old_root, new_root, proof[:i] + proof[i + 1 :])
        )
        probes.append(
            (f"inserted at {i}", old, new, old_root, new_root, [*proof[:i], SOME_HASH, *proof[i:]])
        )
        probes.append(
            (f"long proof[{i}]", old, new, old_root, new_root, [*proof[:i], wrong[i] + b"\0"])
        )
    verified = []
    for desc, o, n, r1, r2, pf in probes:
        try:
            verify_consistency(o, n, r1, r2, pf)
        except ProofError:
            continue
        verified.append(desc)
    assert verified == [], f"({old}, {new}) verified corrupted: {verified}"


# ----------------------------------------------------------------------------- properties

MAX_SIZE = 300


@cache
def big_leaves() -> tuple[bytes, ...]:
    return tuple(leaf_hash(b"entry %d" % i) for i in range(MAX_SIZE))


@cache
def big_store() -> MemoryNodes:
    return MemoryNodes.from_leaf_hashes(big_leaves())


@cache
def naive_root(size: int) -> bytes:
    return naive_mth(big_leaves()[:size])


@st.composite
def size_and_index(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, MAX_SIZE))
    return size, draw(st.integers(0, size - 1))


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    new = draw(st.integers(2, MAX_SIZE))
    return draw(st.integers(1, new - 1)), new


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=8), max_size=MAX_SIZE))
def test_compact_range_root_equals_mth(data: list[bytes]) -> None:
    hashes = [leaf_hash(d) for d in data]
    tree = CompactRange()
    store = MemoryNodes()
    for i, lh in enumerate(hashes):
        completed = tree.append(lh)
        assert completed[0] == (0, i, lh)
        assert [lv for lv, _, _ in completed] == list(range(len(completed)))
        for level, index, hsh in completed:
            assert hsh == naive_mth(hashes[index << level : (index + 1) << level])
        store.add(completed)
        assert tree.size == i + 1
    want = naive_mth(hashes)
    assert root_from_leaf_hashes(hashes) == want
    assert tree.root() == want
    assert merkle.root(store, len(hashes)) == want
    rebuilt = CompactRange.from_nodes(len(hashes), store)
    assert rebuilt.frontier() == tree.frontier()
    assert rebuilt.root() == want
    # The store holds every perfect subtree and nothing else: 2n - popcount(n) nodes.
    assert len(store) == 2 * len(hashes) - bin(len(hashes)).count("1")


@settings(max_examples=150, deadline=None)
@given(size_and_index())
def test_inclusion_property(case: tuple[int, int]) -> None:
    size, index = case
    leaves = big_leaves()
    root = naive_root(size)
    assert merkle.root(big_store(), size) == root
    proof = inclusion_proof(big_store(), index, size)
    assert proof == naive_path(index, leaves[:size])
    assert len(inclusion_proof_keys(index, size)) <= 2 * size.bit_length() + 2
    assert root_from_inclusion(leaves[index], index, size, proof) == root
    verify_inclusion(leaves[index], index, size, proof, root)
    assert_inclusion_corruptions_fail(leaves[index], index, size, proof, root)
    neighbour = leaves[index + 1] if index + 1 < size else leaves[index - 1] if index else None
    if neighbour is not None:
        with pytest.raises(ProofError):
            verify_inclusion(neighbour, index, size, proof, root)


@settings(max_examples=150, deadline=None)
@given(two_sizes())
def test_consistency_property(case: tuple[int, int]) -> None:
    old, new = case
    leaves = big_leaves()
    old_root, new_root = naive_root(old), naive_root(new)
    proof = consistency_proof(big_store(), old, new)
    assert proof == naive_proof(old, leaves[:new])
    assert proof
    assert len(consistency_proof_keys(old, new)) <= 2 * new.bit_length() + 2
    verify_consistency(old, new, old_root, new_root, proof)
    assert_consistency_corruptions_fail(old, new, old_root, new_root, proof)
    # A tree that differs from the old one in one leaf is not a prefix.
    other = list(leaves[:new])
    other[old - 1] = leaf_hash(b"rewritten history")
    with pytest.raises(ProofError):
        verify_consistency(old, new, old_root, naive_mth(other), proof)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, MAX_SIZE), st.integers(0, MAX_SIZE))
def test_subtree_hash_for_aligned_ranges(a: int, b: int) -> None:
    start, end = min(a, b), max(a, b)
    top = 1 << max(0, (end - start).bit_length() - 1)
    if start % top:
        with pytest.raises(TreeRangeError):
            subtree_hash(big_store(), start, end)
    else:
        assert subtree_hash(big_store(), start, end) == naive_mth(big_leaves()[start:end])


def test_mth_exhaustive_small_sizes() -> None:
    leaves = big_leaves()
    tree = CompactRange()
    for n in range(0, 130):
        assert root_from_leaf_hashes(leaves[:n]) == naive_mth(leaves[:n]) == tree.root()
        tree.append(leaves[n])


# ----------------------------------------------------------------------------- edge cases


def reason(exc: pytest.ExceptionInfo[ProofError]) -> str:
    return str(exc.value.detail["reason"])


def test_inclusion_edges() -> None:
    one = leaf_hash(b"data")
    verify_inclusion(one, 0, 1, [], one)
    with pytest.raises(ProofError) as e:
        verify_inclusion(one, 0, 0, [], EMPTY_ROOT)
    assert reason(e) == "index_out_of_range"
    with pytest.raises(ProofError) as e:
        verify_inclusion(one, 3, 3, [SOME_HASH], one)
    assert reason(e) == "index_out_of_range"
    with pytest.raises(ProofError) as e:
        verify_inclusion(one, 0, 1, [one], one)
    assert reason(e) == "proof_too_long"
    with pytest.raises(ProofError) as e:
        verify_inclusion(LEAVES[0], 0, 8, [h(INCLUSION_VECTORS[(0, 8)][0])], h(ROOTS[8]))
    assert reason(e) == "proof_too_short"
    with pytest.raises(ProofError) as e:
        verify_inclusion(one, 0, 1, [], SOME_HASH)
    assert reason(e) == "root_mismatch"
    for bad in (b"", b"\0" * 31, b"\0" * 33):
        with pytest.raises(ProofError) as e:
            verify_inclusion(bad, 0, 1, [], one)
        assert reason(e) == "bad_hash"
        with pytest.raises(ProofError) as e:
            verify_inclusion(one, 0, 1, [], bad)
        assert reason(e) == "bad_hash"
        with pytest.raises(ProofError) as e:
            verify_inclusion(LEAVES[0], 0, 2, [bad], h(ROOTS[2]))
        assert reason(e) == "bad_hash"
    for bad_size in (-1, True, 1.0, "1"):
        with pytest.raises(ProofError) as e:
            verify_inclusion(one, 0, bad_size, [], one)  # type: ignore[arg-type]
        assert reason(e) == "bad_size"
    with pytest.raises(ProofError) as e:
        verify_inclusion("x" * 32, 0, 1, [], one)  # type: ignore[arg-type]
    assert reason(e) == "bad_hash"


def test_consistency_edges() -> None:
    r5 = h(ROOTS[5])
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 5, EMPTY_ROOT, r5, [])
    verify_consistency(5, 5, r5, r5, [])
    cases: list[tuple[str, int, int, bytes, bytes, list[bytes]]] = [
        ("unexpected_proof", 0, 5, EMPTY_ROOT, r5, [SOME_HASH]),
        ("unexpected_proof", 0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]),
        ("unexpected_proof", 5, 5, r5, r5, [r5]),
        ("old_root_mismatch", 0, 5, SOME_HASH, r5, []),
        ("root_mismatch", 5, 5, r5, SOME_HASH, []),
        ("root_mismatch", 0, 0, EMPTY_ROOT, SOME_HASH, []),
        ("sizes_reversed", 5, 3, r5, h(ROOTS[3]), []),
        ("sizes_reversed", 1, 0, h(ROOTS[1]), EMPTY_ROOT, []),
        ("empty_proof", 1, 2, h(ROOTS[1]), h(ROOTS[2]), []),
        ("empty_proof", 6, 8, h(ROOTS[6]), h(ROOTS[8]), []),
        ("bad_hash", 5, 5, b"short", r5, []),
        ("bad_hash", 5, 5, r5, b"short", []),
        ("bad_hash", 2, 5, h(ROOTS[2]), r5, [b"\0" * 31, SOME_HASH]),
        ("bad_size", -1, 5, r5, r5, []),
        ("proof_too_long", 6, 8, h(ROOTS[6]), h(ROOTS[8]), [SOME_HASH] * 4),
        ("proof_too_short", 6, 8, h(ROOTS[6]), h(ROOTS[8]), [SOME_HASH] * 2),
    ]
    six_eight = [h(x) for x in CONSISTENCY_VECTORS[(6, 8)]]
    cases.append(("old_root_mismatch", 6, 8, h(ROOTS[5]), h(ROOTS[8]), six_eight))
    cases.append(("new_root_mismatch", 6, 8, h(ROOTS[6]), h(ROOTS[7]), six_eight))
    for want, old, new, r1, r2, proof in cases:
        with pytest.raises(ProofError) as e:
            verify_consistency(old, new, r1, r2, proof)
        assert reason(e) == want, (want, old, new)
        assert e.value.code == "bad_proof"
        assert e.value.status == 400
        assert e.value.vi and e.value.en


def test_generation_argument_errors() -> None:
    with pytest.raises(TreeRangeError):
        inclusion_proof(RFC_STORE, 8, 8)
    with pytest.raises(TreeRangeError):
        inclusion_proof(RFC_STORE, 0, 0)
    with pytest.raises(TreeRangeError):
        inclusion_proof(RFC_STORE, -1, 8)
    with pytest.raises(TreeRangeError):
        consistency_proof(RFC_STORE, 6, 5)
    with pytest.raises(TreeRangeError):
        consistency_proof_keys(1, -1)
    with pytest.raises(TreeRangeError):
        subtree_hash(RFC_STORE, 1, 4)
    with pytest.raises(TreeRangeError):
        subtree_hash(RFC_STORE, 4, 2)
    assert consistency_proof(RFC_STORE, 0, 8) == []
    assert consistency_proof(RFC_STORE, 8, 8) == []
    assert consistency_proof_keys(0, 8) == []
    assert merkle.root(RFC_STORE, 0) == EMPTY_ROOT
    assert subtree_hash(RFC_STORE, 3, 3) == EMPTY_ROOT
    assert subtree_hash(RFC_STORE, 2, 5) == naive_mth(LEAVES[2:5])


def test_store_faults_are_tree_data_errors() -> None:
    with pytest.raises(TreeDataError):
        inclusion_proof(RFC_STORE, 0, 9)  # needs leaf 8, not stored
    broken = MemoryNodes(RFC_STORE.nodes)
    broken.nodes[(1, 1)] = b"short"
    with pytest.raises(TreeDataError):
        inclusion_proof(broken, 0, 8)
    with pytest.raises(TreeDataError):
        CompactRange().append(b"not a hash")
    with pytest.raises(TreeDataError):
        root_from_leaf_hashes([LEAVES[0], b""])
    assert TreeDataError.status == 500


def test_compact_range_sources_and_copy() -> None:
    plain: dict[NodeKey, bytes] = dict(RFC_STORE.nodes)
    from_dict = CompactRange.from_nodes(7, plain)
    from_fn = CompactRange.from_nodes(7, lambda level, index: plain[(level, index)])
    assert from_dict.root() == from_fn.root() == h(ROOTS[7])
    assert from_dict.frontier() == [
        (2, 0, h(NODE_HASHES[2][0])),
        (1, 2, h(NODE_HASHES[1][2])),
        (0, 6, h(NODE_HASHES[0][6])),
    ]
    staged = from_dict.copy()
    assert staged.append(LEAVES[7]) == [
        (0, 7, LEAVES[7]),
        (1, 3, h(NODE_HASHES[1][3])),
        (2, 1, h(NODE_HASHES[2][1])),
        (3, 0, h(NODE_HASHES[3][0])),
    ]
    assert staged.root() == h(ROOTS[8])
    assert from_dict.size == 7
    assert from_dict.root() == h(ROOTS[7])
    assert CompactRange().root() == EMPTY_ROOT
    assert CompactRange.from_nodes(0, {}).root() == EMPTY_ROOT


# ----------------------------------------------------------------------------- 1M leaves

PERIOD_BITS = 8


class PeriodicTree:
    """A lazy, real RFC 6962 tree whose leaf ``i`` is ``leaf_hash(bytes([i % 256]))``.

    Node ``(level, index)`` then depends only on ``level`` and ``index mod 2**(8 - level)``,
    so any node of a huge tree costs at most a few hundred hashes, once. Counts reads; a
    node that is not wholly inside the first ``size`` leaves is "not stored".
    """

    def __init__(self, size: int, batch: bool = True) -> None:
        self.size = size
        self.batch = batch
        self.get_calls = 0
        self.batch_calls = 0
        self.keys_read = 0
        self._memo: dict[NodeKey, bytes] = {}

    def leaf(self, i: int) -> bytes:
        return leaf_hash(bytes([i % (1 << PERIOD_BITS)]))

    def _node(self, level: int, index: int) -> bytes:
        key = (level, index % (1 << max(0, PERIOD_BITS - level)))
        if key not in self._memo:
            if level == 0:
                self._memo[key] = self.leaf(index)
            else:
                left = self._node(level - 1, 2 * index)
                self._memo[key] = node_hash(left, self._node(level - 1, 2 * index + 1))
        return self._memo[key]

    def _read(self, level: int, index: int) -> bytes:
        if (index + 1) << level > self.size:
            raise KeyError((level, index))
        self.keys_read += 1
        return self._node(level, index)

    def get(self, level: int, index: int) -> bytes:
        self.get_calls += 1
        return self._read(level, index)

    def get_many(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        self.batch_calls += 1
        return {k: self._read(*k) for k in keys if (k[1] + 1) << k[0] <= self.size}


class GetOnly:
    """Hides ``get_many``: the proof code must fall back to one ``get`` per key."""

    def __init__(self, tree: PeriodicTree) -> None:
        self.tree = tree

    def get(self, level: int, index: int) -> bytes:
        return self.tree.get(level, index)


def test_periodic_tree_is_a_real_tree() -> None:
    n = 1000
    lazy = PeriodicTree(n)
    leaves = [lazy.leaf(i) for i in range(n)]
    assert merkle.root(lazy, n) == root_from_leaf_hashes(leaves) == naive_mth(leaves)
    for index in (0, 1, 255, 256, 511, 999):
        assert inclusion_proof(lazy, index, n) == naive_path(index, leaves)
    for old in (1, 255, 256, 257, 768, 999):
        assert consistency_proof(lazy, old, n) == naive_proof(old, leaves)


@pytest.mark.parametrize("index", [0, 1, 255, 257, 123_456, 524_287, 524_288, 999_998, 999_999])
def test_million_leaf_inclusion_reads_log_n_nodes(index: int) -> None:
    n = 1_000_000
    bound = 2 * n.bit_length() + 2  # 42
    lazy = PeriodicTree(n)
    size_root = merkle.root(lazy, n)
    assert lazy.keys_read == bin(n).count("1")
    assert CompactRange.from_nodes(n, lazy).root() == size_root

    lazy = PeriodicTree(n)
    keys = inclusion_proof_keys(index, n)
    proof = inclusion_proof(lazy, index, n)
    assert lazy.batch_calls == 1 and lazy.get_calls == 0
    assert lazy.keys_read == len(keys) <= bound
    assert len(proof) <= n.bit_length()
    verify_inclusion(lazy.leaf(index), index, n, proof, size_root)
    with pytest.raises(ProofError):
        verify_inclusion(lazy.leaf(index), index ^ 1, n, proof, size_root)

    lazy = PeriodicTree(n)
    assert inclusion_proof(GetOnly(lazy), index, n) == proof
    assert lazy.batch_calls == 0 and lazy.get_calls == len(keys)


@pytest.mark.parametrize("old", [1, 2, 3, 256, 257, 123_457, 524_288, 524_289, 999_999])
def test_million_leaf_consistency_reads_log_n_nodes(old: int) -> None:
    n = 1_000_000
    bound = 2 * n.bit_length() + 2
    lazy = PeriodicTree(n)
    old_root, new_root = merkle.root(lazy, old), merkle.root(lazy, n)
    lazy = PeriodicTree(n)
    keys = consistency_proof_keys(old, n)
    proof = consistency_proof(lazy, old, n)
    assert lazy.batch_calls == 1 and lazy.get_calls == 0
    assert lazy.keys_read == len(keys) <= bound
    verify_consistency(old, n, old_root, new_root, proof)
    assert_consistency_corruptions_fail(old, n, old_root, new_root, proof)


def test_million_leaf_append_touches_only_the_frontier() -> None:
    n = 1_000_000
    lazy = PeriodicTree(n + 1)
    tree = CompactRange.from_nodes(n, lazy)
    assert lazy.batch_calls == 1 and lazy.keys_read == bin(n).count("1")
    completed = tree.append(lazy.leaf(n))
    assert completed == [(0, n, lazy.leaf(n))]  # n is even: nothing merges
    completed = CompactRange.from_nodes(n + 1, lazy).append(lazy.leaf(n + 1))
    assert [(lv, ix) for lv, ix, _ in completed] == [(0, n + 1), (1, (n + 1) >> 1)]
    assert tree.root() == merkle.root(lazy, n + 1)
