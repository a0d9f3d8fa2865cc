"""Per-chain state of the offline verifier, and the whole-chain checks run at the end.

Memory rule: a chain keeps one packed 58-byte slot per record it has seen (record id,
first 16 bytes of ``prev``, leaf, key index, flags) in contiguous *runs* of sequence numbers,
never the records themselves. A jump in sequence numbers starts a new run instead of
allocating the gap, so absurd sequence numbers cost nothing; the number of runs is
bounded by the caller.

Rules checked once every line has been read (:func:`chain_findings`), over the chain's
*signed* records only (the seq and leaf of a record that failed its checks are not to be
believed; it was reported already, and only keeps its own seq from being reported missing):

* **links**: for consecutive sequence numbers ``s`` and ``s+1``, ``prev`` of ``s+1`` must be
  the id of ``s`` — otherwise two different records exist at ``s``: ``fork``. After a signed
  ``chain.break`` (a gap its writer declared, reported as a ``declared_gap`` notice), the
  next record is the break's seq + 1 naming the break, or ``last_seq + 1`` naming the
  break's ``next_prev`` (common.chain_break), else ``fork``; a gap after the range starts
  at ``last_seq + 1``.
* **log order**: leaves must grow with sequence numbers — otherwise ``reordered``.
* **gaps** (complete chains only) are classified by where the missing records must lie in
  the log (between the leaves of their neighbours) against the period ``[start, end)``:
  wholly before or after it: nothing; inside: ``dropped_record``; across the start:
  ``missing_start``; across the end: ``missing_end``.
* **edges** (complete chains only): a first record with ``seq > 1`` stored inside the period
  (the record before it is not shown to be older than the period) is ``missing_start``; a
  last record stored inside the period while the hub says the chain goes on is
  ``missing_end``.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from common import keys
from common.audit.report import (
    DROPPED_RECORD,
    FORK,
    MISSING_END,
    MISSING_START,
    REORDERED,
    Finding,
)

SLOT = struct.Struct("<32s16sqBB")
F_AUTH = 1  # parsed, and the signature verified
F_INCL = 2  # the inclusion proof verified
F_FORK = 4  # another signed record claims this sequence number
F_PREV = 8  # prev is known (seq > 1 and the record parsed)
NO_KEY = 255
PREPEND_LIMIT = 4096  # a run longer than this is never copied to prepend a slot


@dataclass(frozen=True, slots=True)
class Slot:
    seq: int
    id: bytes
    prev16: bytes
    leaf: int
    key: int
    flags: int

    @property
    def record_id(self) -> str:
        return self.id.hex()


@dataclass
class KeyState:
    """One signing key of a chain and the sequence numbers it may sign.

    ``first_seq`` comes from the node id (first key) or the rotation that introduced it;
    the key's last valid seq is the smallest of the seq before the next rotation and the
    last valid seq of any hub revocation.
    """

    key_id: str
    public: keys.PublicKey
    first_seq: int
    end_rotation: int | None = None
    end_revocation: int | None = None
    claimed_last: int | None = None
    line: int | None = None
    public_raw: bytes = field(init=False, repr=False)  # the raw 32 bytes of ``public``

    def __post_init__(self) -> None:
        self.public_raw = keys.public_bytes(self.public)

    @property
    def last_valid(self) -> int | None:
        a, b = self.end_rotation, self.end_revocation
        return b if a is None else a if b is None else min(a, b)

    def valid_at(self, seq: int) -> bool:
        last = self.last_valid
        return self.first_seq <= seq and (last is None or seq <= last)


@dataclass
class OfflineWindow:
    """Consecutive records of a chain written on one stale anchor, over the policy's limit."""

    anchor_size: int
    first_seq: int
    last_seq: int
    first_leaf: int
    first_id: str
    seen: float  # time of the anchored checkpoint (the node's last contact)
    stored: float  # time of the first checkpoint covering the latest record of the window
    worst: float  # the longest lag in seconds


class _Run:
    __slots__ = ("data", "start")

    def __init__(self, start: int, data: bytearray) -> None:
        self.start = start
        self.data = data

    @property
    def end(self) -> int:
        return self.start + len(self.data) // SLOT.size


