"""Record signatures checked ahead of the verifier, so that other cores can do them.

The verifier (``common.audit.verifier``) reads a bundle in order: chains, keys, checkpoints
and proofs need that order. The one costly step that needs none of it is the Ed25519 check
of each record's signature, a function of the record's bytes and the public key alone. So
a caller may split the log part of a bundle among processes, each running
:func:`check_lines` over its share with the key table of the bundle's ``key`` lines
(:func:`key_table`), and hand the answers to the verifier (:meth:`State.take_hints`).

An answer is only ever a *hint*: the verifier uses it for a record only when it was
computed over the same bytes (the same leaf hash) with the very public key the verifier's
own key history picks for that record; otherwise it checks the signature itself. Findings
and their order are therefore the same with hints or without, whatever the hints say. No
I/O.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable, Mapping

from cryptography.exceptions import InvalidSignature

from common import keys
from common.audit.bundle_format import KeyLine, LineError, RecordLine
from common.audit.bundle_read import decode_line
from common.errors import EncodingError
from common.merkle import leaf_hash
from common.record import SIGNATURE_SIZE

# leaf hash of a record's bytes -> (the public key checked, whether the signature holds)
Hints = dict[bytes, tuple[bytes, bool]]

_KEY = b'"key":"'
_RECORD = b'{"kind":"record",'
_RAW = b',"raw":"'


def _record_bytes(data: bytes, max_bytes: int) -> bytes | None:
    """The record bytes of a record line, or None. The exporter's spelling (``raw`` last)
    is sliced out without reading the proof; any other spelling is read in full."""
    if len(data) > max_bytes:
        return None
    body = data[:-1] if data.endswith(b"\n") else data
    if body.startswith(_RECORD) and body.endswith(b'"}'):
        at = body.rfind(_RAW)
        if at > 0:
            try:
                return binascii.a2b_base64(body[at + len(_RAW) : -2], strict_mode=True)
            except binascii.Error:
                return None
    try:
        line = decode_line(body, max_bytes=max_bytes)
    except LineError:
        return None
    return line.raw if type(line) is RecordLine else None


def key_table(lines: Iterable[bytes], *, max_bytes: int) -> dict[str, bytes]:
    """Key id -> raw public key of every well-formed ``key`` line whose id is its key's."""
    table: dict[str, bytes] = {}
    for data in lines:
        try:
            line = decode_line(data, max_bytes=max_bytes)
        except LineError:
            continue
        if isinstance(line, KeyLine) and keys.key_id(line.public) == line.key:
            table[line.key] = line.public
    return table


def signing_key_id(raw: bytes) -> str | None:
    """The key id a record's bytes name (the last ``"key":"`` of the body: top-level keys of
    a canonical body come after any nested ones of the same name), or None. A guess only:
    the verifier decides which key applies."""
    i = raw.rfind(_KEY, 0, len(raw) - SIGNATURE_SIZE)
    if i < 0:
        return None
    start = i + len(_KEY)
    return raw[start : start + 32].decode("ascii", "replace")


def check_lines(lines: Iterable[bytes], publics: Mapping[str, bytes], *, max_bytes: int) -> Hints:
    """The signature of every record line among ``lines`` checked against the key its bytes
    name, by leaf hash. Lines that are not readable record lines, or name no known key, are
    left out (the verifier checks those itself)."""
    loaded: dict[str, tuple[bytes, keys.PublicKey]] = {}
    hints: Hints = {}
    for data in lines:
        raw = _record_bytes(data, max_bytes)
        if raw is None:
            continue
        kid = signing_key_id(raw)
        if kid is None:
            continue
        found = loaded.get(kid)
        if found is None:
            public = publics.get(kid)
            if public is None:
                continue
            try:
                found = loaded[kid] = (public, keys.public_from_bytes(public))
            except (EncodingError, ValueError):
                continue
        try:
            found[1].verify(raw[-SIGNATURE_SIZE:], raw[:-SIGNATURE_SIZE])
            ok = True
        except InvalidSignature:
            ok = False
        except Exception:  # whatever else the check raises, the verifier meets it itself
            continue
        hints[leaf_hash(raw)] = (found[0], ok)
    return hints
