"""The audit export bundle: one file of JSON Lines, written by the hub, read by the auditor.

Each line is one JSON object (UTF-8, no line breaks inside, ending in ``\\n``) whose
``kind`` says what it is. Bytes are standard base64 (with padding); hashes and keys inside
base64 blobs are raw bytes. The lines come in this order (see ``docs/audit.md``)::

    header                      exactly one, first
    node*                       the chains the bundle covers
    key*                        every key of those chains, with its signed evidence inline
    disclosure*                 only in an authorised export: one dossier's personal data
    ( checkpoint cosignature* record* )*     the log, in log order
    end                         exactly one, last, with the counts of each kind

* ``header``: ``format`` (``vn-dossier-audit/v1``), ``origin`` (the log's name), ``hub``
  {``id``, ``key`` (hex), ``name``, ``level``}, ``period`` {``since``, ``until`` (ISO
  times or null), ``start``, ``end`` (the period as log sizes: leaves ``start .. end-1``)},
  ``created_at``, ``generator``.
* ``node``: ``node``, ``agency_code``, ``name``, ``chain`` (``complete``: every record of
  the chain stored in the period is in the bundle, with the records just before and after;
  ``partial``: only some records, e.g. the hub's own records that concern the communes),
  ``head_seq`` (the chain's last sequence number in the log when exported).
* ``key``: ``node``, ``key``, ``public`` (hex), ``first_seq``, ``last_valid_seq``,
  ``revoked_at``, ``reason``, ``rotation`` (the ``key.rotated`` record that introduced the
  key, base64, or null for a node's first key) and ``revocation`` (the hub's ``key.revoked``
  record, base64, or null).
* ``disclosure``: ``record`` (the id of the record that commits to it), ``salt``, ``path``,
  ``value``: the disclosure ``[salt, path, value]`` of docs/records.md ("Personal data").
  A bundle carries none unless the hub was asked, with a logged reason, to disclose a
  dossier (``central-hub audit-export --disclose``); the verifier checks each against the
  commitment its record signs.
* ``checkpoint``: ``signed`` (the hub's signed checkpoint statement) and ``consistency``
  {``from``: the previous checkpoint's size, ``hashes``: the RFC 9162 consistency proof},
  null for the first checkpoint. Checkpoints come in increasing size; the records that
  follow a checkpoint are the ones it is the first (exported) checkpoint to include.
* ``cosignature``: ``node``, ``key`` (a hint: which of the node's keys signed), ``signed``
  (the node's signed cosignature statement), after the checkpoint it cosigns.
* ``record``: ``leaf`` (its index in the log), ``raw`` (the exact record bytes), ``proof``
  {``size``, ``hashes``}: the RFC 9162 inclusion proof of ``leaf_hash(raw)`` at ``leaf`` in
  the tree of the checkpoint of that size, or null.
* ``end``: ``counts`` of lines of each kind before it.

This module holds the line types and the writers; ``common.audit.bundle_read`` reads lines
back, strictly. No I/O here.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from common.errors import DossierError
from common.record import MAX_RECORD_SIZE

FORMAT = "vn-dossier-audit/v1"
KINDS = (
    "header",
    "node",
    "key",
    "disclosure",
    "break",
    "checkpoint",
    "cosignature",
    "record",
    "end",
)
MAX_DEPTH = 4
MAX_STATEMENT = 4096
MAX_PROOF_HASHES = 128
MAX_B64_RECORD = (MAX_RECORD_SIZE + 2) // 3 * 4
MAX_B64_STATEMENT = (MAX_STATEMENT + 2) // 3 * 4
MAX_B64_PROOF = (MAX_PROOF_HASHES * 32 + 2) // 3 * 4
HEX32 = re.compile(r"[0-9a-f]{32}\Z")
HEX64 = re.compile(r"[0-9a-f]{64}\Z")


class LineError(DossierError):
    """A bundle line that cannot be read; ``detail["reason"]`` is a stable id."""

    code = "bad_bundle_line"
    vi = "Dòng của gói kiểm toán không đọc được."
    en = "A line of the audit bundle cannot be read."


def line_error(reason: str, en: str) -> LineError:
    return LineError(en, reason=reason)


# ------------------------------------------------------------------ line types


@dataclass(frozen=True)
class Header:
    format: str
    origin: str
    hub_id: str
    hub_key: str
    hub_name: str
    hub_level: str
    since: str | None
    until: str | None
    start: int
    end: int
    created_at: str
    generator: str


@dataclass(frozen=True)
class NodeLine:
    node: str
    agency_code: str | None
    name: str
    chain: str
    head_seq: int


@dataclass(frozen=True)
class KeyLine:
    node: str
    key: str
    public: bytes
    first_seq: int
    last_valid_seq: int | None
    revoked_at: str | None
    reason: str
    rotation: bytes | None
    revocation: bytes | None


@dataclass(frozen=True)
class CheckpointLine:
    signed: bytes
    consistency_from: int | None
    consistency: bytes | None


@dataclass(frozen=True)
class BreakLine:
    signed: bytes  # the hub's signed log break (common.protocol.log_break_body)


@dataclass(frozen=True)
class CosignatureLine:
    node: str
    key: str | None
    signed: bytes


class RecordLine(NamedTuple):  # a tuple: the one line kind read millions of times
    leaf: int
    raw: bytes
    proof_size: int | None
    proof: bytes | None  # concatenated 32-byte hashes (length checked by the verifier)


@dataclass(frozen=True)
class EndLine:
    counts: dict[str, int]


@dataclass(frozen=True)
class DisclosureLine:
    record: str  # 64 hex: the record whose data.pd commits to it
    salt: str
    path: str
    value: Any


Line = (
    Header
    | NodeLine
    | KeyLine
    | DisclosureLine
    | BreakLine
    | CheckpointLine
    | CosignatureLine
    | RecordLine
    | EndLine
)


# ------------------------------------------------------------------ writing


def _dump(obj: Mapping[str, Any]) -> bytes:
    text = json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.encode("utf-8") + b"\n"


def _b64(raw: bytes | None) -> str | None:
    return None if raw is None else base64.b64encode(raw).decode("ascii")


def header_line(
    *,
    origin: str,
    hub_id: str,
    hub_key: bytes,
    hub_name: str,
    hub_level: str,
    since: datetime | None,
    until: datetime | None,
    start: int,
    end: int,
    created_at: datetime,
    generator: str = "central-hub audit-export",
) -> bytes:
    def iso(t: datetime | None) -> str | None:
        return None if t is None else t.isoformat(timespec="seconds")

    return _dump(
        {
            "kind": "header",
            "format": FORMAT,
            "origin": origin,
            "hub": {"id": hub_id, "key": hub_key.hex(), "name": hub_name, "level": hub_level},
            "period": {"since": iso(since), "until": iso(until), "start": start, "end": end},
            "created_at": iso(created_at),
            "generator": generator,
        }
    )


def node_line(*, node: str, agency_code: str | None, name: str, chain: str, head_seq: int) -> bytes:
    return _dump(
        {
            "kind": "node",
            "node": node,
            "agency_code": agency_code,
            "name": name,
            "chain": chain,
            "head_seq": head_seq,
        }
    )


def key_line(
    *,
    node: str,
    key: str,
    public: bytes,
    first_seq: int,
    last_valid_seq: int | None,
    revoked_at: datetime | None = None,
    reason: str = "",
    rotation: bytes | None = None,
    revocation: bytes | None = None,
) -> bytes:
    return _dump(
        {
            "kind": "key",
            "node": node,
            "key": key,
            "public": public.hex(),
            "first_seq": first_seq,
            "last_valid_seq": last_valid_seq,
            "revoked_at": None if revoked_at is None else revoked_at.isoformat(),
            "reason": reason,
            "rotation": _b64(rotation),
            "revocation": _b64(revocation),
        }
    )


def checkpoint_line(
    signed: bytes, *, previous_size: int | None = None, proof: Sequence[bytes] = ()
) -> bytes:
    consistency = (
        None if previous_size is None else {"from": previous_size, "hashes": _b64(b"".join(proof))}
    )
    return _dump({"kind": "checkpoint", "signed": _b64(signed), "consistency": consistency})


def break_line(signed: bytes) -> bytes:
    return _dump({"kind": "break", "signed": _b64(signed)})


def cosignature_line(*, node: str, signed: bytes, key: str | None = None) -> bytes:
    return _dump({"kind": "cosignature", "node": node, "key": key, "signed": _b64(signed)})


def record_line(leaf: int, raw: bytes, *, size: int | None, proof: Sequence[bytes] = ()) -> bytes:
    p = None if size is None else {"size": size, "hashes": _b64(b"".join(proof))}
    return _dump({"kind": "record", "leaf": leaf, "raw": _b64(raw), "proof": p})


def disclosure_line(record: str, salt: str, path: str, value: Any) -> bytes:
    return _dump({"kind": "disclosure", "record": record, "salt": salt, "path": path,
                  "value": value})  # fmt: skip


def end_line(counts: Mapping[str, int]) -> bytes:
    return _dump({"kind": "end", "counts": dict(counts)})
