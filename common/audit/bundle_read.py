"""Reading audit bundle lines back, strictly (format: ``common.audit.bundle_format``).

A line longer than the limit, nested deeper than :data:`~common.audit.bundle_format.MAX_DEPTH`,
not UTF-8 JSON, with a duplicate key, a float, a field missing, an unknown field or a value
of the wrong type or size is refused with a :class:`~common.audit.bundle_format.LineError` whose
``reason`` is stable. Base64 must be canonical standard base64; sizes of blobs are bounded
before decoding. No I/O here.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from common.audit.bundle_format import (
    HEX32,
    HEX64,
    KINDS,
    MAX_B64_PROOF,
    MAX_B64_RECORD,
    MAX_B64_STATEMENT,
    MAX_DEPTH,
    BreakLine,
    CheckpointLine,
    CosignatureLine,
    DisclosureLine,
    EndLine,
    Header,
    KeyLine,
    Line,
    NodeLine,
    RecordLine,
    line_error,
)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise line_error("duplicate_key", "a key appears twice in one object")
    return obj


def _refuse(text: str) -> Any:
    raise line_error("not_integer", f"number {text[:20]} is not a whole number")


_a2b = binascii.a2b_base64
_DECODER = json.JSONDecoder(
    object_pairs_hook=_pairs, parse_float=_refuse, parse_constant=_refuse, strict=True
)


def _depth(data: bytes) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _fields(obj: Any, names: frozenset[str], what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise line_error("not_object", f"{what} is not a JSON object")
    if obj.keys() != names:
        missing = sorted(names - obj.keys())
        extra = sorted(obj.keys() - names)[:5]
        raise line_error("wrong_fields", f"{what}: missing {missing}, unknown {extra}")
    return obj


def _int(value: Any, name: str, lo: int = 0, hi: int = 2**63 - 1) -> int:
    if type(value) is not int or not lo <= value <= hi:
        raise line_error("bad_value", f"{name} must be a whole number from {lo}")
    return value


def _opt_int(value: Any, name: str) -> int | None:
    return None if value is None else _int(value, name)


def _text(value: Any, name: str, limit: int = 300) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise line_error("bad_value", f"{name} must be text of at most {limit} characters")
    return value


def _opt_text(value: Any, name: str, limit: int = 64) -> str | None:
    return None if value is None else _text(value, name, limit)


def _hex(value: Any, name: str, pattern: re.Pattern[str]) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise line_error("bad_value", f"{name} must be lowercase hex of the right length")
    return value


def _blob(value: Any, name: str, limit: int) -> bytes:
    if not isinstance(value, str) or len(value) > limit:
        raise line_error("bad_value", f"{name} must be base64 of at most {limit} characters")
    try:
        return binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise line_error("bad_base64", f"{name} is not valid base64") from exc


def _opt_blob(value: Any, name: str, limit: int) -> bytes | None:
    return None if value is None else _blob(value, name, limit)


_F_HEADER = frozenset({"kind", "format", "origin", "hub", "period", "created_at", "generator"})
_F_HUB = frozenset({"id", "key", "name", "level"})
_F_PERIOD = frozenset({"since", "until", "start", "end"})
_F_NODE = frozenset({"kind", "node", "agency_code", "name", "chain", "head_seq"})
_F_KEY = frozenset(
    {"kind", "node", "key", "public", "first_seq", "last_valid_seq", "revoked_at", "reason"}
    | {"rotation", "revocation"}
)
_F_CHECKPOINT = frozenset({"kind", "signed", "consistency"})
_F_PROOF_C = frozenset({"from", "hashes"})
_F_COSIG = frozenset({"kind", "node", "key", "signed"})
_F_BREAK = frozenset({"kind", "signed"})
_F_RECORD = frozenset({"kind", "leaf", "raw", "proof"})
_F_PROOF = frozenset({"size", "hashes"})
_F_END = frozenset({"kind", "counts"})
_F_DISCLOSURE = frozenset({"kind", "record", "salt", "path", "value"})


def _header(o: dict[str, Any]) -> Header:
    _fields(o, _F_HEADER, "header")
    hub = _fields(o["hub"], _F_HUB, "header.hub")
    period = _fields(o["period"], _F_PERIOD, "header.period")
    start, end = _int(period["start"], "period.start"), _int(period["end"], "period.end")
    if start > end:
        raise line_error("bad_value", "period.start is after period.end")
    return Header(
        format=_text(o["format"], "format", 64),
        origin=_text(o["origin"], "origin", 200),
        hub_id=_hex(hub["id"], "hub.id", HEX32),
        hub_key=_hex(hub["key"], "hub.key", HEX64),
        hub_name=_text(hub["name"], "hub.name"),
        hub_level=_text(hub["level"], "hub.level", 64),
        since=_opt_text(period["since"], "period.since"),
        until=_opt_text(period["until"], "period.until"),
        start=start,
        end=end,
        created_at=_text(o["created_at"], "created_at", 64),
        generator=_text(o["generator"], "generator", 200),
    )


def _node(o: dict[str, Any]) -> NodeLine:
    _fields(o, _F_NODE, "node line")
    chain = o["chain"]
    if chain not in ("complete", "partial"):
        raise line_error("bad_value", "chain must be 'complete' or 'partial'")
    return NodeLine(
        node=_hex(o["node"], "node", HEX32),
        agency_code=_opt_text(o["agency_code"], "agency_code"),
        name=_text(o["name"], "name"),
        chain=chain,
        head_seq=_int(o["head_seq"], "head_seq"),
    )


def _key(o: dict[str, Any]) -> KeyLine:
    _fields(o, _F_KEY, "key line")
    return KeyLine(
        node=_hex(o["node"], "node", HEX32),
        key=_hex(o["key"], "key", HEX32),
        public=bytes.fromhex(_hex(o["public"], "public", HEX64)),
        first_seq=_int(o["first_seq"], "first_seq", 1),
        last_valid_seq=_opt_int(o["last_valid_seq"], "last_valid_seq"),
        revoked_at=_opt_text(o["revoked_at"], "revoked_at"),
        reason=_text(o["reason"], "reason"),
        rotation=_opt_blob(o["rotation"], "rotation", MAX_B64_RECORD),
        revocation=_opt_blob(o["revocation"], "revocation", MAX_B64_RECORD),
    )


def _checkpoint(o: dict[str, Any]) -> CheckpointLine:
    _fields(o, _F_CHECKPOINT, "checkpoint line")
    signed = _blob(o["signed"], "signed", MAX_B64_STATEMENT)
    c = o["consistency"]
    if c is None:
        return CheckpointLine(signed, None, None)
    _fields(c, _F_PROOF_C, "consistency")
    return CheckpointLine(
        signed, _int(c["from"], "consistency.from"), _blob(c["hashes"], "hashes", MAX_B64_PROOF)
    )


def _break(o: dict[str, Any]) -> BreakLine:
    _fields(o, _F_BREAK, "break line")
    return BreakLine(_blob(o["signed"], "signed", MAX_B64_STATEMENT))


def _cosignature(o: dict[str, Any]) -> CosignatureLine:
    _fields(o, _F_COSIG, "cosignature line")
    key = None if o["key"] is None else _hex(o["key"], "key", HEX32)
    return CosignatureLine(
        _hex(o["node"], "node", HEX32), key, _blob(o["signed"], "signed", MAX_B64_STATEMENT)
    )


def _record(o: dict[str, Any]) -> RecordLine:
    if o.keys() != _F_RECORD:
        _fields(o, _F_RECORD, "record line")
    leaf = _int(o["leaf"], "leaf")
    raw = _blob(o["raw"], "raw", MAX_B64_RECORD)
    p = o["proof"]
    if p is None:
        return RecordLine(leaf, raw, None, None)
    if not isinstance(p, dict) or p.keys() != _F_PROOF:
        _fields(p, _F_PROOF, "proof")
    return RecordLine(
        leaf, raw, _int(p["size"], "proof.size"), _blob(p["hashes"], "hashes", MAX_B64_PROOF)
    )


def _disclosure(o: dict[str, Any]) -> DisclosureLine:
    _fields(o, _F_DISCLOSURE, "disclosure line")
    return DisclosureLine(
        _hex(o["record"], "record", HEX64),
        _text(o["salt"], "salt", 32),
        _text(o["path"], "path", 64),
        o["value"],
    )


def _end(o: dict[str, Any]) -> EndLine:
    _fields(o, _F_END, "end line")
    counts = o["counts"]
    if not isinstance(counts, dict) or len(counts) > len(KINDS):
        raise line_error("bad_value", "counts must be an object of line counts")
    return EndLine({_text(k, "kind", 20): _int(v, f"counts.{k}") for k, v in counts.items()})


_READERS: dict[str, Callable[[dict[str, Any]], Line]] = {
    "header": _header,
    "node": _node,
    "key": _key,
    "checkpoint": _checkpoint,
    "cosignature": _cosignature,
    "break": _break,
    "record": _record,
    "disclosure": _disclosure,
    "end": _end,
}


# A record line exactly as the exporter writes it: the fixed text around four values,
#   {"kind":"record","leaf":L,"proof":{"hashes":"H","size":S},"raw":"R"}
# When L and S are plain decimals and H and R strict base64 (so no quote or backslash can
# hide in them), the JSON decoder would give these very values: such a line is read by
# slicing, with the same limits. Anything else (and any doubt) takes the general path,
# which gives the answer and the error.
_REC_HEAD = b'{"kind":"record","leaf":'
_REC_HASHES = b',"proof":{"hashes":"'
_REC_SIZE = b'","size":'
_REC_RAW = b'},"raw":"'
_MAX_INT = 2**63 - 1


def _plain_int(text: bytes) -> int | None:
    if not text.isdigit() or len(text) > 19 or (text[0] == 0x30 and len(text) > 1):
        return None
    value = int(text)
    return value if value <= _MAX_INT else None


def _exported_record(data: bytes) -> RecordLine | None:
    """The record line ``data`` (without its newline) in the exporter's spelling, else None."""
    a = data.find(_REC_HASHES, len(_REC_HEAD))
    b = data.find(_REC_SIZE, a + len(_REC_HASHES))
    c = data.find(_REC_RAW, b + len(_REC_SIZE))
    if a < 0 or b < 0 or c < 0 or c + len(_REC_RAW) > len(data) - 2 or data[-2:] != b'"}':
        return None
    leaf = _plain_int(data[len(_REC_HEAD) : a])
    size = _plain_int(data[b + len(_REC_SIZE) : c])
    hashes, raw = data[a + len(_REC_HASHES) : b], data[c + len(_REC_RAW) : -2]
    if leaf is None or size is None or len(hashes) > MAX_B64_PROOF or len(raw) > MAX_B64_RECORD:
        return None
    try:
        return RecordLine(leaf, _a2b(raw, strict_mode=True), size, _a2b(hashes, strict_mode=True))
    except binascii.Error:
        return None


