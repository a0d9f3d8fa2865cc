"""Whole-log coverage in the offline verifier, for bundles of every commune.

A bundle whose hub chain is declared ``complete`` is an **all-communes** bundle: the hub's
own chain is whole only when every commune is exported. Such a bundle must hold every leaf
of the period, ``start`` … ``end − 1``, as a record line: a leaf left out is
``dropped_record`` (one finding per run of consecutive missing leaves, naming the run), so
a hub cannot drop a chain's newest record and lower its unsigned ``head_seq`` to hide it.
A line out of log order fills its leaf (it is ``reordered``, not missing). A bundle
whose hub chain is ``partial`` covers only the communes it declares; there the nodes'
cosignatures (``common.audit.witness``) bound each chain's end. No I/O.
"""

from __future__ import annotations

from bisect import bisect_right

from common.audit.report import DROPPED_RECORD, Finding
from common.audit.state import State


class CoverageChecks(State):
    def open_coverage(self) -> None:
        """At the start of the log part: track leaves if this is an all-communes bundle."""
        hub = self.chains.get(self.h.hub_id)
        if hub is not None and hub.complete:
            self.leaf_next = self.h.start

    def cover(self, leaf: int) -> None:
        """A record line at ``leaf``; a leaf below the next expected one fills its gap (a
        line out of order is ``reordered``, not a missing leaf)."""
        nxt = self.leaf_next
        if nxt is None or leaf >= self.h.end or leaf < self.h.start:
            return
        if leaf < nxt:
            self._fill(leaf)
            return
        if leaf > nxt and len(self.leaf_gaps) < self.policy.max_runs:
            self.leaf_gaps.append((nxt, leaf - 1))
        self.leaf_next = leaf + 1

    def _fill(self, leaf: int) -> None:
        i = bisect_right(self.leaf_gaps, (leaf, leaf)) - 1
        if i < 0:
            return
        lo, hi = self.leaf_gaps[i]
        if not lo <= leaf <= hi:
            return
        parts = [(a, b) for a, b in ((lo, leaf - 1), (leaf + 1, hi)) if a <= b]
        self.leaf_gaps[i : i + 1] = parts

    def coverage_findings(self) -> None:
        nxt = self.leaf_next
        if nxt is None:
            return
        if nxt < self.h.end:
            self.leaf_gaps.append((nxt, self.h.end - 1))
        for lo, hi in self.leaf_gaps:
            span = f"leaf {lo}" if lo == hi else f"leaves {lo}..{hi}"
            msg = f"{span} of the period missing from a bundle of every commune"
            self.emit(Finding(DROPPED_RECORD, msg, leaf=lo, detail={"leaves": [lo, hi]}))
