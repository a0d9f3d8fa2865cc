"""What the offline verifier reports: finding classes, the policy it applies, the report.

Every finding has a **class**: a stable string id (documented in ``docs/audit.md``, never
reused for another meaning) that says what is wrong, and names the exact thing it is about —
node, sequence number, leaf index and record id for a record; the bundle line number always.
Any finding means the bundle does not prove the record whole (exit status 1 of
``dossier-audit verify``). No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

# ------------------------------------------------------------------ finding classes

ALTERED_RECORD = "altered_record"
BAD_SIGNATURE = "bad_signature"
MALFORMED = "malformed"
DROPPED_RECORD = "dropped_record"
MISSING_START = "missing_start"
MISSING_END = "missing_end"
REORDERED = "reordered"
DUPLICATE_RECORD = "duplicate_record"
FORK = "fork"
REVOKED_KEY = "revoked_key"
UNKNOWN_KEY = "unknown_key"
UNPROVEN_KEY = "unproven_key"
BACKDATED = "backdated"
POSTDATED = "postdated"
ANCHOR_MISSING = "anchor_missing"
OFFLINE_WINDOW = "offline_window"
INCONSISTENT_CHECKPOINT = "inconsistent_checkpoint"
UNPROVEN_CHECKPOINT = "unproven_checkpoint"
BAD_CHECKPOINT_SIGNATURE = "bad_checkpoint_signature"
BAD_COSIGNATURE = "bad_cosignature"
UNWITNESSED = "unwitnessed"
BAD_INCLUSION_PROOF = "bad_inclusion_proof"
UNPROVEN_RECORD = "unproven_record"
UNLINKED_CHECKPOINT = "unlinked_checkpoint"
HUB_KEY_MISMATCH = "hub_key_mismatch"
TRUNCATED = "truncated"
MISLABELLED = "mislabelled"
DECLARED_BREAK = "declared_break"
DECLARED_GAP = "declared_gap"
BAD_DISCLOSURE = "bad_disclosure"
# Notices: reported, but not failures (the bundle still proves the record whole around them).
NOTICES = frozenset({DECLARED_GAP})

CLASSES: dict[str, str] = {
    ALTERED_RECORD: "record bytes changed after the hub logged them (signature and log "
    "commitment both fail)",
    BAD_SIGNATURE: "the log holds a record whose signature does not verify",
    MALFORMED: "a line or a logged record cannot be read, or is out of place",
    DROPPED_RECORD: "records of a chain missing inside the period",
    MISSING_START: "the bundle cannot show where a chain starts in the period",
    MISSING_END: "the bundle cannot show where a chain ends in the period",
    REORDERED: "a line is out of log order, or the log holds a chain out of sequence order",
    DUPLICATE_RECORD: "the same record appears twice",
    FORK: "two different signed records at one sequence number of one chain",
    REVOKED_KEY: "record signed by a key outside the sequence range it was valid for",
    UNKNOWN_KEY: "record signed by a key (or from a node) the key history does not know",
    UNPROVEN_KEY: "a key-history line not backed by signed evidence, or contradicting it",
    BACKDATED: "record time earlier than a checkpoint its writer had already seen",
    POSTDATED: "record time later than the first checkpoint that includes it",
    ANCHOR_MISSING: "record names a checkpoint that is not in the log as named",
    OFFLINE_WINDOW: "records written after a longer offline window than the policy allows",
    INCONSISTENT_CHECKPOINT: "checkpoints that cannot all be views of one append-only log",
    UNPROVEN_CHECKPOINT: "checkpoint not linked to the previous one by a consistency proof",
    BAD_CHECKPOINT_SIGNATURE: "checkpoint not signed by the hub key for this log",
    BAD_COSIGNATURE: "a node's cosignature on a checkpoint does not verify",
    UNWITNESSED: "no checkpoint has as many node cosignatures as the policy requires",
    BAD_INCLUSION_PROOF: "inclusion proof does not lead from the record to its checkpoint",
    UNPROVEN_RECORD: "record not covered by a valid inclusion proof",
    UNLINKED_CHECKPOINT: "the checkpoint the auditor obtained separately is not in the bundle",
    HUB_KEY_MISMATCH: "the bundle names another hub key than the one the auditor pinned",
    TRUNCATED: "the bundle ends early or its end line does not match what was read",
    MISLABELLED: "a commune's agency code in the bundle contradicts its signed records",
    DECLARED_BREAK: "the hub declared, signed, that it gave up checkpoints it had signed "
    "(a log recovery closed early), and what that touches",
    BAD_DISCLOSURE: "personal data disclosed in the bundle does not match the commitment its "
    "signed record carries (or no record in the bundle commits to it)",
    DECLARED_GAP: "notice, not a failure: a commune declared, in a record it signed "
    "(chain.break), that records of its chain were lost before they reached the hub",
}


# ------------------------------------------------------------------ policy


@dataclass(frozen=True)
class Policy:
    """What the verifier tolerates, and the limits that keep a hostile bundle bounded.

    * ``clock_tolerance``: slack on every time comparison (record time against checkpoint
      times, checkpoint times against each other). Default 5 minutes, the sync protocol's
      request-time window.
    * ``max_offline``: a record whose first covering checkpoint is more than this after the
      checkpoint its writer had last seen (its ``anchor``) is flagged ``offline_window``
      (``None``: never).
    * ``min_cosignatures``: require at least one checkpoint cosigned by this many nodes.
    * ``max_line_bytes``, ``max_findings`` (listed; all are counted), ``max_nodes``,
      ``max_keys_per_node``, ``max_checkpoints``, ``max_runs``: hard limits; exceeding one
      of the last four makes the bundle unusable (a clean error, not unbounded memory).
    """

    clock_tolerance: timedelta = timedelta(minutes=5)
    max_offline: timedelta | None = timedelta(days=7)
    min_cosignatures: int = 0
    max_line_bytes: int = 512 * 1024
    max_findings: int = 1000
    max_nodes: int = 100_000
    max_keys_per_node: int = 250
    max_checkpoints: int = 5_000_000
    max_runs: int = 1_000_000


# ------------------------------------------------------------------ findings and report


@dataclass(frozen=True)
class Finding:
    """One thing that does not hold, about one record, key, checkpoint or line."""

    cls: str
    message: str
    line: int | None = None
    node: str | None = None
    seq: int | None = None
    leaf: int | None = None
    record_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"class": self.cls, "message": self.message}
        for name in ("line", "node", "seq", "leaf", "record_id"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass
class Report:
    """The outcome: ``ok`` only when there is no finding at all.

    ``counts`` has ``lines``, ``records`` (authentic, included records are also counted in
    ``records_verified``), ``records_in_period``, ``nodes``, ``keys``, ``checkpoints``,
    ``cosignatures`` (valid ones) and ``witnessed_checkpoints``. ``findings`` lists at most
    ``Policy.max_findings``; ``by_class`` counts every finding.
    """

    header: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    by_class: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    notices: list[Finding] = field(default_factory=list)  # NOTICES: shown, not failures

    @property
    def ok(self) -> bool:
        return not self.by_class

    @property
    def total_findings(self) -> int:
        return sum(self.by_class.values())

    def add(self, finding: Finding, limit: int) -> None:
        if finding.cls in NOTICES:
            if len(self.notices) < limit:
                self.notices.append(finding)
            return
        self.by_class[finding.cls] = self.by_class.get(finding.cls, 0) + 1
        if len(self.findings) < limit:
            self.findings.append(finding)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "header": self.header,
            "counts": dict(self.counts),
            "findings_by_class": dict(sorted(self.by_class.items())),
            "findings_total": self.total_findings,
            "findings": [f.as_dict() for f in self.findings],
            "findings_listed": len(self.findings),
            "notes": list(self.notes),
            "notices": [f.as_dict() for f in self.notices],
        }
