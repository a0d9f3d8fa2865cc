"""Cosignatures: a commune node's signed statement that it verified one of the hub's
checkpoints — and, since version 2, how far its own chain reaches in that checkpoint.

Layout (like every statement): ``prefix || canonical JSON body || Ed25519 signature`` by one
of the node's keys.

* Version 1 (``vn-dossier/cosignature/v1\\n``): body ``{key, node, origin, root, size,
  time}`` — the checkpoint's fields, who signed and with which key.
* Version 2 (``vn-dossier/cosignature/v2\\n``): the same and ``head``: ``{"id": <64 lowercase
  hex>, "seq": <integer ≥ 1>}``, the last record of the node's own chain that the node has
  verified to be in the log at or below this checkpoint's size (``null`` when it has
  verified none). A hub that later shows the node's chain ending before ``head.seq``, or
  another record at that seq, is caught by the auditor even in a one-commune bundle.

Nodes write version 2; version 1 cosignatures still verify (they only prove less). No I/O.
"""

from __future__ import annotations

import re
from typing import Any

from common.errors import EncodingError

COSIGNATURE_PREFIX_V1 = b"vn-dossier/cosignature/v1\n"
COSIGNATURE_PREFIX_V2 = b"vn-dossier/cosignature/v2\n"
COSIGNATURE_PREFIX = COSIGNATURE_PREFIX_V2  # what nodes sign now
FIELDS_V1 = frozenset({"key", "node", "origin", "root", "size", "time"})
FIELDS = {COSIGNATURE_PREFIX_V1: FIELDS_V1, COSIGNATURE_PREFIX_V2: FIELDS_V1 | {"head"}}
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")

Head = tuple[int, str]  # seq, record id


def cosignature_body(
    checkpoint: dict[str, Any], *, node: str, key: str, head: Head | None = None
) -> dict[str, Any]:
    """What a node signs (version 2) to witness a checkpoint it verified: its fields, who,
    which key, and its own chain's head in it (``(seq, record id)``, or None)."""
    return {
        "head": None if head is None else {"id": head[1], "seq": head[0]},
        "key": key,
        "node": node,
        "origin": checkpoint["origin"],
        "root": checkpoint["root"],
        "size": checkpoint["size"],
        "time": checkpoint["time"],
    }


def prefix_of(raw: bytes) -> bytes:
    """The version prefix a cosignature starts with; EncodingError for any other bytes."""
    for prefix in FIELDS:
        if raw.startswith(prefix):
            return prefix
    raise EncodingError("not a cosignature statement (v1 or v2)")


def check_fields(prefix: bytes, body: dict[str, Any]) -> Head | None:
    """The body has exactly its version's fields; returns its head (v1: None)."""
    if body.keys() != FIELDS[prefix]:
        raise EncodingError("the cosignature's fields are not those of its version")
    head = body.get("head")
    if head is None:
        return None
    if not isinstance(head, dict) or head.keys() != {"id", "seq"}:
        raise EncodingError("the cosignature's head is not {id, seq}")
    seq, rid = head["seq"], head["id"]
    if type(seq) is not int or seq < 1 or not isinstance(rid, str) or not _HEX64.match(rid):
        raise EncodingError("the cosignature's head has the wrong form")
    return seq, rid
