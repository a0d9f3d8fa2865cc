"""Record parsing for bulk verification: the same answer as :func:`common.record.parse`, faster.

An auditor parses every record of a bundle (millions), and the reference parser spends most
of its time re-encoding the body with the pure-Python RFC 8785 encoder. This module gives
the same result with the C JSON encoder, by these rules:

* The body must equal ``json.dumps(value, ensure_ascii=False, sort_keys=True,
  separators=(",", ":"))`` of its parsed value, and the value must pass the rules of
  :func:`common.canonical.check_value` (integers in the safe range, no floats, NFC strings,
  ASCII keys, bounded depth), checked here by :func:`_canonical` without error messages.
  For such values that encoder writes exactly the RFC 8785 bytes:
  keys are ASCII, so code-point order is UTF-16 order; integers are plain decimals; strings
  escape only ``"``, ``\\`` and control characters, in the same forms (``\\n``, ``\\u001f``).
* Duplicate keys, ``-0``, exponents, floats, ``NaN``, lone surrogates and extra whitespace all
  make the re-encoding differ (or fail), so they never pass the fast path.
* Deep nesting is bounded by the C decoder's recursion guard (``RecursionError``) and by
  ``check_value`` (more than ``MAX_DEPTH`` levels is refused).
* Any doubt (a mismatch, an exception) falls back to
  :func:`common.record.parse`, which gives the authoritative answer and error message. The
  fast path therefore only ever *accepts* what the reference accepts; it never reports its
  own errors.
"""

from __future__ import annotations

import _json
import hashlib
import json
import re
import unicodedata
from datetime import datetime
from typing import Any

from common import canonical, record


def _unknown(value: Any) -> Any:
    raise ValueError("not a JSON value")


# ``json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"),
# allow_nan=False).encode`` without its per-call set-up: the same C encoder, built once
# (no cycle check: a decoded value is a tree).
_C_ENCODE = _json.make_encoder(
    None, _unknown, _json.encode_basestring, None, ":", ",", True, False, False
)
_START = len(record.PREFIX)
_MAX_INT = canonical.MAX_SAFE_INT
_NO = object()
_MIN = len(record.PREFIX) + 2 + record.SIGNATURE_SIZE


def _scalar(value: Any) -> bool | None:
    """The rule for a scalar: True or False; None when ``value`` is a container."""
    t = type(value)
    if t is str:
        return value.isascii() or unicodedata.is_normalized("NFC", value)
    if t is int:
        return -_MAX_INT <= value <= _MAX_INT
    if value is None or t is bool:
        return True
    return None if t is dict or t is list else False


def _canonical(value: Any, depth: int = 0) -> bool:
    """True when :func:`common.canonical.check_value` would accept ``value`` (same rules,
    without building error messages); False sends the record to the reference parser."""
    if depth > canonical.MAX_DEPTH:
        return False
    if type(value) is dict:
        items: Any = value.items()
        for k, _ in items:
            if not k.isascii():
                return False
        children: Any = value.values()
    elif type(value) is list:
        children = value
    else:
        return _scalar(value) is True
    for child in children:
        ok = _scalar(child)
        if ok is None:
            ok = _canonical(child, depth + 1)
        if not ok:
            return False
    return True


def _keys_ascii(obj: dict[str, Any]) -> dict[str, Any]:
    if not "".join(obj).isascii():
        raise ValueError("object key is not ASCII")
    return obj


def _no_float(text: str) -> Any:
    raise ValueError("not a whole number")


def _safe_int(text: str) -> int:
    value = int(text)
    if len(text) > 15 and not -_MAX_INT <= value <= _MAX_INT:
        raise ValueError("integer outside the safe range")
    return value


_HOOKS: dict[str, Any] = {
    "parse_float": _no_float,
    "parse_constant": _no_float,
    "parse_int": _safe_int,
}
# The decoders' scanners, called at index 0 (``decode`` would also skip whitespace, which
# canonical text never has, and then check for extra data, which ``_fast_value`` does).
# (typeshed types the scanner's context as a scanner; it is any object with the hooks.)
_SCAN_ASCII = _json.make_scanner(json.JSONDecoder(**_HOOKS))  # type: ignore[arg-type]
_SCAN_TEXT = _json.make_scanner(
    json.JSONDecoder(object_hook=_keys_ascii, **_HOOKS)  # type: ignore[arg-type]
)


