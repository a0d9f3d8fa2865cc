"""The state the offline verifier carries from line to line (see ``common.audit.verifier``).

Split out so that the checkpoint checks (``common.audit.checkpoints``) and the record checks
(``common.audit.records``) share one typed state. No I/O.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from common import keys, personal
from common.audit.bundle_format import Header
from common.audit.chain import Chain
from common.audit.key_history import KeyBook
from common.audit.report import MALFORMED, Finding, Policy, Report
from common.audit.signatures import Hints
from common.errors import DossierError


class BundleError(DossierError):
    """The input cannot be verified at all (not a bundle, unknown format, over the limits)."""

    code = "unusable_bundle"
    vi = "Không dùng được gói kiểm toán."
    en = "The audit bundle cannot be used."


@dataclass(frozen=True, slots=True)
class Window:
    """The latest checkpoint read: records after it have leaves in ``[lo, hi)``."""

    lo: int
    hi: int
    time: float


def timestamp(text: str | None) -> float | None:
    """Seconds since the epoch of an ISO 8601 time with an offset; None if it is not one."""
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    return t.timestamp() if t.tzinfo is not None else None


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


class State:
    """Everything the verifier knows so far."""

    h: Header
    hub_public: keys.PublicKey
    keybook: KeyBook
    since: float | None
    until: float | None

    def __init__(
        self,
        policy: Policy,
        *,
        trusted_checkpoint: bytes | None = None,
        hub_public_key: bytes | None = None,
        trusted_cosignature: tuple[str, bytes] | None = None,
        trusted_enrolment: bytes | None = None,
    ) -> None:
        self.policy = policy
        self.tol = policy.clock_tolerance.total_seconds()
        off = policy.max_offline
        self.max_offline = None if off is None else off.total_seconds()
        self.pinned = hub_public_key
        self.trusted_raw = trusted_checkpoint
        self.trusted_cosig_raw = trusted_cosignature
        self.trusted_enrolment = trusted_enrolment
        self.report = Report()
        self.n = 0  # the number of the line being read
        self.phase = 0  # 0: header next, 1: nodes and keys, 2: the log, 3: after the end line
        self.kinds: Counter[str] = Counter()  # lines read, by kind
        # disclosed personal data, by record id, until that record is read: (line, value)
        self.disclosed: dict[str, list[tuple[int, personal.Disclosure]]] = {}
        self.counts: Counter[str] = Counter()  # what verified, for the summary
        self.chains: dict[str, Chain] = {}
        self.checkpoints: dict[int, tuple[bytes, float]] = {}  # size -> root, time
        self.bad_sizes: set[int] = set()  # sizes of checkpoints whose signature failed
        self.last_cp: tuple[int, bytes, float] | None = None
        self.window: Window | None = None
        self.last_leaf = -1
        self.runs = 0
        self.hints: Hints = {}  # record signatures checked ahead (common.audit.signatures)
        self.cosigned: Counter[int] = Counter()  # checkpoint size -> valid cosignatures
        self.trusted: tuple[int, bytes] | None = None
        self.trusted_seen = False
        self.trusted_body: dict[str, Any] | None = None
        self.breaks: list[dict[str, Any]] = []  # the hub's declared log breaks, opened
        self.edge_times: dict[str, float] = {}
        self.ended = False
        self.agencies: dict[str, str] = {}  # agency code -> the first node line giving it
        self.leaf_next: int | None = None  # all-communes bundles: the next leaf expected
        self.leaf_gaps: list[tuple[int, int]] = []

    def take_hints(self, hints: Hints) -> None:
        """Signature answers for the record lines read next, in place of the last ones
        (used only where they match, see ``common.audit.signatures``)."""
        self.hints = hints

    def emit(self, finding: Finding) -> None:
        self.report.add(finding, self.policy.max_findings)

    def malformed(self, message: str, reason: str) -> None:
        self.emit(Finding(MALFORMED, message, line=self.n, detail={"reason": reason}))