@dataclass
class Chain:
    """What the verifier knows of one writer's chain."""

    node: str
    complete: bool
    head_seq: int
    name: str = ""
    keys: list[KeyState] = field(default_factory=list)
    key_index: dict[str, int] = field(default_factory=dict)
    runs: list[_Run] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    records: int = 0
    offline: OfflineWindow | None = None
    agency_code: str | None = None
    agency_confirmed: int = 0  # verified records whose dossier code names the agency code
    agency_conflicts: int = 0
    agency_conflict: tuple[int, int, int, str, str] | None = None  # line, seq, leaf, id, code
    heads: list[tuple[int, bytes, int]] = field(default_factory=list)  # cosigned seq, id, line
    enrolled: bool = False  # agency code and name match the hub's signed enrolment
    breaks: dict[int, tuple[int, bytes]] = field(default_factory=dict)  # chain.break seq ->
    # (last lost seq, first 16 bytes of the prev the record after the gap must name)

    # ---------------------------------------------------------- keys

    def add_key(self, state: KeyState) -> int:
        self.key_index[state.key_id] = len(self.keys)
        self.keys.append(state)
        return len(self.keys) - 1

    def key(self, key_id: str) -> tuple[int, KeyState] | None:
        i = self.key_index.get(key_id)
        return None if i is None else (i, self.keys[i])

    # ---------------------------------------------------------- slots

    def _find(self, seq: int) -> int:
        return bisect_right(self.starts, seq) - 1

    def get(self, seq: int) -> Slot | None:
        if not self.runs or seq >= self.runs[-1].end:
            return None  # the usual case: the next record of the chain
        i = self._find(seq)
        if i < 0:
            return None
        run = self.runs[i]
        if seq >= run.end:
            return None
        return Slot(seq, *SLOT.unpack_from(run.data, (seq - run.start) * SLOT.size))

    def put(
        self, seq: int, record_id: bytes, prev16: bytes, leaf: int, key: int, flags: int
    ) -> bool:
        """Store a slot for a sequence number not yet held; True if a new run was started."""
        packed = SLOT.pack(record_id, prev16, leaf, key, flags)
        self.records += 1
        i = self._find(seq)
        if i >= 0 and self.runs[i].end == seq:
            run = self.runs[i]
            run.data += packed
            if i + 1 < len(self.runs) and self.runs[i + 1].start == seq + 1:
                run.data += self.runs[i + 1].data
                del self.runs[i + 1], self.starts[i + 1]
            return False
        nxt = i + 1
        if nxt < len(self.runs) and self.runs[nxt].start == seq + 1:
            run = self.runs[nxt]
            if len(run.data) // SLOT.size < PREPEND_LIMIT:
                run.data[0:0] = packed
                run.start = seq
                self.starts[nxt] = seq
                return False
        self.runs.insert(nxt, _Run(seq, bytearray(packed)))
        self.starts.insert(nxt, seq)
        return True

    def replace(
        self, seq: int, record_id: bytes, prev16: bytes, leaf: int, key: int, flags: int
    ) -> None:
        """Overwrite the slot held for ``seq``."""
        run = self.runs[self._find(seq)]
        SLOT.pack_into(run.data, (seq - run.start) * SLOT.size, record_id, prev16, leaf, key, flags)

    def add_flags(self, seq: int, flags: int) -> None:
        i = self._find(seq)
        run = self.runs[i]
        at = (seq - run.start) * SLOT.size + SLOT.size - 1
        run.data[at] |= flags

    def slots(self) -> Iterator[Slot]:
        """Every held slot in increasing sequence order."""
        for run in self.runs:
            for n, fields in enumerate(SLOT.iter_unpack(bytes(run.data))):
                yield Slot(run.start + n, *fields)


# ------------------------------------------------------------------ end-of-bundle checks

Emit = Callable[[Finding], None]


def _gap(
    chain: Chain, before: Slot, after: Slot, start: int, end: int, emit: Emit, first: int
) -> None:
    """Seqs ``first .. after.seq - 1`` are missing (``first`` is ``before.seq + 1``, or the
    seq after the range a break ``before`` declared lost)."""
    lo, hi = before.leaf, after.leaf
    if hi < start or lo >= end:
        return  # every missing record lies before or after the period
    last = after.seq - 1
    span = f"seq {first}" if first == last else f"seq {first}..{last}"
    detail = {"missing": [first, last], "between_leaves": [lo, hi]}
    if lo < start and hi >= end:
        cls = MISSING_START
        msg = f"{span} missing: the chain's records for the whole period are not in the bundle"
    elif lo < start:
        cls = MISSING_START
        msg = f"{span} missing where the chain enters the period"
    elif hi >= end:
        cls = MISSING_END
        msg = f"{span} missing where the chain leaves the period"
    else:
        cls = DROPPED_RECORD
        msg = f"{span} missing inside the period"
    emit(Finding(cls, msg, node=chain.node, seq=first, detail=detail))


def _link(chain: Chain, prev: Slot, cur: Slot, emit: Emit) -> None:
    if cur.flags & F_PREV and not prev.flags & F_FORK and cur.prev16 != prev.id[:16]:
        emit(
            Finding(
                FORK,
                f"seq {cur.seq} continues a record at seq {prev.seq} other than the one in "
                "the bundle: two different records exist at that seq",
                node=chain.node,
                seq=cur.seq,
                leaf=cur.leaf,
                record_id=cur.record_id,
                detail={"bundle_record_at_prev": prev.record_id},
            )
        )


