"""The original order of a lost stretch of the transparency log, worked out from what the
communes give back (no I/O: the hub's recovery service feeds it, tests drive it alone).

Given the log as it stands (its compact range), each writer's chain head in it, the
records *pinned* to their leaves by proofs, the *loose* records of each writer (no proof
says where they sit), and the *roots* the communes proved at some sizes, :func:`plan`
returns the records that come next, in order, as far as the evidence goes:

* a pinned record is taken at its leaf when it continues its writer's chain;
* a leaf no proof pins is filled from the writers' next loose records, but only when the
  tree then reaches the next proven root exactly (a depth-first search over which writer
  comes next, bounded by ``max_tries``). A root is a SHA-256 commitment to every leaf under
  it, so an order that reaches it is the original one.

The plan never guesses: what it returns is a prefix of the lost log, or nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from common import merkle, record

MAX_TRIES = 20_000  # orderings tried to fill one gap before waiting for more evidence

Heads = dict[str, tuple[int, str | None]]  # writer -> (seq, record id) of its chain head


class OrderError(Exception):
    """A pinned record disagrees with a proven root: the evidence contradicts itself."""


@dataclass
class _Plan:
    tree: merkle.CompactRange
    heads: Heads
    order: list[record.Record] = field(default_factory=list)

    def follows(self, r: record.Record) -> bool:
        return _follows(self.heads, r)

    def take(self, r: record.Record) -> None:
        self.order.append(r)
        self.tree.append(merkle.leaf_hash(r.raw))
        self.heads[r.node] = (r.seq, r.id)


def _follows(heads: Heads, r: record.Record) -> bool:
    seq, head_id = heads.get(r.node, (0, None))
    return r.seq == seq + 1 and r.prev == head_id


def plan(
    tree: merkle.CompactRange,
    *,
    heads: Mapping[str, tuple[int, str | None]],
    pinned: Mapping[int, record.Record],
    loose: Mapping[str, Mapping[int, record.Record]],
    roots: Mapping[int, bytes],
    max_tries: int = MAX_TRIES,
) -> list[record.Record]:
    """The records that extend ``tree`` in the lost log's order (see the module's text).
    ``tree`` is not changed. Raises :class:`OrderError` if a pinned record contradicts a
    proven root."""
    p = _Plan(tree.copy(), dict(heads))
    spare = {w: dict(q) for w, q in loose.items()}
    while True:
        pos = p.tree.size
        r = pinned.get(pos)
        if r is not None and p.follows(r):
            p.take(r)
            if pos + 1 in roots and p.tree.root() != roots[pos + 1]:
                raise OrderError(f"the rebuilt log differs from the proven root at {pos + 1}")
            continue
        ahead = [s for s in roots if s > pos]
        if not ahead or not any(spare.values()):
            return p.order
        found = _search(p, min(ahead), pinned, spare, roots, max_tries)
        if not found:
            return p.order
        for r in found:
            p.take(r)
            spare.get(r.node, {}).pop(r.seq, None)


def _search(
    p: _Plan,
    goal: int,
    pinned: Mapping[int, record.Record],
    loose: Mapping[str, Mapping[int, record.Record]],
    roots: Mapping[int, bytes],
    max_tries: int,
) -> list[record.Record] | None:
    """The records from the current size up to ``goal`` whose tree has the proven roots:
    pinned where pinned, each writer's next loose record elsewhere. Depth first, with an
    explicit stack (a gap may be longer than Python's recursion limit)."""

    def choices(pos: int, heads: Heads) -> Iterator[record.Record]:
        if pos in pinned:
            yield pinned[pos]
            return
        for w, q in loose.items():
            nxt = q.get(heads.get(w, (0, None))[0] + 1)
            if nxt is not None:
                yield nxt

    tries = 0
    path: list[record.Record] = []
    stack = [(p.tree.copy(), dict(p.heads), choices(p.tree.size, p.heads))]
    while stack:
        tree, heads, options = stack[-1]
        if tree.size == goal:
            return path
        r = next(options, None)
        if r is None:
            stack.pop()
            if path:
                path.pop()
            continue
        if not _follows(heads, r):
            continue
        tries += 1
        if tries > max_tries:
            return None
        t = tree.copy()
        t.append(merkle.leaf_hash(r.raw))
        if t.size in roots and t.root() != roots[t.size]:
            continue
        after = {**heads, r.node: (r.seq, r.id)}
        path.append(r)
        stack.append((t, after, choices(t.size, after)))
    return None
