"""Record checks of the offline verifier (rules in ``common.audit.verifier``).

For each record line, in this order:

1. **Inclusion**: ``leaf_hash(raw)`` at ``leaf`` must lead to the root of the checkpoint of
   the proof's size, read earlier (no proof: ``unproven_record``; a checkpoint whose
   signature failed: ``unproven_record``; anything else: ``bad_inclusion_proof``).
2. **Form**: the strict record parser. Unreadable bytes the log holds: ``malformed``;
   unreadable bytes the log does not hold: ``altered_record``.
3. **Place**: the node must be declared (``unknown_key``); the same record again is
   ``duplicate_record``; a leaf not above the previous record's, or below the latest
   checkpoint's window, is ``reordered``.
4. **Key and signature** (verified once): no such key for the node: ``unknown_key``; a seq
   outside the key's valid range: ``revoked_key``; a failing signature: ``bad_signature``.
   When the inclusion proof fails too — nothing vouches for the bytes, neither a known key
   nor the log — the one finding is ``altered_record`` (an unknown node or key with a
   failing proof counts the same: a changed ``node`` or ``key`` field).
5. **Fork**: a different signed record at a seq already held by a signed one: ``fork``
   (one that failed its checks is replaced by the signed one, without a second finding).
6. **Time**, for signed and included records: the anchor must name a checkpoint of the
   bundle with that root, not after the record's own leaf (``anchor_missing``); the record
   time may not be before the anchor's time (``backdated``) nor after the time of the
   checkpoint window it is read in, i.e. the first checkpoint including it (``postdated``),
   both with the policy's tolerance; consecutive records written on an anchor older than
   ``max_offline`` at storing form one ``offline_window``.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature

from common import chain_break, personal, record_fast
from common.audit.bundle_format import RecordLine
from common.audit.chain import (
    F_AUTH,
    F_FORK,
    F_INCL,
    F_PREV,
    NO_KEY,
    Chain,
    KeyState,
    OfflineWindow,
)
from common.audit.coverage import CoverageChecks
from common.audit.labels import LabelChecks
from common.audit.report import (
    ALTERED_RECORD,
    ANCHOR_MISSING,
    BACKDATED,
    BAD_DISCLOSURE,
    BAD_INCLUSION_PROOF,
    BAD_SIGNATURE,
    DECLARED_BREAK,
    DECLARED_GAP,
    DUPLICATE_RECORD,
    FORK,
    MALFORMED,
    OFFLINE_WINDOW,
    POSTDATED,
    REORDERED,
    REVOKED_KEY,
    UNKNOWN_KEY,
    UNPROVEN_RECORD,
    Finding,
)
from common.audit.state import BundleError, iso
from common.errors import EncodingError
from common.keys import PublicKey
from common.merkle import EMPTY_ROOT, leaf_hash
from common.record import SIGNATURE_SIZE, Record

NO_PREV = bytes(16)
_SHA = hashlib.sha256
_NODE = re.compile(r"[0-9a-f]{32}\Z")
_DIGITS = re.compile(rb"\d{1,15}")
_EMPTY_HEX = EMPTY_ROOT.hex()
_UNAUTHENTIC = "no valid signature vouches for these bytes and the log does not hold them"


def inclusion_root(leaf: bytes, index: int, size: int, proof: bytes) -> bytes | str:
    """RFC 9162 §2.1.3.2 root from ``proof`` (concatenated 32-byte hashes), or why not.

    The proof must be exactly ``inner + border`` hashes long, where ``inner`` is the bit
    length of ``index XOR (size - 1)`` and ``border`` the number of one bits of
    ``index >> inner`` — the RFC's ``fn``/``sn`` walk in closed form. Reasons:
    ``index_out_of_range``, ``not_whole_hashes``, ``proof_too_long``, ``proof_too_short``.
    """
    if not 0 <= index < size:
        return "index_out_of_range"
    if len(proof) % 32:
        return "not_whole_hashes"
    inner = (index ^ (size - 1)).bit_length()
    count, want = len(proof) // 32, inner + bin(index >> inner).count("1")
    if count != want:
        return "proof_too_long" if count > want else "proof_too_short"
    h = leaf
    for i in range(inner):
        p = proof[32 * i : 32 * i + 32]
        h = _SHA(b"\x01" + p + h if (index >> i) & 1 else b"\x01" + h + p).digest()
    for i in range(inner, count):
        h = _SHA(b"\x01" + proof[32 * i : 32 * i + 32] + h).digest()
    return h


def lenient_ident(raw: bytes) -> tuple[str, int] | None:
    """Node and seq of a record that does not parse (top-level keys come last in canonical
    order, so the last occurrence of each is the record's own)."""
    i, j = raw.rfind(b'"node":"'), raw.rfind(b'"seq":')
    if i < 0 or j < 0:
        return None
    node = raw[i + 8 : i + 40].decode("ascii", "replace")
    digits = _DIGITS.match(raw, j + 6)
    if not _NODE.match(node) or digits is None:
        return None
    return node, int(digits.group())


class _Walk:
    """The last verified proof walk: its checkpoint, leaf, proof and the hash it reached at
    each level below the tree's right border (``hashes[i]``: the subtree at level ``i``)."""

    __slots__ = ("hashes", "index", "proof", "root", "size")

    def __init__(self, size: int, root: bytes, index: int, proof: bytes, hashes: list[bytes]):
        self.size, self.root, self.index, self.proof, self.hashes = size, root, index, proof, hashes


class RecordChecks(CoverageChecks, LabelChecks):
    _walk: _Walk | None = None

    def _path(self, leaf_h: bytes, index: int, size: int, proof: bytes, root: bytes) -> str | None:
        """Why the proof fails, or None when it leads from ``leaf_h`` to ``root``.

        Same rule as :func:`inclusion_root`, shortened by the last verified walk against the
        same checkpoint: above level ``join`` (the bit length of the XOR of the two leaf
        indices) both walks pass through the same subtrees. When this walk reaches the
        subtree at ``join`` with the hash the last walk had there, and *the remaining proof
        hashes are the same*, it would redo the very same steps to the same root, so it stops
        there; anything else is walked in full.
        """
        if not 0 <= index < size or len(proof) % 32:
            got = inclusion_root(leaf_h, index, size, proof)
            return got if isinstance(got, str) else "root_mismatch"
        inner = (index ^ (size - 1)).bit_length()
        if len(proof) // 32 != inner + bin(index >> inner).count("1"):
            got = inclusion_root(leaf_h, index, size, proof)
            return got if isinstance(got, str) else "root_mismatch"
        last = self._walk
        join = inner
        if last is not None and last.size == size and last.root == root:
            join = min(inner, (index ^ last.index).bit_length())
        h, seen = leaf_h, []
        for i in range(join):
            seen.append(h)
            p = proof[32 * i : 32 * i + 32]
            h = _SHA(b"\x01" + p + h if (index >> i) & 1 else b"\x01" + h + p).digest()
        if (
            last is not None
            and join < inner  # then ``last`` had the same number of inner levels
            and h == last.hashes[join]
            and proof[32 * join :] == last.proof[32 * join :]
        ):
            seen.append(h)
            last.hashes[: join + 1] = seen
            last.index, last.proof = index, proof
            return None
        for i in range(join, inner):
            seen.append(h)
            p = proof[32 * i : 32 * i + 32]
            h = _SHA(b"\x01" + p + h if (index >> i) & 1 else b"\x01" + h + p).digest()
        for i in range(inner, len(proof) // 32):
            h = _SHA(b"\x01" + proof[32 * i : 32 * i + 32] + h).digest()
        if h != root:
            return "root_mismatch"
        self._walk = _Walk(size, root, index, proof, seen)
        return None

    def _inclusion(self, line: RecordLine, leaf_h: bytes) -> tuple[bool | None, str, str]:
        size = line.proof_size
        if size is None or line.proof is None:
            return None, UNPROVEN_RECORD, "the record has no inclusion proof"
        cp = self.checkpoints.get(size)
        if cp is None:
            if size in self.bad_sizes:
                why = f"its proof is against checkpoint {size}, which is not validly signed"
                return False, UNPROVEN_RECORD, why
            why = f"its proof names size {size}; no valid checkpoint of that size precedes it"
            return False, BAD_INCLUSION_PROOF, why
        fault = self._path(leaf_h, line.leaf, size, line.proof, cp[0])
        if fault == "root_mismatch":
            why = f"proof of leaf {line.leaf} does not lead to the root of checkpoint {size}"
            return False, BAD_INCLUSION_PROOF, why
        if fault is not None:
            return False, BAD_INCLUSION_PROOF, f"proof of leaf {line.leaf} in size {size}: {fault}"
        return True, "", ""

    def record(self, line: RecordLine) -> None:
        leaf, raw = line.leaf, line.raw
        self.cover(leaf)
        leaf_h = leaf_hash(raw)
        incl, incl_cls, incl_why = self._inclusion(line, leaf_h)
        try:
            rec = record_fast.parse(raw)
        except EncodingError as exc:
            return self._unreadable(line, incl, exc)
        where = (rec, leaf)
        seq = rec.seq
        if self.disclosed and rec.id in self.disclosed:
            self._check_disclosed(rec, where)
        chain = self.chains.get(rec.node)
        if chain is None:
            if incl is False:
                self.found(ALTERED_RECORD, _UNAUTHENTIC, where)
            else:
                self.found(UNKNOWN_KEY, "a record of a node the bundle does not declare", where)
            return
        rid = bytes.fromhex(rec.id)
        held = chain.get(seq)
        if held is not None and held.id == rid:
            msg = f"the same record again (first read at leaf {held.leaf})"
            self.found(DUPLICATE_RECORD, msg, where)
            return
        window = self.window
        if leaf > self.last_leaf and (window is None or leaf >= window.lo):
            self.last_leaf = leaf  # in log order: the usual case
        else:
            self._place(leaf, where)
        index = chain.key_index.get(rec.key)
        found = None if index is None else chain.keys[index]
        sig: bool | None = None
        valid = False
        if found is None and incl is False:
            sig = False  # nothing vouches for these bytes: not the log, not a known key
        elif found is None:
            self.found(UNKNOWN_KEY, f"signed by key {rec.key}, unknown for this node", where)
        else:
            sig = rec.id in self.keybook.verified or self._signed(raw, leaf_h, found)
            valid = found.valid_at(seq)
            if not valid:
                msg = (
                    f"signed by key {rec.key}, valid only for seq "
                    f"{found.first_seq}..{found.last_valid}"
                )
                self.found(REVOKED_KEY, msg, where)
        if sig is False and incl is False:
            self.found(ALTERED_RECORD, _UNAUTHENTIC, where)
        elif sig is False:
            msg = "its signature does not verify" + (", yet the log holds it" if incl else "")
            self.found(BAD_SIGNATURE, msg, where)
        if incl is not True and not (sig is False and incl is False):
            self.found(incl_cls, incl_why, where)
        if held is not None and (held.flags & F_AUTH or not sig):
            if sig:
                chain.add_flags(seq, F_FORK)
                msg = f"a second signed record at seq {seq}; the other is {held.record_id}"
                self.found(FORK, msg, where, {"other_leaf": held.leaf})
            return
        prev = rec.prev
        flags = (F_AUTH if sig else 0) | (F_INCL if incl else 0) | (F_PREV if prev else 0)
        prev16 = bytes.fromhex(prev[:32]) if prev else NO_PREV
        key = NO_KEY if index is None else index
        if held is None:
            self._put(chain, seq, rid, prev16, leaf, key, flags)
        else:  # a signed record takes the place of an unauthentic one (already reported)
            chain.replace(seq, rid, prev16, leaf, key, flags)
        counts = self.counts
        if self.h.start <= leaf < self.h.end:
            counts["records_in_period"] += 1
        if not incl:
            return
        self.keybook.logged(rec.id)
        if not sig or found is None or not valid:
            return
        counts["records_verified"] += 1
        self.label_record(rec, chain, leaf)
        if rec.type == chain_break.TYPE and rec.node != self.h.hub_id:
            self._declared_gap(rec, chain, where)
        if rec.type == "key.rotated" and rec.node != self.h.hub_id:
            self.keybook.rotation_in_log(self.n, rec, chain, found)
        elif rec.type == "key.revoked" and rec.node == self.h.hub_id:
            self.keybook.revocation_in_log(self.n, rec, self.chains)
        self._times(rec, chain, leaf, where)

    def _signed(self, raw: bytes, leaf_h: bytes, key: KeyState) -> bool:
        """Whether ``key`` signed ``raw``: the hint checked ahead for these very bytes and
        this very key (``common.audit.signatures``) if there is one, else checked here."""
        hint = self.hints.get(leaf_h)
        if hint is not None and hint[0] == key.public_raw:
            return hint[1]
        return _verifies(raw, key.public)

    def _declared_gap(self, rec: Record, chain: Chain, where: tuple[Record, int]) -> None:
        """A writer's signed ``chain.break``: one ``declared_gap`` notice, and the chain's
        link rule goes on after the range it declares lost."""
        if rec.dossier is not None or chain_break.problems(rec.data, seq=rec.seq, prev=rec.prev):
            self.found(MALFORMED, "a chain.break whose payload does not declare a gap", where)
            return
        last, next_prev = chain_break.successor(rec.data, rec.id)
        chain.breaks[rec.seq] = (last - 1, bytes.fromhex(next_prev[:32]))
        msg = f"the commune declared {chain_break.describe(rec.data)}"
        self.found(DECLARED_GAP, msg, where, {"first_seq": rec.seq, "last_seq": last - 1})

    def _check_disclosed(self, rec: Record, where: tuple[Record, int]) -> None:
        """The personal data disclosed for ``rec`` against the commitments it signs."""
        items = self.disclosed.pop(rec.id)
        try:
            pd = personal.commitments(rec.data)
        except personal.DisclosureError:
            pd = {}
        for _, d in items:
            if pd.get(d.path) != d.digest():
                msg = f"{d.path}: the disclosed value does not match the record's commitment"
                self.found(BAD_DISCLOSURE, msg, where, {"path": d.path})

    def found(
        self,
        cls: str,
        message: str,
        where: tuple[Record, int],
        detail: dict[str, Any] | None = None,
    ) -> None:
        """A finding about one record (read at the current line)."""
        rec, leaf = where
        self.emit(
            Finding(
                cls,
                message,
                line=self.n,
                node=rec.node,
                seq=rec.seq,
                leaf=leaf,
                record_id=rec.id,
                detail=detail or {},
            )
        )

    def _place(self, leaf: int, where: tuple[Record, int]) -> None:
        window = self.window
        if leaf <= self.last_leaf:
            msg = f"leaf {leaf} comes after leaf {self.last_leaf}: the line is out of log order"
            self.found(REORDERED, msg, where)
            return
        if window is not None and leaf < window.lo:
            msg = f"leaf {leaf} belongs before checkpoint {window.lo}, which precedes it"
            self.found(REORDERED, msg, where)
        self.last_leaf = leaf

    def _put(
        self, chain: Chain, seq: int, rid: bytes, prev16: bytes, leaf: int, key: int, flags: int
    ) -> None:
        if chain.put(seq, rid, prev16, leaf, key, flags):
            self.runs += 1
            if self.runs > self.policy.max_runs:
                raise BundleError(f"more than {self.policy.max_runs} breaks in sequence numbers")

    def _unreadable(self, line: RecordLine, incl: bool | None, exc: EncodingError) -> None:
        ident = lenient_ident(line.raw)
        node, seq = ident if ident else (None, None)
        if incl:
            cls, msg = MALFORMED, f"the log holds a record that cannot be read: {exc.en}"
        else:
            cls, msg = (
                ALTERED_RECORD,
                f"unreadable, and the log does not hold these bytes: {exc.en}",
            )
        self.emit(Finding(cls, msg, line=self.n, node=node, seq=seq, leaf=line.leaf))
        chain = self.chains.get(node) if node else None
        if chain is not None and seq is not None and seq >= 1 and chain.get(seq) is None:
            self._put(chain, seq, _SHA(line.raw).digest(), NO_PREV, line.leaf, NO_KEY, 0)

    def _times(self, rec: Record, chain: Chain, leaf: int, where: tuple[Record, int]) -> None:
        at = datetime.fromisoformat(rec.at).timestamp()  # the parser accepts only these
        seen: float | None = None
        a = rec.anchor
        if a is None:
            self.counts["records_without_anchor"] += 1
        elif a.size > leaf:
            msg = f"its anchor names checkpoint {a.size}, later than the record's own leaf"
            self.found(ANCHOR_MISSING, msg, where)
        elif not (a.size == 0 and a.root == _EMPTY_HEX) and a.size not in self.bad_sizes:
            cp = self.checkpoints.get(a.size)
            brk = next((b for b in self.breaks if b["kept"]["size"] < a.size), None)
            if (cp is None or cp[0] != bytes.fromhex(a.root)) and brk is not None:
                msg = (
                    f"its anchor names checkpoint {a.size}, of the log the hub gave up in the "
                    f"break it declared at {brk['time']}"
                )
                self.found(DECLARED_BREAK, msg, where)
            elif cp is None:
                msg = f"its anchor names checkpoint {a.size}, which is not in the bundle"
                self.found(ANCHOR_MISSING, msg, where)
            elif cp[0] != bytes.fromhex(a.root):
                msg = f"its anchor names checkpoint {a.size} with a root the log never had"
                self.found(ANCHOR_MISSING, msg, where)
            else:
                seen = cp[1]
                if at < seen - self.tol:
                    msg = (
                        f"dated {rec.at}, before {iso(seen)}, when its writer had already "
                        f"seen checkpoint {a.size}"
                    )
                    self.found(BACKDATED, msg, where)
        w = self.window
        if w is None or not w.lo <= leaf < w.hi:
            return
        if at > w.time + self.tol:
            msg = f"dated {rec.at}, after {iso(w.time)}, when checkpoint {w.hi} already held it"
            self.found(POSTDATED, msg, where)
        limit = self.max_offline
        if seen is None or limit is None or a is None:
            return
        ow, lag = chain.offline, w.time - seen
        if lag <= limit:
            if ow is not None:
                self.flush_offline(chain)
        elif ow is not None and ow.anchor_size == a.size:
            ow.last_seq, ow.stored, ow.worst = rec.seq, w.time, max(ow.worst, lag)
        else:
            self.flush_offline(chain)
            chain.offline = OfflineWindow(a.size, rec.seq, rec.seq, leaf, rec.id, seen, w.time, lag)

    def flush_offline(self, chain: Chain) -> None:
        ow, chain.offline = chain.offline, None
        if ow is None:
            return
        span = f"seq {ow.first_seq}" + ("" if ow.first_seq == ow.last_seq else f"..{ow.last_seq}")
        days = ow.worst / 86400
        msg = (
            f"{span} written after the node last heard from the hub at {iso(ow.seen)} "
            f"(checkpoint {ow.anchor_size}), stored by {iso(ow.stored)}: {days:.1f} days offline"
        )
        self.emit(
            Finding(
                OFFLINE_WINDOW,
                msg,
                node=chain.node,
                seq=ow.first_seq,
                leaf=ow.first_leaf,
                record_id=ow.first_id,
                detail={"last_seq": ow.last_seq, "days": round(days, 2)},
            )
        )


def _verifies(raw: bytes, public: PublicKey) -> bool:
    """:meth:`common.record.Record.verify` of a parsed record, as a yes or no."""
    try:
        public.verify(raw[-SIGNATURE_SIZE:], raw[:-SIGNATURE_SIZE])
    except InvalidSignature:
        return False
    return True
