"""Checkpoint and cosignature checks of the offline verifier (rules in ``common.audit.verifier``).

* A checkpoint must be the hub's signed statement ``{origin, root, size, time}`` for the
  header's origin (``bad_checkpoint_signature``; unreadable: ``malformed``).
* Sizes grow line after line (a smaller one: ``reordered``; the same size with another root:
  ``inconsistent_checkpoint``, a split view); each checkpoint after the first carries a
  consistency proof from the previous one (missing or from elsewhere:
  ``unproven_checkpoint``; failing: ``inconsistent_checkpoint``); times do not go backwards
  beyond the tolerance (``inconsistent_checkpoint``).
* The auditor's own checkpoint must appear with the same root (``inconsistent_checkpoint``;
  never: ``unlinked_checkpoint``).
* Cosignatures: ``common.audit.witness``.
* The period's edges: the checkpoints of sizes ``start`` and ``end`` must be present
  (``unproven_checkpoint``); the start checkpoint must predate ``since`` and the first
  checkpoint after ``end`` must not predate ``until`` (``missing_start`` / ``missing_end``).
  Without ``since`` the period starts at 0 (else ``missing_start``); without ``until`` it
  ends at the newest valid checkpoint of the bundle (else ``missing_end``): a hub cannot
  move a dropped tail "after the period".
"""

from __future__ import annotations

import re
from typing import Any

from common import keys, protocol, record_fast
from common.audit.bundle_format import BreakLine, CheckpointLine
from common.audit.report import (
    BAD_CHECKPOINT_SIGNATURE,
    DECLARED_BREAK,
    INCONSISTENT_CHECKPOINT,
    MALFORMED,
    MISSING_END,
    MISSING_START,
    REORDERED,
    UNPROVEN_CHECKPOINT,
    Finding,
)
from common.audit.state import BundleError, State, Window, iso, timestamp
from common.errors import EncodingError, SignatureError
from common.merkle import ProofError, verify_consistency

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_CP_FIELDS = frozenset({"origin", "root", "size", "time"})
_COSIG_FIELDS = frozenset({"node", "origin", "root", "size", "time"})


class CheckpointProblem(Exception):
    def __init__(self, cls: str, message: str) -> None:
        super().__init__(message)
        self.cls = cls


def _lenient_size(raw: bytes) -> int | None:
    m = re.search(rb'"size":(\d{1,18})', raw)
    return int(m.group(1)) if m else None


def open_statement(prefix: bytes, raw: bytes, public: keys.PublicKey) -> dict[str, Any]:
    """:func:`common.protocol.open_statement` with the fast canonical decoder: the signature
    over ``prefix || body`` first, then the body (a canonical JSON object)."""
    if not raw.startswith(prefix) or len(raw) < len(prefix) + 2 + 64:
        raise EncodingError(f"not a {prefix.decode().strip()} statement")
    keys.verify(public, raw[-64:], raw[:-64])
    body = record_fast.decode(raw[len(prefix) : -64])
    if not isinstance(body, dict):
        raise EncodingError("statement body is not an object")
    return body


