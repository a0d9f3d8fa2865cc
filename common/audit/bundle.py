"""The audit export bundle and its offline verifier: the public entry points.

* Format and writers: :mod:`common.audit.bundle_format` (JSON Lines; ``docs/audit.md``).
* Verifier: :func:`verify_bundle` (:mod:`common.audit.verifier`), with its :class:`Policy`; it
  returns a :class:`Report` of :class:`Finding` objects whose ``cls`` is one of :data:`CLASSES`.

Like all of ``common``, this does no I/O: the caller hands in the lines (any iterable of
``bytes``) and the separately obtained checkpoint and hub key as bytes.
"""

from __future__ import annotations

from common.audit.bundle_format import (
    FORMAT,
    LineError,
    checkpoint_line,
    cosignature_line,
    end_line,
    header_line,
    key_line,
    node_line,
    record_line,
)
from common.audit.bundle_read import decode_line, read_checkpoint
from common.audit.report import CLASSES, Finding, Policy, Report
from common.audit.verifier import BundleError, Verifier, inclusion_root, verify_bundle

__all__ = [
    "CLASSES",
    "FORMAT",
    "BundleError",
    "Finding",
    "LineError",
    "Policy",
    "Report",
    "Verifier",
    "checkpoint_line",
    "cosignature_line",
    "decode_line",
    "end_line",
    "header_line",
    "inclusion_root",
    "key_line",
    "node_line",
    "read_checkpoint",
    "record_line",
    "verify_bundle",
]
