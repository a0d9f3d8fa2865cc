"""common.refill_order alone: from what the communes give back after a hub restore, the
plan must return the lost log's own order or stop — never a wrong leaf (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from common import keys, merkle, record, refill_order

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@cache
def _writers() -> list[keys.PrivateKey]:
    return [keys.generate() for _ in range(3)]


def _log(interleaving: list[int], *, variant: str = "") -> list[record.Record]:
    """Records of up to three writers' chains, in the order ``interleaving`` names them."""
    heads: dict[int, record.Record] = {}
    out = []
    for i, w in enumerate(interleaving):
        key = _writers()[w]
        prev = heads.get(w)
        rec = record.make(
            private_key=key,
            node=keys.key_id(key),
            seq=prev.seq + 1 if prev else 1,
            prev=prev.id if prev else None,
            at=START + timedelta(minutes=i),
            anchor=None,
            dossier=None,
            type="key.noted",
            actor="hoa.le",
            data={"n": i, "variant": variant},
        )
        heads[w] = rec
        out.append(rec)
    return out


def _roots(log: list[record.Record]) -> dict[int, bytes]:
    tree = merkle.CompactRange()
    out = {}
    for rec in log:
        tree.append(merkle.leaf_hash(rec.raw))
        out[tree.size] = tree.root()
    return out


def _state(
    log: list[record.Record], start: int
) -> tuple[merkle.CompactRange, dict[str, tuple[int, str | None]]]:
    tree = merkle.CompactRange()
    heads: dict[str, tuple[int, str | None]] = {}
    for rec in log[:start]:
        tree.append(merkle.leaf_hash(rec.raw))
        heads[rec.node] = (rec.seq, rec.id)
    for key in _writers():
        heads.setdefault(keys.key_id(key), (0, None))
    return tree, heads


scenario = st.lists(st.integers(0, 2), min_size=1, max_size=24).flatmap(
    lambda order: st.tuples(
        st.just(order),
        st.integers(0, len(order)),  # where the backup ends
        st.lists(
            st.sampled_from(["pinned", "loose", "missing", "decoy"]),
            min_size=len(order),
            max_size=len(order),
        ),
        st.sets(st.integers(1, len(order))),  # sizes whose root some commune proved
    )
)


@settings(max_examples=150, deadline=None)
@given(scenario)
def test_the_plan_is_always_a_prefix_of_the_lost_log(case: tuple) -> None:
    order, start, fate, proven = case
    log = _log(order)
    decoys = _log(order, variant="forged")  # same writers and seqs, other bytes
    true_roots = _roots(log)
    tree, heads = _state(log, start)
    pinned = {i: log[i] for i in range(start, len(log)) if fate[i] == "pinned"}
    loose: dict[str, dict[int, record.Record]] = {}
    for i in range(start, len(log)):
        pick = {"loose": log[i], "decoy": decoys[i]}.get(fate[i])
        if pick is not None:
            loose.setdefault(pick.node, {})[pick.seq] = pick
    roots = {s: true_roots[s] for s in proven if s > start}
    got = refill_order.plan(tree, heads=heads, pinned=pinned, loose=loose, roots=roots)
    assert [r.raw for r in got] == [r.raw for r in log[start : start + len(got)]]
    assert tree.size == start  # the caller's tree is left as it was


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 2), min_size=1, max_size=24),
    st.data(),
)
def test_with_every_record_given_back_and_a_root_after_each_gap_the_log_is_whole(
    order: list[int], data: st.DataObject
) -> None:
    """What the hub has in practice: every proven range gives the root where it starts, so
    each gap between pinned records ends at a proven root. Gaps of up to six leaves."""
    log = _log(order)
    true_roots = _roots(log)
    start = data.draw(st.integers(0, len(log)), label="start")
    pinned_at = set()
    i = start
    while i < len(log):  # alternate short gaps and pinned runs
        i += data.draw(st.integers(0, 6), label="gap")
        run = data.draw(st.integers(1, 4), label="run")
        pinned_at |= set(range(i, min(i + run, len(log))))
        i += run
    pinned = {i: log[i] for i in pinned_at if i >= start}
    loose: dict[str, dict[int, record.Record]] = {}
    for i in range(start, len(log)):
        if i not in pinned:
            loose.setdefault(log[i].node, {})[log[i].seq] = log[i]
    roots = {s: true_roots[s] for s in [*pinned_at, len(log)] if s > start}
    tree, heads = _state(log, start)
    got = refill_order.plan(tree, heads=heads, pinned=pinned, loose=loose, roots=roots)
    assert [r.raw for r in got] == [r.raw for r in log[start:]]


def test_a_pinned_record_against_a_proven_root_is_an_error() -> None:
    log = _log([0, 1, 0])
    tree, heads = _state(log, 0)
    wrong = _roots(_log([0, 1, 0], variant="other"))
    try:
        refill_order.plan(tree, heads=heads, pinned={0: log[0]}, loose={}, roots={1: wrong[1]})
    except refill_order.OrderError as exc:
        assert "proven root at 1" in str(exc)
    else:
        raise AssertionError("a contradiction went unnoticed")


def test_the_search_gives_up_within_its_bound() -> None:
    """Three writers, twelve leaves with no proven root but the last one wrong: the search
    stops at its bound instead of trying every interleaving."""
    log = _log([0, 1, 2] * 4)
    tree, heads = _state(log, 0)
    loose: dict[str, dict[int, record.Record]] = {}
    for rec in log:
        loose.setdefault(rec.node, {})[rec.seq] = rec
    bogus = {len(log): b"\x00" * 32}
    assert (
        refill_order.plan(tree, heads=heads, pinned={}, loose=loose, roots=bogus, max_tries=500)
        == []
    )
