"""Signed, chained event records: the unit that nodes store, sync and auditors verify.

Byte layout of one record (see ``docs/records.md``)::

    record  = PREFIX || body || signature
    PREFIX  = b"vn-dossier/event/v2\\n"        (domain separation and format version;
                                              version 1 records, written before personal
                                              data was committed, still parse)
    body    = canonical JSON object (common.canonical)
    signature = Ed25519(PREFIX || body)       (64 bytes, by the key named in body.key)
    record id = SHA-256(record), lowercase hex

The body's fields:

========= ======================================================================
node      id of the node that wrote the record (key id of its first key)
key       id of the key that signed it
seq       1, 2, 3 … per node, no gaps
prev      record id of the node's previous record; ``null`` for seq 1
at        node wall-clock time, ISO 8601 with offset (informational, never trusted)
anchor    latest hub checkpoint the node had verified: {"size", "root"} or null
dossier   dossier code the event belongs to, or null
type      event type, e.g. ``dossier.received``
actor     who did it: an officer's user name, or ``system``
data      event payload (an object)
========= ======================================================================

Records are stored and sent as these exact bytes. Verification slices the bytes; it never
re-serialises anything.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common import canonical, chain_break, keys
from common.errors import ChainError, EncodingError

PREFIX_V1 = b"vn-dossier/event/v1\n"  # personal data in clear (written before version 2)
PREFIX_V2 = b"vn-dossier/event/v2\n"  # personal data committed under ``data.pd``
PREFIX = PREFIX_V2  # what :func:`make` writes
PREFIXES = (PREFIX_V2, PREFIX_V1)
COMMITMENTS = "pd"
SIGNATURE_SIZE = 64
MAX_RECORD_SIZE = 64 * 1024
BODY_FIELDS = ("actor", "anchor", "at", "data", "dossier", "key", "node", "prev", "seq", "type")

_HEX32 = re.compile(r"[0-9a-f]{32}\Z")
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_TYPE = re.compile(r"[a-z][a-z_]*(\.[a-z][a-z_]*)+\Z")
_ACTOR = re.compile(r"[A-Za-z0-9_.@-]{1,64}\Z")


def record_id(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class Anchor:
    """A hub checkpoint a node had seen: the log's size and root hash at that point."""

    size: int
    root: str

    def as_dict(self) -> dict[str, Any]:
        return {"root": self.root, "size": self.size}


@dataclass(frozen=True)
class Record:
    """One parsed record. ``raw`` is the exact bytes; every other field is read from them."""

    raw: bytes
    id: str
    node: str
    key: str
    seq: int
    prev: str | None
    at: str
    anchor: Anchor | None
    dossier: str | None
    type: str
    actor: str
    data: dict[str, Any]

    @property
    def version(self) -> int:
        """The format version its prefix names: 1 (personal data in clear) or 2."""
        return 2 if self.raw.startswith(PREFIX_V2) else 1

    @property
    def message(self) -> bytes:
        """The signed bytes: prefix and body."""
        return self.raw[:-SIGNATURE_SIZE]

    @property
    def body_bytes(self) -> bytes:
        return self.raw[len(PREFIX) : -SIGNATURE_SIZE]

    @property
    def signature(self) -> bytes:
        return self.raw[-SIGNATURE_SIZE:]

    @property
    def at_time(self) -> datetime:
        return datetime.fromisoformat(self.at)

    def verify(self, public: keys.PublicKey) -> None:
        """Raise ``SignatureError`` unless the key signed exactly these bytes."""
        keys.verify(public, self.signature, self.message)


def _check_body(body: Any) -> None:
    """Schema of the body; raises EncodingError naming the field."""
    if not isinstance(body, dict):
        raise EncodingError("record body is not a JSON object")
    missing = [f for f in BODY_FIELDS if f not in body]
    extra = sorted(set(body) - set(BODY_FIELDS))
    if missing or extra:
        raise EncodingError(f"record body fields wrong: missing {missing}, unknown {extra}")

    def bad(name: str, what: str) -> EncodingError:
        return EncodingError(f"record field {name!r}: {what}", field=name)

    if not isinstance(body["node"], str) or not _HEX32.match(body["node"]):
        raise bad("node", "must be 32 lowercase hex digits")
    if not isinstance(body["key"], str) or not _HEX32.match(body["key"]):
        raise bad("key", "must be 32 lowercase hex digits")
    seq = body["seq"]
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise bad("seq", "must be a whole number from 1")
    prev = body["prev"]
    if seq == 1 and prev is not None:
        raise bad("prev", "must be null for seq 1")
    if seq > 1 and (not isinstance(prev, str) or not _HEX64.match(prev)):
        raise bad("prev", "must be the 64-hex-digit id of the previous record")
    at = body["at"]
    try:
        parsed = datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or len(at) > 40:
        raise bad("at", "must be an ISO 8601 date-time with a UTC offset")
    anchor = body["anchor"]
    if anchor is not None:
        if not isinstance(anchor, dict) or set(anchor) != {"root", "size"}:
            raise bad("anchor", "must be null or an object with 'size' and 'root'")
        size = anchor["size"]
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise bad("anchor", "size must be a whole number from 0")
        if not isinstance(anchor["root"], str) or not _HEX64.match(anchor["root"]):
            raise bad("anchor", "root must be 64 lowercase hex digits")
    dossier = body["dossier"]
    if dossier is not None and (not isinstance(dossier, str) or not 1 <= len(dossier) <= 64):
        raise bad("dossier", "must be null or a dossier code")
    if not isinstance(body["type"], str) or not _TYPE.match(body["type"]):
        raise bad("type", "must look like 'dossier.received'")
    if not isinstance(body["actor"], str) or not _ACTOR.match(body["actor"]):
        raise bad("actor", "must be a user name of letters, digits and _.@-")
    if not isinstance(body["data"], dict):
        raise bad("data", "must be an object")


