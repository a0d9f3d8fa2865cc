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

import json
import unicodedata
from typing import Any

from common import canonical, record
from common.errors import EncodingError

_ENCODE = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode
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
_DECODE_ASCII = json.JSONDecoder(**_HOOKS).decode
_DECODE_TEXT = json.JSONDecoder(object_hook=_keys_ascii, **_HOOKS).decode


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
        value = (_DECODE_ASCII if plain else _DECODE_TEXT)(text)
        if _ENCODE(value).encode("utf-8") != body:
            return _NO
    except (ValueError, RecursionError, UnicodeError):
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


def _fast_body(body: bytes) -> dict[str, Any] | None:
    """The body's value if the fast rules accept it, else None (meaning: ask the reference)."""
    value = _fast_value(body)
    if type(value) is not dict:
        return None
    try:
        record._check_body(value)  # the record schema, shared with the reference parser
    except EncodingError:
        return None
    return value


def parse(raw: bytes) -> record.Record:
    """Parse and check the form of a record; raises ``EncodingError`` exactly when
    :func:`common.record.parse` does. Does not check the signature or the chain."""
    if type(raw) is not bytes or not _MIN <= len(raw) <= record.MAX_RECORD_SIZE:
        return record.parse(raw)
    if not raw.startswith(record.PREFIX):
        return record.parse(raw)
    body = _fast_body(raw[_START : -record.SIGNATURE_SIZE])
    if body is None:
        return record.parse(raw)
    anchor = body["anchor"]
    return record.Record(
        raw=raw,
        id=record.record_id(raw),
        node=body["node"],
        key=body["key"],
        seq=body["seq"],
        prev=body["prev"],
        at=body["at"],
        anchor=record.Anchor(anchor["size"], anchor["root"]) if anchor else None,
        dossier=body["dossier"],
        type=body["type"],
        actor=body["actor"],
        data=body["data"],
    )