def decode_line(data: bytes, *, max_bytes: int) -> Line:
    """Read one line (with or without its ``\\n``); raise :class:`LineError` if it is bad.

    Reasons: ``overlong``, ``too_deep``, ``not_utf8``, ``not_json``, ``duplicate_key``,
    ``not_integer``, ``not_object``, ``unknown_kind``, ``wrong_fields``, ``bad_value``,
    ``bad_base64``.
    """
    if len(data) > max_bytes:
        raise line_error("overlong", f"line is longer than {max_bytes} bytes")
    if data.endswith(b"\n"):
        data = data[:-1]
    if data.startswith(_REC_HEAD):
        line = _exported_record(data)
        if line is not None:
            return line
    return _read_json_line(data)


def _read_json_line(data: bytes) -> Line:
    """:func:`decode_line` of a line without its newline, by the JSON decoder."""
    if data.count(b"{") + data.count(b"[") > MAX_DEPTH and _depth(data) > MAX_DEPTH:
        raise line_error("too_deep", f"line is nested deeper than {MAX_DEPTH} levels")
    try:
        obj = _DECODER.decode(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise line_error("not_utf8", "line is not UTF-8") from exc
    except (ValueError, RecursionError) as exc:
        raise line_error("not_json", "line is not a JSON object") from exc
    if not isinstance(obj, dict):
        raise line_error("not_object", "line is not a JSON object")
    kind = obj.get("kind")
    reader = _READERS.get(kind) if isinstance(kind, str) else None
    if reader is None:
        shown = kind[:20] if isinstance(kind, str) else type(kind).__name__
        raise line_error("unknown_kind", f"unknown line kind {shown!r}")
    return reader(obj)


def line_kind(line: Line) -> str:
    """The ``kind`` a decoded line was read from."""
    return _KIND_OF[type(line)]


_KIND_OF: dict[type, str] = {
    Header: "header",
    NodeLine: "node",
    KeyLine: "key",
    CheckpointLine: "checkpoint",
    CosignatureLine: "cosignature",
    BreakLine: "break",
    RecordLine: "record",
    DisclosureLine: "disclosure",
    EndLine: "end",
}


# ------------------------------------------------------------------ trusted checkpoints

MAX_CHECKPOINT_FILE = 64 * 1024


@dataclass(frozen=True)
class CheckpointFile:
    """What the auditor's checkpoint file holds: the hub's signed checkpoint and, when the
    file comes from a commune node, that node's cosignature of it and the hub's signed
    enrolment of the node."""

    signed: bytes
    cosignature: tuple[str, bytes] | None = None
    enrolment: bytes | None = None


CHECKPOINT_FILE_FORMAT = "vn-dossier-checkpoint/v1"


def read_checkpoint(data: bytes) -> CheckpointFile:
    """The auditor's checkpoint file (``docs/audit.md``, "The checkpoint file").

    One format: a UTF-8 JSON object of at most 64 KiB with ``checkpoint``: an object whose
    ``signed`` is the base64 of the hub's signed checkpoint statement, and optionally
    ``cosignature``: an object with ``node`` (32 lowercase hex) and ``signed`` (base64 of
    that node's cosignature of the checkpoint), and optionally ``enrolment``: base64 of the
    hub's signed enrolment of that node. Other members are ignored, so the hub's
    ``GET /sync/v1/hello`` answer saved as it came is such a file, and so is what
    ``commune-node checkpoint export`` writes. Raises :class:`LineError`.
    """
    if len(data) > MAX_CHECKPOINT_FILE:
        raise line_error("overlong", f"checkpoint file is larger than {MAX_CHECKPOINT_FILE} bytes")
    try:
        obj = _DECODER.decode(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise line_error("not_json", "not a JSON checkpoint file") from exc
    cp = obj.get("checkpoint") if isinstance(obj, dict) else None
    if not isinstance(cp, dict) or "signed" not in cp:
        raise line_error("wrong_fields", "the file has no checkpoint.signed")
    signed = _blob(cp["signed"], "checkpoint.signed", MAX_B64_STATEMENT)
    enrolment = obj.get("enrolment")
    if enrolment is not None:
        enrolment = _blob(enrolment, "enrolment", MAX_B64_STATEMENT)
    cosig = obj.get("cosignature")
    if cosig is None:
        return CheckpointFile(signed, None, enrolment)
    if not isinstance(cosig, dict) or not {"node", "signed"} <= cosig.keys():
        raise line_error("wrong_fields", "cosignature must have node and signed")
    node = _hex(cosig["node"], "cosignature.node", HEX32)
    pair = (node, _blob(cosig["signed"], "cosignature.signed", MAX_B64_STATEMENT))
    return CheckpointFile(signed, pair, enrolment)
