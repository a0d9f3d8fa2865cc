"""Canonical JSON: the one byte form every signed record body takes.

The body of a record is UTF-8 JSON in the JSON Canonicalization Scheme (RFC 8785, via the
``rfc8785`` package) with these further rules, so that one value has exactly one encoding:

* objects have ASCII string keys, no key twice;
* strings are Unicode NFC (Vietnamese text typed on different keyboards can arrive
  decomposed; two spellings would mean two signatures for "the same" name);
* numbers are integers in the IEEE-754 safe range ``-(2**53-1) .. 2**53-1``; no floats at
  all (money is whole đồng);
* values nest at most ``MAX_DEPTH`` deep.

:func:`decode` accepts only bytes that :func:`encode` would produce for the value they hold:
parse-then-encode is byte-identical, and anything else is refused with an
:class:`~common.errors.EncodingError` that says what is wrong and where.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import rfc8785

from common.errors import EncodingError

MAX_SAFE_INT = 2**53 - 1
MAX_DEPTH = 16

JsonValue = Any  # None | bool | int | str | list[JsonValue] | dict[str, JsonValue]


def check_value(value: JsonValue, path: str = "$", depth: int = 0) -> None:
    """Raise :class:`EncodingError` unless ``value`` obeys every canonical rule."""
    if depth > MAX_DEPTH:
        raise EncodingError(f"{path}: nested deeper than {MAX_DEPTH} levels", path=path)
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
            raise EncodingError(
                f"{path}: integer {value} is outside ±(2**53-1)",
                vi=f"{path}: số nguyên {value} vượt quá giới hạn ±(2**53-1)",
                path=path,
            )
        return
    if isinstance(value, float):
        raise EncodingError(
            f"{path}: floating-point numbers are not allowed (use whole numbers)",
            vi=f"{path}: không dùng số thập phân (dùng số nguyên)",
            path=path,
        )
    if isinstance(value, str):
        if not unicodedata.is_normalized("NFC", value):
            raise EncodingError(
                f"{path}: text is not in Unicode NFC form (decomposed accents)",
                vi=f"{path}: văn bản không ở dạng Unicode NFC (dấu bị tách rời)",
                path=path,
            )
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_value(item, f"{path}[{i}]", depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise EncodingError(f"{path}: object key {key!r} is not an ASCII string", path=path)
            check_value(item, f"{path}.{key}", depth + 1)
        return
    raise EncodingError(f"{path}: values of type {type(value).__name__} cannot be encoded")


def encode(value: JsonValue) -> bytes:
    """Encode ``value`` canonically, refusing anything the rules forbid."""
    check_value(value)
    return rfc8785.dumps(value)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise EncodingError(f"key {key!r} appears twice in one object", key=key)
        obj[key] = value
    return obj


def _no_float(text: str) -> Any:
    raise EncodingError(f"number {text} is not a whole number", number=text[:40])


def _no_constant(text: str) -> Any:
    raise EncodingError(f"{text} is not allowed")


def nesting_depth(data: bytes) -> int:
    """Deepest bracket nesting, ignoring brackets inside strings (cheap pre-parse guard)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
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


def decode(data: bytes) -> JsonValue:
    """Parse canonical bytes back to a value; refuse any other form of the same value."""
    if nesting_depth(data) > MAX_DEPTH + 1:
        raise EncodingError(f"nested deeper than {MAX_DEPTH} levels")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"not valid UTF-8 at byte {exc.start}", vi="Không phải UTF-8 hợp lệ"
        ) from exc
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_no_float,
            parse_constant=_no_constant,
        )
    except json.JSONDecodeError as exc:
        raise EncodingError(f"not JSON: {exc.msg} at position {exc.pos}") from exc
    if encode(value) != data:
        raise EncodingError(
            "bytes are not the canonical encoding of their value "
            "(key order, spacing, escapes or number form differ)",
            vi="Bản ghi không ở dạng mã hoá chuẩn (thứ tự khoá, khoảng trắng hoặc cách viết số)",
        )
    return value