def _fast_value(body: bytes) -> Any:
    """The value of canonical JSON bytes if the fast rules accept them, else ``_NO``.

    After the re-encoding matches, the value rules are checked on the whole text where
    that is exact, and by the :func:`_canonical` walk otherwise:

    * floats, ``NaN`` and integers outside ±(2**53-1) are refused by the decoder's hooks;
      non-ASCII keys by its object hook (ASCII text has no other kind);
    * at most ``MAX_DEPTH`` brackets means no deeper nesting;
    * an NFC text means NFC strings: the quotes, backslashes and control characters that
      separate and escape strings are *stable* code points (they never compose or reorder,
      UAX #15 §9), so the text's normal form is the concatenation of its pieces' normal
      forms, and a piece after an escape letter is NFC when that letter plus the piece is.
    """
    try:
        text = body.decode("utf-8")
        plain = text.isascii()
        value, end = (_SCAN_ASCII if plain else _SCAN_TEXT)(text, 0)
        if end != len(text) or "".join(_C_ENCODE(value, 0)) != text:
            return _NO
    except (ValueError, RecursionError, UnicodeError, StopIteration):
        return _NO
    if body.count(b"{") + body.count(b"[") <= canonical.MAX_DEPTH and (
        plain or unicodedata.is_normalized("NFC", text)
    ):
        return value
    return value if _canonical(value) else _NO


def decode(body: bytes) -> Any:
    """:func:`common.canonical.decode`, faster: same value, same ``EncodingError``."""
    value = _fast_value(body)
    return canonical.decode(body) if value is _NO else value


_new = object.__new__
_sha256 = hashlib.sha256
_FIELDS = frozenset(record.BODY_FIELDS)
_ANCHOR_FIELDS = frozenset(("root", "size"))
_HEX64 = record._HEX64.match
_NO_PREV = "0" * 64  # stands in for the null prev of seq 1
# node, key, prev, type and actor on lines of their own, against the patterns of
# ``common.record`` (no pattern admits a line break).
_TEXTS = re.compile(
    "\n".join(
        (
            r"[0-9a-f]{32}",
            r"[0-9a-f]{32}",
            r"[0-9a-f]{64}",
            record._TYPE.pattern.removesuffix(r"\Z"),
            record._ACTOR.pattern.removesuffix(r"\Z"),
        )
    )
).fullmatch


def _schema_ok(body: dict[str, Any]) -> bool:
    """True only when :func:`common.record._check_body` accepts ``body`` (a decoded JSON
    object, so its strings, integers and booleans are of exactly those types)."""
    if body.keys() != _FIELDS:
        return False
    node, key, seq, prev, kind, actor = (
        body["node"],
        body["key"],
        body["seq"],
        body["prev"],
        body["type"],
        body["actor"],
    )
    if type(seq) is not int or seq < 1 or (prev is not None if seq == 1 else type(prev) is not str):
        return False
    if not (type(node) is str and type(key) is str and type(kind) is str and type(actor) is str):
        return False
    if _TEXTS(f"{node}\n{key}\n{_NO_PREV if seq == 1 else prev}\n{kind}\n{actor}") is None:
        return False
    at, anchor, dossier = body["at"], body["anchor"], body["dossier"]
    if type(at) is not str or len(at) > 40:
        return False
    try:
        if datetime.fromisoformat(at).tzinfo is None:
            return False
    except ValueError:
        return False
    if anchor is not None and (
        type(anchor) is not dict
        or anchor.keys() != _ANCHOR_FIELDS
        or type(anchor["size"]) is not int
        or anchor["size"] < 0
        or type(anchor["root"]) is not str
        or not _HEX64(anchor["root"])
    ):
        return False
    if dossier is not None and (type(dossier) is not str or not 1 <= len(dossier) <= 64):
        return False
    return type(body["data"]) is dict


def parse(raw: bytes) -> record.Record:
    """Parse and check the form of a record; raises ``EncodingError`` exactly when
    :func:`common.record.parse` does. Does not check the signature or the chain."""
    if type(raw) is not bytes or not _MIN <= len(raw) <= record.MAX_RECORD_SIZE:
        return record.parse(raw)
    if not raw.startswith(record.PREFIXES):
        return record.parse(raw)
    body = _fast_value(raw[_START : -record.SIGNATURE_SIZE])
    if type(body) is not dict or not _schema_ok(body):
        return record.parse(raw)  # the authoritative answer, and its error message
    if record.COMMITMENTS in body["data"] and raw.startswith(record.PREFIX_V1):
        return record.parse(raw)  # refused: a version 1 record carries no commitments
    # A Record with the same fields as ``record.Record(raw=..., id=..., **body)`` would have,
    # filled in directly: the frozen dataclass's ``__init__`` costs a guarded ``setattr`` per
    # field, and ``body`` holds exactly the other fields under their own names.
    rec = _new(record.Record)
    fields = rec.__dict__
    fields.update(body)
    fields["raw"] = raw
    fields["id"] = _sha256(raw).hexdigest()
    anchor = body["anchor"]
    if anchor is not None:
        fields["anchor"] = record.Anchor(anchor["size"], anchor["root"])
    return rec