def parse(raw: bytes) -> Record:
    """Parse and check the form of a record. Does not check the signature or the chain."""
    if not isinstance(raw, bytes | bytearray):
        raise EncodingError("a record is bytes")
    raw = bytes(raw)
    if len(raw) > MAX_RECORD_SIZE:
        raise EncodingError(f"record is {len(raw)} bytes; the limit is {MAX_RECORD_SIZE}")
    if not raw.startswith(PREFIXES):
        raise EncodingError("record does not start with the protocol prefix (wrong version?)")
    if len(raw) < len(PREFIX) + 2 + SIGNATURE_SIZE:
        raise EncodingError("record is too short")
    body = canonical.decode(raw[len(PREFIX) : -SIGNATURE_SIZE])
    _check_body(body)
    if COMMITMENTS in body["data"] and raw.startswith(PREFIX_V1):
        raise EncodingError("a version 1 record carries no commitments", field="data")
    anchor = body["anchor"]
    return Record(
        raw=raw,
        id=record_id(raw),
        node=body["node"],
        key=body["key"],
        seq=body["seq"],
        prev=body["prev"],
        at=body["at"],
        anchor=Anchor(anchor["size"], anchor["root"]) if anchor else None,
        dossier=body["dossier"],
        type=body["type"],
        actor=body["actor"],
        data=body["data"],
    )


def make(
    *,
    private_key: keys.PrivateKey,
    node: str,
    seq: int,
    prev: str | None,
    at: datetime,
    anchor: Anchor | None,
    dossier: str | None,
    type: str,
    actor: str,
    data: dict[str, Any],
    version: int = 2,
) -> Record:
    """Build, sign and re-parse a record, so a record that is made is one that parses.
    (``version=1`` writes the format before personal data was committed: for tests.)"""
    if at.tzinfo is None:
        raise EncodingError("record time must carry a UTC offset")
    body = {
        "actor": actor,
        "anchor": anchor.as_dict() if anchor else None,
        "at": at.isoformat(timespec="seconds"),
        "data": data,
        "dossier": dossier,
        "key": keys.key_id(private_key),
        "node": node,
        "prev": prev,
        "seq": seq,
        "type": type,
    }
    _check_body(body)
    message = (PREFIX if version == 2 else PREFIX_V1) + canonical.encode(body)
    raw = message + keys.sign(private_key, message)
    if len(raw) > MAX_RECORD_SIZE:
        raise EncodingError(f"record would be {len(raw)} bytes; the limit is {MAX_RECORD_SIZE}")
    return parse(raw)


def check_follows(previous: Record | None, record: Record) -> None:
    """Raise ChainError unless ``record`` directly continues ``previous`` on the same node.

    ``previous`` is None when ``record`` should be the node's first record.
    """
    if previous is None:
        if record.seq != 1 or record.prev is not None:
            raise ChainError(
                f"expected the first record (seq 1), got seq {record.seq}",
                vi=f"Cần bản ghi đầu tiên (số thứ tự 1), nhận được số {record.seq}",
                expected_seq=1,
            )
        return
    if record.node != previous.node:
        raise ChainError(f"record of node {record.node} after a record of node {previous.node}")
    want_seq, want_prev = previous.seq + 1, previous.id
    if previous.type == chain_break.TYPE:  # a declared break: the chain goes on after it
        written_on = (record.seq, record.prev) == (previous.seq + 1, previous.id)
        if not (written_on and not previous.data.get("next_prev")):  # (docs/records.md)
            want_seq, want_prev = chain_break.successor(previous.data, previous.id)
    if record.seq != want_seq:
        raise ChainError(
            f"expected seq {want_seq}, got {record.seq}",
            vi=f"Cần bản ghi số {want_seq}, nhận được số {record.seq}",
            expected_seq=want_seq,
        )
    if record.prev != want_prev:
        raise ChainError(
            f"seq {record.seq} does not name the hash of seq {previous.seq} as prev",
            vi=f"Bản ghi số {record.seq} không trỏ đúng tới bản ghi số {previous.seq}",
        )