def _after_break(
    chain: Chain,
    brk_slot: Slot,
    cur: Slot,
    brk: tuple[int, bytes],
    start: int,
    end: int,
    unsigned: int,
    emit: Emit,
) -> None:
    """The signed record after a verified ``chain.break`` at seq ``s`` declaring ``s ..
    last`` lost. As the hub accepts it: seq ``s + 1`` naming the break (a node that declared
    the loss itself writes on from the break), or ``last + 1`` naming ``next_prev`` (the
    break's id when that is null); another ``prev`` at either seq is ``fork``. A gap after
    the range starts at ``last + 1``; inside it, at ``s + 1``."""
    last, next_prev = brk
    s = brk_slot.seq
    if cur.seq in (s + 1, last + 1):
        named = {next_prev} if cur.seq == last + 1 else set()
        if cur.seq == s + 1:
            named.add(brk_slot.id[:16])
        if not cur.flags & F_PREV or cur.prev16 in named:
            return
        emit(
            Finding(
                FORK,
                f"seq {cur.seq} follows the chain.break at seq {s} (lost: seq {s}..{last}) "
                "but names neither the break nor its next_prev",
                node=chain.node,
                seq=cur.seq,
                leaf=cur.leaf,
                record_id=cur.record_id,
                detail={"break_at": s},
            )
        )
        return
    first = s + 1 if cur.seq <= last else last + 1
    if chain.complete and cur.seq - first > unsigned:
        _gap(chain, brk_slot, cur, start, end, emit, first)


def chain_findings(chain: Chain, start: int, end: int, emit: Emit) -> None:
    """Links, log order, gaps and edges of one chain (rules in the module docstring).

    Only signed records (``F_AUTH``) count: the seq and leaf of a record that failed its
    checks are not to be believed. Such a record was reported already; it only keeps its
    own seq from being reported missing too.
    """
    prev: Slot | None = None
    first: Slot | None = None
    unsigned = 0  # slots held between ``prev`` and the current signed one that are not signed
    for cur in chain.slots():
        if not cur.flags & F_AUTH:
            unsigned += 1
            continue
        brk = chain.breaks.get(prev.seq) if prev is not None else None
        if prev is None:
            first = cur
        elif brk is not None:  # after a declared gap (a notice): the chain goes on after it
            _after_break(chain, prev, cur, brk, start, end, unsigned, emit)
        elif cur.seq == prev.seq + 1:
            _link(chain, prev, cur, emit)
        elif chain.complete and cur.seq - prev.seq - 1 > unsigned:
            _gap(chain, prev, cur, start, end, emit, prev.seq + 1)
        if prev is not None and prev.flags & cur.flags & F_INCL and cur.leaf < prev.leaf:
            emit(
                Finding(
                    REORDERED,
                    f"the log holds seq {cur.seq} (leaf {cur.leaf}) before seq {prev.seq} "
                    f"(leaf {prev.leaf})",
                    node=chain.node,
                    seq=cur.seq,
                    leaf=cur.leaf,
                    record_id=cur.record_id,
                )
            )
        prev, unsigned = cur, 0
    if not chain.complete:
        return
    if first is None or prev is None:
        if chain.head_seq > 0 and chain.records == 0:
            emit(
                Finding(
                    MISSING_START,
                    f"no record of this chain is in the bundle, but the hub says it has "
                    f"{chain.head_seq}; the records around the period are missing",
                    node=chain.node,
                )
            )
        return
    if first.seq > 1 and first.leaf >= start and chain.get(first.seq - 1) is None:
        emit(
            Finding(
                MISSING_START,
                f"the chain's first record in the bundle is seq {first.seq}, stored inside the "
                f"period; seq {first.seq - 1} is missing, so nothing shows the chain starts here",
                node=chain.node,
                seq=first.seq,
                leaf=first.leaf,
                record_id=first.record_id,
            )
        )
    brk = chain.breaks.get(prev.seq)
    after = prev.seq + 1 if brk is None else brk[0] + 1  # the seq that must follow
    if (
        prev.leaf < end
        and chain.head_seq > prev.seq
        and chain.get(after) is None
        and chain.get(prev.seq + 1) is None
    ):
        emit(
            Finding(
                MISSING_END,
                f"the chain's last record in the bundle is seq {prev.seq}, stored inside the "
                f"period, but the hub says the chain goes on to seq {chain.head_seq}",
                node=chain.node,
                seq=after,
                detail={"last_in_bundle": prev.seq, "head_seq": chain.head_seq},
            )
        )
