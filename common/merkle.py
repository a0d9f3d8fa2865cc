"""Merkle tree maths of the transparency log, exactly as RFC 9162 §2.1 (= RFC 6962 §2.1).

Hashes
======

* ``leaf_hash(d)   = SHA-256(0x00 || d)``
* ``node_hash(l, r) = SHA-256(0x01 || l || r)``
* the root of the empty tree is ``EMPTY_ROOT = SHA-256("")``
* ``MTH(D[n])`` for ``n > 1`` splits at ``k``, the largest power of two *smaller* than ``n``:
  ``MTH(D[n]) = node_hash(MTH(D[0:k]), MTH(D[k:n]))``; ``MTH({d}) = leaf_hash(d)``.

Every hash is 32 bytes; anything else is refused.

Stored nodes
============

The hub keeps millions of leaves in a database and never rebuilds the tree. It stores
every *perfect* subtree hash, keyed by ``(level, index)``: node ``(level, index)`` covers
the leaves ``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes.
:class:`CompactRange` (the "frontier": the perfect subtrees that make up the current tree)
hands back exactly the nodes each append completes, so the store is filled as leaves
arrive. Any subtree that the RFC algorithms use is a run of at most ``log2(n)`` perfect
subtrees of strictly decreasing level, so proofs and roots need only ``O(log n)`` stored
nodes. ``*_keys`` functions say which keys a proof needs *before* reading, so the caller can
fetch them all in one query (``NodeReader.get_many``).

Proofs
======

* :func:`inclusion_proof` is ``PATH(m, D[n])`` (RFC 9162 §2.1.3.1), the sibling hashes from
  the leaf upwards.
* :func:`consistency_proof` is ``PROOF(m, D[n]) = SUBPROOF(m, D[n], true)`` (§2.1.4.1) for
  ``0 < m < n``; for ``m == 0`` and ``m == n`` the proof is empty (nothing to prove).
* :func:`verify_inclusion` and :func:`verify_consistency` are the iterative algorithms of
  §2.1.3.2 and §2.1.4.2 (``fn``/``sn`` bit walking). The proof must be used up exactly: one
  hash too many or too few fails. The length is checked first (it depends only on the
  sizes), so a wrong-length proof fails with a message that names both lengths; the RFC
  checks in the walk stay as well. Failures raise :class:`ProofError` whose ``detail``
  carries a stable ``reason``.
* A proof fixes the *shape* of the tree, not its size: a proof for size ``n`` may also
  verify for a neighbouring size with the same shape. Sizes and roots must therefore come
  together from one signed checkpoint, never from the proof's sender on their own.

This module does no I/O: stored nodes come in through a :class:`NodeReader` the caller
supplies.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from common.errors import DossierError

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeKey = tuple[int, int]
"""``(level, index)`` of a perfect subtree; it covers leaves
``[index << level, (index + 1) << level)``."""

Node = tuple[int, int, bytes]
"""``(level, index, hash)`` of a perfect subtree."""


# --------------------------------------------------------------------------------- errors


class ProofError(DossierError):
    """An inclusion or consistency proof does not verify; ``detail["reason"]`` says why.

    Reasons: ``bad_size`` (not a non-negative integer), ``index_out_of_range``,
    ``sizes_reversed`` (old size > new size), ``bad_hash`` (not 32 bytes), ``proof_too_long``,
    ``proof_too_short``, ``empty_proof``, ``unexpected_proof``, ``root_mismatch``,
    ``old_root_mismatch``, ``new_root_mismatch``.
    """

    code = "bad_proof"
    status = 400
    vi = "Bằng chứng Merkle không hợp lệ."
    en = "The Merkle proof does not verify."


class TreeRangeError(DossierError):
    """A proof or subtree was asked for with an index, size or range the tree cannot give."""

    code = "bad_tree_range"
    status = 400
    vi = "Chỉ số lá hoặc kích thước cây Merkle được yêu cầu không hợp lệ."
    en = "The requested leaf index or Merkle tree size is not valid."


class TreeDataError(DossierError):
    """A stored node is missing, or a leaf or node hash is not 32 bytes (a store fault)."""

    code = "bad_tree_data"
    status = 500
    vi = "Dữ liệu cây Merkle bị thiếu hoặc sai định dạng."
    en = "A Merkle tree node is missing or malformed."


# --------------------------------------------------------------------------------- hashing


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the hash of one log entry."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an interior node."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _data_hash(value: object, what: str) -> bytes:
    if not _is_hash(value):
        raise TreeDataError(f"{what} is not a {HASH_SIZE}-byte hash", what=what)
    assert isinstance(value, bytes)
    return value


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a run of perfect subtrees of strictly decreasing size: fold from the right."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """``MTH`` of the leaves whose hashes are given (RFC 9162 §2.1.1); ``EMPTY_ROOT`` if none.

    Computed level by level, a node without a right sibling moving up unchanged; this gives
    the same tree as splitting at the largest power of two smaller than ``n``.
    Raises :class:`TreeDataError` for a hash that is not 32 bytes.
    """
    level = [_data_hash(h, f"leaf hash {i}") for i, h in enumerate(hashes)]
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


# --------------------------------------------------------------------------------- readers


@runtime_checkable
class NodeReader(Protocol):
    """Read access to stored perfect-subtree hashes.

    ``get(level, index)`` returns the 32-byte hash of node ``(level, index)``; a missing
    node may raise ``KeyError`` (reported as :class:`TreeDataError`).
    """

    def get(self, level: int, index: int) -> bytes:
        """The hash of perfect subtree ``(level, index)``."""
        ...


@runtime_checkable
class BatchNodeReader(NodeReader, Protocol):
    """A :class:`NodeReader` that can also fetch many nodes in one round trip (one query)."""

    def get_many(self, keys: Sequence[NodeKey]) -> Mapping[NodeKey, bytes]:
        """The hashes of the nodes ``keys``; a missing node is left out of the mapping."""
        ...


class MemoryNodes:
    """An in-memory node store (a dict keyed by ``(level, index)``), for tests and auditors.

    Implements :class:`BatchNodeReader`. Fill it from :meth:`CompactRange.append` results
    with :meth:`add`, or build a whole tree with :meth:`from_leaf_hashes`.
    """

    def __init__(self, nodes: Mapping[NodeKey, bytes] | None = None) -> None:
        self.nodes: dict[NodeKey, bytes] = dict(nodes or {})

    @classmethod
    def from_leaf_hashes(cls, hashes: Iterable[bytes]) -> MemoryNodes:
        """Every perfect subtree of the tree with these leaves."""
        store = cls()
        tree = CompactRange()
        for h in hashes:
            store.add(tree.append(h))
        return store

    def add(self, nodes: Iterable[Node]) -> None:
        """Store ``(level, index, hash)`` triples, as returned by :meth:`CompactRange.append`."""
        for level, index, h in nodes:
            self.nodes[(level, index)] = h

    def get(self, level: int, index: int) -> bytes:
        """The hash of node ``(level, index)``; ``KeyError`` if it is not stored."""
        return self.nodes[(level, index)]

    def get_many(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        """The stored ones among ``keys``."""
        return {k: self.nodes[k] for k in keys if k in self.nodes}

    def __len__(self) -> int:
        return len(self.nodes)

    def __contains__(self, key: object) -> bool:
        return key in self.nodes


class _CallableReader:
    def __init__(self, fn: Callable[[int, int], bytes]) -> None:
        self._fn = fn

    def get(self, level: int, index: int) -> bytes:
        return self._fn(level, index)


NodeSource = NodeReader | Mapping[NodeKey, bytes] | Callable[[int, int], bytes]


def _as_reader(source: NodeSource) -> NodeReader:
    # A plain dict also has a ``get`` method, with another meaning: wrap it first.
    if isinstance(source, Mapping):
        return MemoryNodes(source)
    if isinstance(source, NodeReader):
        return source
    return _CallableReader(source)


def fetch_nodes(reader: NodeSource, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
    """Read the nodes ``keys``: one ``get_many`` call if the reader has it, else one ``get`` each.

    Raises :class:`TreeDataError` if a node is missing or its hash is not 32 bytes.
    """
    src = _as_reader(reader)
    wanted = list(dict.fromkeys(keys))
    found: Mapping[NodeKey, bytes]
    if isinstance(src, BatchNodeReader):
        found = src.get_many(wanted) if wanted else {}
    else:
        got: dict[NodeKey, bytes] = {}
        for level, index in wanted:
            with contextlib.suppress(KeyError):
                got[(level, index)] = src.get(level, index)
        found = got
    out: dict[NodeKey, bytes] = {}
    for key in wanted:
        if key not in found:
            raise TreeDataError(f"node (level {key[0]}, index {key[1]}) is not stored", node=key)
        out[key] = _data_hash(found[key], f"node (level {key[0]}, index {key[1]})")
    return out


# --------------------------------------------------------------------------------- compact range


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TreeRangeError(f"{name} must be a non-negative integer, not {value!r}")
    return value


class CompactRange:
    """The frontier of a growing tree: the hashes of the perfect subtrees that make it up.

    For size ``n`` these are one subtree per set bit of ``n``, largest (leftmost) first; at
    most ``log2(n) + 1`` hashes. :meth:`append` adds one leaf and returns every perfect
    subtree it completes (the leaf itself at level 0, then each merge), which the hub
    stores keyed by ``(level, index)``. :meth:`root` is the MTH of the current tree.
    """

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @classmethod
    def from_nodes(cls, size: int, source: NodeSource) -> CompactRange:
        """Rebuild the frontier of a tree of ``size`` leaves from its stored nodes.

        Reads :func:`root_keys(size) <root_keys>` (one node per set bit of ``size``), in one
        ``get_many`` call if the reader has it. ``source`` is a :class:`NodeReader`, a mapping
        keyed by ``(level, index)`` or a function ``get_node(level, index) -> bytes``.
        """
        _count(size, "size")
        keys = root_keys(size)
        nodes = fetch_nodes(source, keys)
        tree = cls()
        tree._size = size
        tree._hashes = [nodes[k] for k in keys]
        return tree

    def copy(self) -> CompactRange:
        """An independent copy (e.g. to stage appends before committing them)."""
        other = CompactRange()
        other._size = self._size
        other._hashes = list(self._hashes)
        return other

    def frontier(self) -> list[Node]:
        """The current perfect subtrees as ``(level, index, hash)``, leftmost first."""
        return [
            (lv, ix, h) for (lv, ix), h in zip(root_keys(self._size), self._hashes, strict=True)
        ]

    def append(self, leaf_hash: bytes) -> list[Node]:
        """Add one leaf (its *leaf hash*, not its data); return the perfect subtrees it completes.

        The list starts with ``(0, old_size, leaf_hash)`` and has one more node per merge,
        levels increasing. Raises :class:`TreeDataError` if ``leaf_hash`` is not 32 bytes.
        """
        h = _data_hash(leaf_hash, "leaf hash")
        index = self._size
        level = 0
        completed: list[Node] = [(0, index, h)]
        self._hashes.append(h)
        while index & 1:
            right = self._hashes.pop()
            left = self._hashes.pop()
            h = node_hash(left, right)
            self._hashes.append(h)
            level += 1
            index >>= 1
            completed.append((level, index, h))
        self._size += 1
        return completed

    def extend(self, leaf_hashes: Iterable[bytes]) -> list[Node]:
        """:meth:`append` each leaf hash in turn; return all completed nodes in order."""
        out: list[Node] = []
        for h in leaf_hashes:
            out.extend(self.append(h))
        return out

    def root(self) -> bytes:
        """MTH of the current tree (``EMPTY_ROOT`` when empty)."""
        return _fold(self._hashes)


# --------------------------------------------------------------------------------- keys


def subtree_keys(start: int, end: int) -> list[NodeKey]:
    """The perfect subtrees that cover leaves ``[start, end)``, left to right.

    Greedy: at each step the largest aligned perfect subtree that starts at ``start`` and
    fits. At most ``2 * log2(end - start) + 2`` keys.
    """
    _count(start, "start")
    _count(end, "end")
    if end < start:
        raise TreeRangeError(f"range [{start}, {end}) ends before it starts")
    keys: list[NodeKey] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        keys.append((level, start >> level))
        start += 1 << level
    return keys


def root_keys(size: int) -> list[NodeKey]:
    """Keys of the frontier of a tree of ``size`` leaves: one per set bit, largest first."""
    return subtree_keys(0, size)


def _check_mth_range(start: int, end: int) -> None:
    _count(start, "start")
    _count(end, "end")
    if end < start:
        raise TreeRangeError(f"range [{start}, {end}) ends before it starts")
    if end > start:
        top = 1 << ((end - start).bit_length() - 1)
        if start % top:
            raise TreeRangeError(
                f"range [{start}, {end}) does not start at a multiple of {top}, so its MTH "
                "is not made of stored subtrees"
            )


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs form PATH(index, D[size]), in proof order (leaf upwards)."""
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def _consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs form PROOF(old_size, D[new_size]), in proof order.

    ``SUBPROOF(m, D[a:b], flag)`` walked iteratively: each level adds the MTH of the other
    half *after* the deeper part, so the ranges are collected top-down and reversed.
    """
    if old_size == 0 or old_size == new_size:
        return []
    ranges: list[tuple[int, int]] = []
    start, end, complete = 0, new_size, True
    while old_size != end:
        k = _split(end - start)
        if old_size <= start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            complete = False
    if not complete:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def _keys_for(ranges: Sequence[tuple[int, int]]) -> list[NodeKey]:
    keys: list[NodeKey] = []
    for start, end in ranges:
        keys.extend(subtree_keys(start, end))
    return list(dict.fromkeys(keys))


def _check_index(index: int, size: int) -> None:
    _count(index, "index")
    _count(size, "size")
    if index >= size:
        raise TreeRangeError(f"leaf index {index} is not in a tree of {size} leaves")


def _check_sizes(old_size: int, new_size: int) -> None:
    _count(old_size, "old size")
    _count(new_size, "new size")
    if old_size > new_size:
        raise TreeRangeError(f"old size {old_size} is larger than new size {new_size}")


def inclusion_proof_keys(index: int, size: int) -> list[NodeKey]:
    """Every stored node :func:`inclusion_proof` will read, to fetch in one query."""
    _check_index(index, size)
    return _keys_for(_inclusion_ranges(index, size))


def consistency_proof_keys(old_size: int, new_size: int) -> list[NodeKey]:
    """Every stored node :func:`consistency_proof` will read, to fetch in one query."""
    _check_sizes(old_size, new_size)
    return _keys_for(_consistency_ranges(old_size, new_size))


# --------------------------------------------------------------------------------- proofs


def _hashes_of(reader: NodeSource, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    nodes = fetch_nodes(reader, _keys_for(ranges))
    return [_fold([nodes[k] for k in subtree_keys(s, e)]) for s, e in ranges]


def subtree_hash(reader: NodeSource, start: int, end: int) -> bytes:
    """``MTH(D[start:end])`` from at most ``2 log2(n)`` stored nodes (one batch read).

    ``start`` must be a multiple of the largest power of two not above ``end - start``
    (true of every subtree that roots and proofs use); other ranges are not a run of
    stored subtrees and raise :class:`TreeRangeError`. An empty range gives ``EMPTY_ROOT``.
    """
    _check_mth_range(start, end)
    return _hashes_of(reader, [(start, end)])[0]


def root(reader: NodeSource, size: int) -> bytes:
    """MTH of the first ``size`` leaves, from the ``popcount(size)`` frontier nodes."""
    return subtree_hash(reader, 0, size)


def inclusion_proof(reader: NodeSource, index: int, size: int) -> list[bytes]:
    """``PATH(index, D[size])`` (RFC 9162 §2.1.3.1): sibling hashes from the leaf upwards.

    Reads only :func:`inclusion_proof_keys` (one batch). Raises :class:`TreeRangeError`
    unless ``0 <= index < size``.
    """
    _check_index(index, size)
    return _hashes_of(reader, _inclusion_ranges(index, size))


def consistency_proof(reader: NodeSource, old_size: int, new_size: int) -> list[bytes]:
    """``PROOF(old_size, D[new_size])`` (RFC 9162 §2.1.4.1); empty if ``old_size`` is 0 or
    equals ``new_size``.

    Reads only :func:`consistency_proof_keys` (one batch). Raises :class:`TreeRangeError`
    if ``old_size > new_size``.
    """
    _check_sizes(old_size, new_size)
    return _hashes_of(reader, _consistency_ranges(old_size, new_size))


# --------------------------------------------------------------------------------- verification


def _fail(reason: str, en: str, vi: str) -> ProofError:
    return ProofError(en, vi=vi, reason=reason)


def _proof_size(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(
            "bad_size",
            f"{name} must be a non-negative integer, not {value!r}",
            f"{name} phải là số nguyên không âm",
        )
    return value


def _proof_hash(value: object, what: str) -> bytes:
    if not _is_hash(value):
        raise _fail(
            "bad_hash",
            f"{what} is not a {HASH_SIZE}-byte hash",
            f"{what} không phải là giá trị băm {HASH_SIZE} byte",
        )
    assert isinstance(value, bytes)
    return value


def _proof_hashes(proof: Sequence[bytes]) -> list[bytes]:
    return [_proof_hash(p, f"proof[{i}]") for i, p in enumerate(proof)]


def _check_length(got: int, want: int) -> None:
    if got > want:
        raise _fail(
            "proof_too_long",
            f"proof has {got} hashes, {want} expected",
            f"bằng chứng có {got} giá trị băm, thừa so với {want}",
        )
    if got < want:
        raise _fail(
            "proof_too_short",
            f"proof has {got} hashes, {want} expected",
            f"bằng chứng có {got} giá trị băm, thiếu so với {want}",
        )


def root_from_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` gives for ``leaf_hash`` at ``index`` in a tree of ``size``.

    RFC 9162 §2.1.3.2 steps 1-4 (then the caller compares the root): fails with
    :class:`ProofError` if ``index >= size``, a hash is not 32 bytes, or the proof is not
    exactly as long as the path from leaf ``index`` to the root of a ``size``-leaf tree.
    """
    index = _proof_size(index, "index")
    size = _proof_size(size, "size")
    r = _proof_hash(leaf_hash, "leaf hash")
    path = _proof_hashes(proof)
    if index >= size:
        raise _fail(
            "index_out_of_range",
            f"leaf index {index} is not in a tree of {size} leaves",
            f"chỉ số lá {index} không nằm trong cây {size} lá",
        )
    _check_length(len(path), len(_inclusion_ranges(index, size)))
    fn, sn = index, size - 1
    for p in path:
        if sn == 0:
            raise _fail(
                "proof_too_long", "proof has hashes left over", "bằng chứng thừa giá trị băm"
            )
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise _fail("proof_too_short", "proof ends below the root", "bằng chứng thiếu giá trị băm")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the ``size``-leaf tree with ``root``.

    RFC 9162 §2.1.3.2. Raises :class:`ProofError` (see :func:`root_from_inclusion`, plus
    ``root_mismatch``).
    """
    expected = _proof_hash(root, "root")
    got = root_from_inclusion(leaf_hash, index, size, proof)
    if got != expected:
        raise _fail(
            "root_mismatch",
            f"proof gives root {got.hex()}, not {expected.hex()}",
            "gốc tính từ bằng chứng không khớp với gốc của cây",
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the ``old_size`` tree with ``old_root`` is a prefix of the ``new_size`` one.

    Rules (RFC 9162 §2.1.4.2, with the two cases the RFC leaves out):

    * ``old_size > new_size`` fails (``sizes_reversed``); every hash must be 32 bytes.
    * ``old_size == new_size``: the proof must be empty and the roots equal.
    * ``old_size == 0``: the proof must be empty and ``old_root`` must be ``EMPTY_ROOT``
      (any tree extends the empty one).
    * otherwise the proof must not be empty, must be exactly as long as
      ``PROOF(old_size, D[new_size])``, and the iterative walk must rebuild both roots.
    """
    old_size = _proof_size(old_size, "old size")
    new_size = _proof_size(new_size, "new size")
    first = _proof_hash(old_root, "old root")
    second = _proof_hash(new_root, "new root")
    path = _proof_hashes(proof)
    if old_size > new_size:
        raise _fail(
            "sizes_reversed",
            f"old size {old_size} is larger than new size {new_size}",
            f"kích thước cũ {old_size} lớn hơn kích thước mới {new_size}",
        )
    if old_size == new_size or old_size == 0:
        if path:
            raise _fail(
                "unexpected_proof",
                f"proof must be empty from size {old_size} to {new_size}, got {len(path)} hashes",
                f"bằng chứng từ kích thước {old_size} đến {new_size} phải rỗng",
            )
        if old_size == 0 and first != EMPTY_ROOT:
            raise _fail(
                "old_root_mismatch",
                "the root of an empty tree must be SHA-256 of nothing",
                "gốc của cây rỗng phải là SHA-256 của chuỗi rỗng",
            )
        if old_size == new_size and first != second:
            raise _fail(
                "root_mismatch",
                f"trees of the same size {old_size} have different roots",
                f"hai cây cùng kích thước {old_size} có gốc khác nhau",
            )
        return
    if not path:
        raise _fail(
            "empty_proof",
            f"a proof is needed from size {old_size} to {new_size}",
            f"cần bằng chứng từ kích thước {old_size} đến {new_size}",
        )
    _check_length(len(path), len(_consistency_ranges(old_size, new_size)))
    if old_size & (old_size - 1) == 0:
        path = [first, *path]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise _fail(
                "proof_too_long", "proof has hashes left over", "bằng chứng thừa giá trị băm"
            )
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise _fail("proof_too_short", "proof ends below the root", "bằng chứng thiếu giá trị băm")
    if fr != first:
        raise _fail(
            "old_root_mismatch",
            f"proof gives old root {fr.hex()}, not {first.hex()}",
            "gốc cũ tính từ bằng chứng không khớp",
        )
    if sr != second:
        raise _fail(
            "new_root_mismatch",
            f"proof gives new root {sr.hex()}, not {second.hex()}",
            "gốc mới tính từ bằng chứng không khớp",
        )