class CheckpointChecks(State):
    def open_checkpoint(self, raw: bytes) -> tuple[int, bytes, float]:
        """Size, root and time of a checkpoint signed by the hub for this log."""
        try:
            body = open_statement(protocol.CHECKPOINT_PREFIX, raw, self.hub_public)
        except SignatureError as exc:
            raise CheckpointProblem(BAD_CHECKPOINT_SIGNATURE, "not signed by the hub key") from exc
        except EncodingError as exc:
            raise CheckpointProblem(MALFORMED, f"not a readable checkpoint ({exc.en})") from exc
        if body.keys() != _CP_FIELDS:
            raise CheckpointProblem(MALFORMED, "fields are not origin, root, size, time")
        if body["origin"] != self.h.origin:
            origin = str(body["origin"])[:80]
            raise CheckpointProblem(BAD_CHECKPOINT_SIGNATURE, f"signed for another log ({origin})")
        size, root, t = body["size"], body["root"], timestamp(body["time"])
        if type(size) is not int or size < 0 or t is None:
            raise CheckpointProblem(MALFORMED, "size or time has the wrong form")
        if not isinstance(root, str) or not _HEX64.match(root):
            raise CheckpointProblem(MALFORMED, "root has the wrong form")
        return size, bytes.fromhex(root), t

    def take_trusted(self, raw: bytes) -> None:
        """The checkpoint the auditor obtained separately."""
        try:
            size, root, _ = self.open_checkpoint(raw)
        except CheckpointProblem as p:
            self.emit(Finding(p.cls, f"the checkpoint you supplied: {p}"))
            self.report.header["trusted_checkpoint"] = {"valid": False}
            return
        self.trusted = (size, root)
        self.trusted_body = open_statement(protocol.CHECKPOINT_PREFIX, raw, self.hub_public)
        self.report.header["trusted_checkpoint"] = {
            "size": size,
            "root": root.hex(),
            "valid": True,
            "linked": False,
        }

    def checkpoint(self, line: CheckpointLine) -> None:
        try:
            size, root, t = self.open_checkpoint(line.signed)
        except CheckpointProblem as p:
            self.emit(Finding(p.cls, f"checkpoint: {p}", line=self.n))
            bad = _lenient_size(line.signed)
            if bad is not None:
                self.bad_sizes.add(bad)
            self.window = None
            return
        prev = self.last_cp
        if prev is not None and size <= prev[0]:
            known = self.checkpoints.get(size)
            if known is not None and known[0] != root:
                self._split(size, "an earlier line")
            elif known is not None:
                self.malformed(f"checkpoint of size {size} repeated", "repeated_checkpoint")
            else:
                msg = f"checkpoint of size {size} comes after size {prev[0]}"
                self.emit(Finding(REORDERED, msg, line=self.n))
            return
        if len(self.checkpoints) >= self.policy.max_checkpoints:
            raise BundleError(f"more than {self.policy.max_checkpoints} checkpoints")
        if prev is not None:
            self._consistency(prev, size, root, line)
            if t < prev[2] - self.tol:
                msg = f"checkpoint {size} is dated {iso(t)}, before checkpoint {prev[0]}"
                self.emit(Finding(INCONSISTENT_CHECKPOINT, msg, line=self.n))
        if self.trusted is not None and self.trusted[0] == size:
            self.trusted_seen = True
            self.report.header["trusted_checkpoint"]["linked"] = self.trusted[1] == root
            if self.trusted[1] != root and not self.trusted_given_up():
                self._split(size, "your checkpoint")
        self.checkpoints[size] = (root, t)
        self.last_cp = (size, root, t)
        self.window = Window(prev[0] if prev else 0, size, t)
        self.counts["checkpoints"] += 1
        if size == self.h.start:
            self.edge_times["start"] = t
        if size > self.h.end and "after_end" not in self.edge_times:
            self.edge_times["after_end"] = t

    def log_break(self, line: BreakLine) -> None:
        """A break the hub declared: checkpoints it signed and then gave up. Reported as
        such (``declared_break``); what it covers is not a split view."""
        try:
            body = protocol.log_break_of(line.signed, self.hub_public, origin=self.h.origin)
        except SignatureError:
            msg = "a log break not signed by the hub key"
            self.emit(Finding(BAD_CHECKPOINT_SIGNATURE, msg, line=self.n))
            return
        except EncodingError as exc:
            self.malformed(f"a log break that cannot be read ({exc.en})", "bad_break")
            return
        self.breaks.append(body)
        kept, given_up = body["kept"], body["given_up"]
        msg = (
            f"the hub declared a break in its log at {body['time']}: it went on from "
            f"{kept['size']} records and gave up the checkpoints it had signed beyond them "
            f"(up to {given_up['size']} records); administrator {str(body['by'])[:64]!r}, "
            f"reason: {str(body['reason'])[:300]}"
        )
        self.emit(Finding(DECLARED_BREAK, msg, line=self.n))

    def given_up_by(self, checkpoint: dict[str, Any]) -> dict[str, Any] | None:
        """The declared break that covers ``checkpoint`` (an opened body), if any."""
        return next((b for b in self.breaks if protocol.break_covers(b, checkpoint)), None)

    def trusted_given_up(self) -> bool:
        """Your checkpoint is one a declared break gave up: said once, as such."""
        if self.trusted_body is None:
            return False
        brk = self.given_up_by(self.trusted_body)
        if brk is None:
            return False
        if not self.report.header["trusted_checkpoint"].get("given_up"):
            self.report.header["trusted_checkpoint"]["given_up"] = True
            msg = (
                f"your checkpoint (size {self.trusted_body['size']}) is one the hub gave up in "
                f"the break it declared at {brk['time']}: the log went on from "
                f"{brk['kept']['size']} records; what your checkpoint held beyond them is not "
                "proven by this bundle"
            )
            self.emit(Finding(DECLARED_BREAK, msg))
        return True

    def _split(self, size: int, other: str) -> None:
        msg = f"two different roots signed for size {size} ({other} and this one): a split view"
        self.emit(Finding(INCONSISTENT_CHECKPOINT, msg, line=self.n))

    def _consistency(
        self, prev: tuple[int, bytes, float], size: int, root: bytes, line: CheckpointLine
    ) -> None:
        if line.consistency_from is None or line.consistency is None:
            msg = f"no consistency proof from checkpoint {prev[0]} to {size}"
            self.emit(Finding(UNPROVEN_CHECKPOINT, msg, line=self.n))
            return
        if line.consistency_from != prev[0]:
            msg = (
                f"the consistency proof starts at size {line.consistency_from}, "
                f"not at the previous checkpoint {prev[0]}"
            )
            self.emit(Finding(UNPROVEN_CHECKPOINT, msg, line=self.n))
            return
        blob = line.consistency
        hashes = [blob[i : i + 32] for i in range(0, len(blob), 32)]
        try:
            verify_consistency(prev[0], size, prev[1], root, hashes)
        except ProofError as exc:
            msg = f"checkpoint {size} is not consistent with checkpoint {prev[0]}: {exc.en}"
            detail = {"reason": exc.detail.get("reason")}
            self.emit(Finding(INCONSISTENT_CHECKPOINT, msg, line=self.n, detail=detail))

    def period_edges(self) -> None:
        h, tol = self.h, self.tol
        for size, what in ((h.start, "start"), (h.end, "end")):
            if size > 0 and size not in self.checkpoints:
                msg = f"no valid checkpoint of size {size} marks the period's {what}"
                self.emit(Finding(UNPROVEN_CHECKPOINT, msg))
        if h.since is None and h.start != 0:
            msg = f"the period has no start date, so it starts at leaf 0, not {h.start}"
            self.emit(Finding(MISSING_START, msg, line=1))
        newest = self.last_cp[0] if self.last_cp is not None else 0
        if h.until is None and h.end != newest:
            msg = (
                f"the period has no end date, so it runs to the newest checkpoint (size "
                f"{newest}), but the bundle says it ends at {h.end}"
            )
            self.emit(Finding(MISSING_END, msg, line=1, detail={"end": h.end, "newest": newest}))
        start_t, after_t = self.edge_times.get("start"), self.edge_times.get("after_end")
        if self.since is not None and start_t is not None and start_t >= self.since + tol:
            msg = (
                f"the period starts at checkpoint {h.start}, made at {iso(start_t)}, "
                "after the period's start date: records of its first moments are left out"
            )
            self.emit(Finding(MISSING_START, msg))
        if self.until is not None and after_t is not None and after_t < self.until - tol:
            msg = (
                f"the first checkpoint after the period's end (size {h.end}) was made at "
                f"{iso(after_t)}, before the period's end date: records of its last moments "
                "are left out"
            )
            self.emit(Finding(MISSING_END, msg))
