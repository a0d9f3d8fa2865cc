"""The standalone offline verifier of an audit bundle (format: ``common.audit.bundle_format``).

:func:`verify_bundle` reads the bundle's lines once, in order, and never trusts the hub:

1. **Hub key.** The key the auditor pins (``hub_public_key``) wins over the one the header
   names (a difference is ``hub_key_mismatch``); the hub id must be that key's id.
2. **Checkpoints** (``common.audit.checkpoints``): signed by the hub key for the header's
   origin, growing, each linked to the previous one by a consistency proof; the checkpoint
   the auditor obtained separately must be among them with the same root.
3. **Keys** (``common.audit.key_history``): every key line backed by signed evidence.
4. **Records** (``common.audit.records``): strict form, one signature check against the key
   valid at the seq, inclusion in a checkpoint, time bounds, duplicates and forks.
5. **Chains** (``common.audit.chain``), once everything is read: links, gaps, log order and
   the edges of the period.
6. **Completeness of the file**: an ``end`` line whose counts match (``truncated``);
   unknown or misplaced lines are ``malformed``.

Cost per record: one Ed25519 verification, one strict parse, two SHA-256 (record id and
leaf hash) and one O(log n) proof walk; memory: a 58-byte slot per record and about 100
bytes per checkpoint, whatever the records' size. Hostile input yields findings; an
unusable bundle (no header, unknown format, over the policy's limits) raises
:class:`BundleError`. No I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from common import keys, personal
from common.audit.bundle_format import (
    FORMAT,
    BreakLine,
    CheckpointLine,
    CosignatureLine,
    DisclosureLine,
    EndLine,
    Header,
    KeyLine,
    LineError,
    NodeLine,
    RecordLine,
)
from common.audit.bundle_read import decode_line, line_kind
from common.audit.chain import Chain, chain_findings
from common.audit.checkpoints import CheckpointChecks
from common.audit.key_history import KeyBook
from common.audit.records import RecordChecks, inclusion_root
from common.audit.report import (
    BAD_DISCLOSURE,
    HUB_KEY_MISMATCH,
    TRUNCATED,
    UNLINKED_CHECKPOINT,
    UNWITNESSED,
    Finding,
    Policy,
    Report,
)
from common.audit.state import BundleError, timestamp
from common.audit.witness import WitnessChecks
from common.errors import EncodingError

__all__ = ["BundleError", "Verifier", "inclusion_root", "verify_bundle"]

_COUNTED = ("node", "key", "disclosure", "break", "checkpoint", "cosignature", "record")


class Verifier(CheckpointChecks, RecordChecks, WitnessChecks):
    """Feed it the bundle's lines in order (:meth:`feed`), then call :meth:`finish`."""

    def feed(self, data: bytes) -> None:
        self.n += 1
        try:
            line = decode_line(data, max_bytes=self.policy.max_line_bytes)
        except LineError as exc:
            if self.phase == 0:
                raise BundleError(f"line 1 is not a bundle header: {exc.en}") from exc
            return self.malformed(exc.en, str(exc.detail.get("reason")))
        if type(line) is RecordLine and self.phase == 2:  # the usual line
            self.kinds["record"] += 1
            return self.record(line)
        if self.phase == 0:
            if not isinstance(line, Header):
                raise BundleError("line 1 is not a bundle header")
            self._header(line)
            self.check_text(line)
            self.phase = 1
            return
        kind = line_kind(line)
        if self.phase == 3:
            return self.malformed(f"a {kind} line after the end line", "after_end")
        self.kinds[kind] += 1
        if isinstance(line, NodeLine | KeyLine | EndLine):
            self.check_text(line)
        if isinstance(line, RecordLine):
            if self.phase == 1:
                self._open_log()
            self.record(line)
        elif isinstance(line, CheckpointLine | CosignatureLine):
            if self.phase == 1:
                self._open_log()
            self.checkpoint(line) if isinstance(line, CheckpointLine) else self.cosignature(line)
        elif isinstance(line, BreakLine):
            if self.phase == 1:
                self._open_log()
            self.log_break(line)
        elif isinstance(line, NodeLine | KeyLine):
            if self.phase != 1:
                return self.malformed(f"a {kind} line inside the log part", "out_of_place")
            self._node(line) if isinstance(line, NodeLine) else self._key(line)
        elif isinstance(line, DisclosureLine):
            if self.phase != 1:
                return self.malformed("a disclosure line inside the log part", "out_of_place")
            self._disclosure(line)
        elif isinstance(line, EndLine):
            self._end(line)
        else:
            self.malformed("a second header line", "out_of_place")

    def _open_log(self) -> None:
        self.keybook.close_section(self.chains)
        self.open_coverage()
        self.phase = 2

    def _header(self, h: Header) -> None:
        if h.format != FORMAT:
            raise BundleError(f"unsupported bundle format {h.format!r}; this reads {FORMAT}")
        named = bytes.fromhex(h.hub_key)
        key = named if self.pinned is None else self.pinned
        if named != key:
            detail = {"bundle": h.hub_key, "pinned": key.hex()}
            msg = "the bundle names another hub key than the one you pinned"
            self.emit(Finding(HUB_KEY_MISMATCH, msg, line=1, detail=detail))
        if self.pinned is None:
            self.report.notes.append(
                "The hub key was read from the bundle itself: pin it with --hub-key, or give "
                "--checkpoint, to prove the bundle comes from your hub."
            )
        try:
            self.hub_public = keys.public_from_bytes(key)
        except (EncodingError, ValueError) as exc:
            raise BundleError("the hub key is not an Ed25519 public key") from exc
        if keys.key_id(key) != h.hub_id:
            self.emit(Finding(HUB_KEY_MISMATCH, "the hub id is not the id of the hub key", line=1))
        self.h = h
        self.since, self.until = timestamp(h.since), timestamp(h.until)
        if (h.since and self.since is None) or (h.until and self.until is None):
            self.malformed("the period's dates are not ISO 8601 times with an offset", "period")
        self.keybook = KeyBook(h.hub_id, self.hub_public, self.emit)
        self.report.header = {
            "format": h.format,
            "origin": h.origin,
            "hub_id": h.hub_id,
            "hub_name": h.hub_name,
            "hub_level": h.hub_level,
            "hub_key": key.hex(),
            "hub_key_source": "bundle" if self.pinned is None else "pinned",
            "period": {"since": h.since, "until": h.until, "start": h.start, "end": h.end},
            "created_at": h.created_at,
        }
        if self.trusted_raw is not None:
            self.take_trusted(self.trusted_raw)

    def _node(self, line: NodeLine) -> None:
        if line.node in self.chains:
            return self.malformed(f"node {line.node} is declared twice", "duplicate_node")
        if len(self.chains) >= self.policy.max_nodes:
            raise BundleError(f"more than {self.policy.max_nodes} chains")
        complete = line.chain == "complete"
        chain = Chain(line.node, complete, line.head_seq, line.name)
        chain.agency_code = line.agency_code
        self.chains[line.node] = chain
        self.label_node(line)

    def _key(self, line: KeyLine) -> None:
        chain = self.chains.get(line.node)
        if chain is None:
            msg = f"a key of node {line.node}, which is not declared"
            return self.malformed(msg, "undeclared_node")
        if len(chain.keys) >= self.policy.max_keys_per_node:
            raise BundleError(f"more than {self.policy.max_keys_per_node} keys for one node")
        self.keybook.key_line(self.n, line, chain)

    def _disclosure(self, line: DisclosureLine) -> None:
        """Keep a disclosed value until its record is read (records.py checks it)."""
        try:
            found = personal.Disclosure.from_value([line.salt, line.path, line.value])
            found.digest()  # a value that has no canonical form cannot match
        except (personal.DisclosureError, EncodingError) as exc:
            return self.malformed(f"a disclosure line: {exc.en}", "bad_disclosure")
        if len(self.disclosed) >= self.policy.max_nodes:
            raise BundleError(f"more than {self.policy.max_nodes} disclosed records")
        self.disclosed.setdefault(line.record, []).append((self.n, found))

    def _end(self, line: EndLine) -> None:
        read = {k: self.kinds[k] for k in _COUNTED}
        if set(line.counts) - set(read) or any(line.counts.get(k, 0) != v for k, v in read.items()):
            detail = {"end_line": line.counts, "read": read}
            msg = "the end line's counts differ from the lines read"
            self.emit(Finding(TRUNCATED, msg, line=self.n, detail=detail))
        self.ended = True
        self.phase = 3

    def finish(self) -> Report:
        """Run the whole-bundle checks and return the report."""
        if self.phase == 0:
            raise BundleError("the bundle is empty")
        if self.phase == 1:
            self._open_log()
        if not self.ended:
            msg = "the bundle has no end line: it is cut short"
            self.emit(Finding(TRUNCATED, msg, line=self.n))
        for chain in self.chains.values():
            self.flush_offline(chain)
        self.keybook.finish()
        for rid, items in self.disclosed.items():  # disclosures no record in the bundle took
            for n, d in items:
                msg = f"{d.path} is disclosed for record {rid[:12]}, which is not in the bundle"
                self.emit(Finding(BAD_DISCLOSURE, msg, line=n, detail={"path": d.path}))
        for chain in self.chains.values():
            chain_findings(chain, self.h.start, self.h.end, self.emit)
        self.period_edges()
        self.coverage_findings()
        self.trusted_cosignature()
        self.head_findings()
        self.enrolment_findings()
        self.label_findings()
        if self.trusted is not None and not self.trusted_seen and not self.trusted_given_up():
            msg = (
                f"your checkpoint (size {self.trusted[0]}) is not in the bundle; ask for an "
                f"export that includes it (central-hub audit-export --checkpoint-size "
                f"{self.trusted[0]})"
            )
            self.emit(Finding(UNLINKED_CHECKPOINT, msg))
        need = self.policy.min_cosignatures
        if need and max(self.cosigned.values(), default=0) < need:
            self.emit(Finding(UNWITNESSED, f"no checkpoint has {need} valid node cosignatures"))
        self._summarise()
        return self.report

    def _summarise(self) -> None:
        c, r = self.counts, self.report
        r.counts = {
            "lines": self.n,
            "records": self.kinds["record"],
            "records_verified": c["records_verified"],
            "records_in_period": c["records_in_period"],
            "records_without_anchor": c["records_without_anchor"],
            "nodes": len(self.chains),
            "keys": sum(len(ch.keys) for ch in self.chains.values()),
            "checkpoints": c["checkpoints"],
            "cosignatures": c["cosignatures"],
            "witnessed_checkpoints": len(self.cosigned),
        }
        r.header["chains"] = [
            {
                "node": ch.node,
                "name": ch.name,
                "agency_code": ch.agency_code,
                "agency_code_signed": ch.agency_confirmed,
                "enrolled": ch.enrolled,
                "chain": "complete" if ch.complete else "partial",
                "head_seq": ch.head_seq,
                "records": ch.records,
                "keys": len(ch.keys),
            }
            for ch in self.chains.values()
        ]
        for chain in self.chains.values():
            if not chain.complete:
                r.notes.append(
                    f"Chain {chain.node} ({chain.name}) is partial: only its records that "
                    "concern this export are included, so its gaps are not checked."
                )


def verify_bundle(
    lines: Iterable[bytes],
    *,
    trusted_checkpoint: bytes | None = None,
    hub_public_key: bytes | None = None,
    policy: Policy | None = None,
    trusted_cosignature: tuple[str, bytes] | None = None,
    trusted_enrolment: bytes | None = None,
) -> Report:
    """Verify a whole bundle, read line by line (rules in the module docstring).

    ``trusted_checkpoint``: a signed checkpoint statement the auditor obtained separately;
    ``hub_public_key``: the raw 32-byte hub key the auditor pins; ``trusted_cosignature``:
    (node, signed cosignature) from the auditor's checkpoint file, if it holds one;
    ``trusted_enrolment``: the hub's signed enrolment of that node, likewise. Raises
    :class:`BundleError` when the input is not a usable bundle; everything else is a
    finding in the report.
    """
    verifier = Verifier(
        policy or Policy(),
        trusted_checkpoint=trusted_checkpoint,
        hub_public_key=hub_public_key,
        trusted_cosignature=trusted_cosignature,
        trusted_enrolment=trusted_enrolment,
    )
    for line in lines:
        verifier.feed(line)
    return verifier.finish()
