"""Sync protocol messages between node and hub (see ``docs/sync-protocol.md``). No I/O.

* **Signed requests.** Every sync request carries ``X-Node``, ``X-Key``, ``X-Timestamp``
  (Unix seconds), ``X-Nonce`` (32 hex digits) and ``X-Signature`` (base64 Ed25519) over
  :func:`request_message`: method, path with query, SHA-256 of the body, timestamp, nonce,
  node and key, each on its own line after a domain prefix.
* **Batches.** A batch body is a zlib stream of frames. Version 1: ``BATCH_MAGIC`` then, per
  record, its length as an unsigned LEB128 varint and its exact bytes. Version 2 (what nodes
  push): ``BATCH_MAGIC_V2``, the zlib stream uses the preset dictionary
  :data:`BATCH_DICT`, and a frame may leave out the record's ``prev`` when it is the id of
  the record before it in the batch; the decoder restores the exact bytes (the signature
  covers them). :func:`decode_batch` reads both, and bounds the inflated size, the frame
  count and each record's size, so a hostile body cannot exhaust memory.
* **Sealed disclosures.** A frame that starts with ``vn-dossier/sealed/v1`` is not a
  record: it holds the personal data of the record in the frame before it, sealed to the
  hub's encryption key (or, in a history answer, to the key the node asked with);
  :func:`decode_batch_sealed` gives them by record id (``common/personal.py``).
* **Hub statements.** Receipts and checkpoints are canonical JSON bodies after their own
  domain prefix, followed by the hub's 64-byte signature — the same layout as a record.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from common import canonical, keys, personal
from common.batch_dict import BATCH_DICT_V1
from common.cosignature import (  # noqa: F401  (re-exported)
    COSIGNATURE_PREFIX,
    COSIGNATURE_PREFIX_V1,
    cosignature_body,
)
from common.errors import DossierError, EncodingError, SignatureError
from common.personal import MAX_SEALED_BYTES
from common.personal import SEAL_PREFIX as SEALED_PREFIX
from common.record import MAX_RECORD_SIZE, SIGNATURE_SIZE

REQUEST_PREFIX = b"vn-dossier/request/v1\n"
RECEIPT_PREFIX = b"vn-dossier/receipt/v1\n"
CHECKPOINT_PREFIX = b"vn-dossier/checkpoint/v1\n"
LOG_BREAK_PREFIX = b"vn-dossier/log-break/v1\n"
ENROLMENT_PREFIX = b"vn-dossier/enrolment/v1\n"
REINTRODUCE_PREFIX = b"vn-dossier/reintroduce/v1\n"
ENCRYPTION_KEY_PREFIX = b"vn-dossier/encryption-key/v1\n"
# Version 2 of the ``known`` report: the hub-signed checkpoint of that size, as evidence
KNOWN_CHECKPOINT_HEADER = "X-Known-Checkpoint"
BATCH_MAGIC = b"VNDB1"
BATCH_MAGIC_V2 = b"VNDB2"
BATCH_DICT = BATCH_DICT_V1
BATCH_DICT_ID = zlib.adler32(BATCH_DICT)  # named in the zlib header of a v2 body
_ELIDED = b'"prev":"","seq":'
_PREV_VALUE = len(b'"prev":"')
BATCH_CONTENT_TYPE = "application/vnd.vn-dossier.batch"
MAX_BATCH_RECORDS = 5000
MAX_BATCH_INFLATED = 8 * 1024 * 1024
MAX_BODY_BYTES = 2 * 1024 * 1024
TIMESTAMP_WINDOW = 300  # seconds either side of hub time
_NONCE = re.compile(r"[0-9a-f]{32}\Z")
_HEX32 = re.compile(r"[0-9a-f]{32}\Z")


class ProtocolError(DossierError):
    """A sync request the hub refuses; ``code`` is listed in docs/sync-protocol.md."""

    code = "protocol_error"
    status = 400


class AuthError(ProtocolError):
    code = "bad_request_signature"
    status = 401
    vi = "Chữ ký yêu cầu đồng bộ không hợp lệ."
    en = "The sync request signature does not verify."


# ---------------------------------------------------------------- signed requests


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def request_message(
    *, method: str, path: str, body: bytes, timestamp: int, nonce: str, node: str, key: str
) -> bytes:
    lines = [method.upper(), path, body_hash(body), str(timestamp), nonce, node, key]
    return REQUEST_PREFIX + "\n".join(lines).encode("ascii")


def sign_request(
    private_key: keys.PrivateKey,
    *,
    method: str,
    path: str,
    body: bytes,
    timestamp: int,
    nonce: str,
    node: str,
) -> dict[str, str]:
    """The authentication headers for one request."""
    key = keys.key_id(private_key)
    message = request_message(
        method=method, path=path, body=body, timestamp=timestamp, nonce=nonce, node=node, key=key
    )
    signature = base64.b64encode(keys.sign(private_key, message)).decode("ascii")
    return {
        "X-Node": node,
        "X-Key": key,
        "X-Timestamp": str(timestamp),
        "X-Nonce": nonce,
        "X-Signature": signature,
    }


@dataclass(frozen=True)
class SignedRequest:
    node: str
    key: str
    timestamp: int
    nonce: str
    signature: bytes


def parse_request_headers(headers: Any) -> SignedRequest:
    """Read the authentication headers; raise AuthError(code=missing_auth) when malformed."""
    try:
        node = headers["X-Node"]
        key = headers["X-Key"]
        ts = headers["X-Timestamp"]
        nonce = headers["X-Nonce"]
        sig = headers["X-Signature"]
    except KeyError as exc:
        raise _auth("missing_auth", f"missing header {exc.args[0]}") from exc
    if not (_HEX32.match(node) and _HEX32.match(key)):
        raise _auth("missing_auth", "X-Node and X-Key must be 32 hex digits")
    if not ts.isdigit() or len(ts) > 12:
        raise _auth("missing_auth", "X-Timestamp must be Unix seconds")
    if not _NONCE.match(nonce):
        raise _auth("missing_auth", "X-Nonce must be 32 hex digits")
    try:
        signature = base64.b64decode(sig, validate=True)
    except ValueError as exc:
        raise _auth("missing_auth", "X-Signature is not base64") from exc
    if len(signature) != SIGNATURE_SIZE:
        raise _auth("missing_auth", "X-Signature must be 64 bytes")
    return SignedRequest(node, key, int(ts), nonce, signature)


def verify_request(
    req: SignedRequest, public: keys.PublicKey, *, method: str, path: str, body: bytes, now: int
) -> None:
    """Signature first (so an attacker learns nothing), then the timestamp window."""
    message = request_message(
        method=method,
        path=path,
        body=body,
        timestamp=req.timestamp,
        nonce=req.nonce,
        node=req.node,
        key=req.key,
    )
    try:
        keys.verify(public, req.signature, message)
    except SignatureError as exc:
        raise AuthError() from exc
    if abs(now - req.timestamp) > TIMESTAMP_WINDOW:
        raise _auth(
            "stale_timestamp",
            f"request time is {req.timestamp - now:+d} s from hub time; check the node's clock",
            vi="Thời gian của yêu cầu lệch quá xa so với máy chủ; kiểm tra đồng hồ của máy",
            hub_time=now,
        )


def _auth(code: str, en: str, vi: str | None = None, **detail: Any) -> AuthError:
    err = AuthError(en, vi=vi, **detail)
    err.code = code
    return err


# ---------------------------------------------------------------- batches


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_frames(records: list[bytes], sealed: Mapping[str, bytes] | None = None) -> bytes:
    """Version 1 frames: ``VNDB1`` then, per record, varint(length) and its bytes; a
    record's sealed disclosures (``sealed``: record id → box), if any, in the next frame."""
    out = [BATCH_MAGIC]
    for r in records:
        out.append(_varint(len(r)) + r)
        box = sealed.get(hashlib.sha256(r).hexdigest()) if sealed else None
        if box:
            out.append(_varint(len(box)) + box)
    return b"".join(out)


def encode_batch(
    records: list[bytes], level: int = 9, sealed: Mapping[str, bytes] | None = None
) -> bytes:
    """Version 1 body (what the hub answers a pull with; every node reads it)."""
    return zlib.compress(encode_frames(records, sealed), level)


def _restore_prev(frame: bytes, prev_id: bytes) -> bytes:
    """A version 2 frame whose ``prev`` was elided, with ``prev_id`` (64 hex) put back at
    the last ``"prev":"","seq":`` of the signed part."""
    at = frame.rfind(_ELIDED, 0, len(frame) - SIGNATURE_SIZE)
    if at < 0:
        raise _batch_error("an elided frame has no empty prev to restore")
    cut = at + _PREV_VALUE
    return frame[:cut] + prev_id + frame[cut:]


def _elide_prev(raw: bytes, prev_id: bytes) -> bytes | None:
    """``raw`` without the 64 hex digits of its ``prev`` when that is ``prev_id`` and the
    decoder restores exactly ``raw``; None otherwise (the record then goes whole)."""
    at = raw.rfind(b'"prev":"' + prev_id + b'","seq":', 0, len(raw) - SIGNATURE_SIZE)
    if at < 0:
        return None
    cut = at + _PREV_VALUE
    frame = raw[:cut] + raw[cut + 64 :]
    return frame if _restore_prev(frame, prev_id) == raw else None


def encode_frames_v2(records: list[bytes], sealed: Mapping[str, bytes] | None = None) -> bytes:
    """Version 2 frames: ``VNDB2`` then, per record, varint(length × 2 + elided) and the
    bytes; ``elided`` = 1 means the record's ``prev`` (the id of the record before it in
    this batch) was taken out and the decoder puts it back (docs/sync-protocol.md)."""
    out = [BATCH_MAGIC_V2]
    prev_id: bytes | None = None
    for raw in records:
        frame = _elide_prev(raw, prev_id) if prev_id is not None else None
        if frame is None:
            out.append(_varint(len(raw) << 1) + raw)
        else:
            out.append(_varint(len(frame) << 1 | 1) + frame)
        prev_id = hashlib.sha256(raw).hexdigest().encode("ascii")
        box = sealed.get(prev_id.decode("ascii")) if sealed else None
        if box:
            out.append(_varint(len(box) << 1) + box)
    return b"".join(out)


def encode_batch_v2(
    records: list[bytes], level: int = 9, sealed: Mapping[str, bytes] | None = None
) -> bytes:
    """Version 2 body (what a node pushes): v2 frames, zlib with the preset dictionary."""
    packer = zlib.compressobj(level, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, BATCH_DICT)
    return packer.compress(encode_frames_v2(records, sealed)) + packer.flush()


def _batch_error(en: str) -> ProtocolError:
    err = ProtocolError(en, vi=f"Gói dữ liệu đồng bộ không hợp lệ ({en})")
    err.code = "bad_batch"
    return err


def decode_frames(raw: bytes) -> list[bytes]:
    """Split inflated frames, version 1 or 2, into the exact record bytes."""
    return decode_frames_sealed(raw)[0]


def decode_frames_sealed(raw: bytes) -> tuple[list[bytes], dict[str, bytes]]:
    """Split inflated frames, version 1 or 2, into the exact record bytes, and the sealed
    disclosures that followed a record (record id → box; docs/sync-protocol.md)."""
    sealed: dict[str, bytes] = {}
    if raw.startswith(BATCH_MAGIC):
        v2 = False
    elif raw.startswith(BATCH_MAGIC_V2):
        v2 = True
    else:
        raise _batch_error("batch does not start with the batch magic bytes")
    pos = len(BATCH_MAGIC)
    out: list[bytes] = []
    while pos < len(raw):
        if len(out) >= MAX_BATCH_RECORDS:
            raise _batch_error(f"more than {MAX_BATCH_RECORDS} records in one batch")
        length = shift = 0
        while True:
            if pos >= len(raw) or shift > 21:
                raise _batch_error("truncated or oversized frame length")
            byte = raw[pos]
            pos += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        elided = False
        if v2:
            length, elided = length >> 1, bool(length & 1)
        if length > MAX_RECORD_SIZE:
            raise _batch_error(f"a frame of {length} bytes exceeds the record limit")
        if pos + length > len(raw):
            raise _batch_error("truncated frame")
        frame = raw[pos : pos + length]
        pos += length
        if frame.startswith(SEALED_PREFIX):
            if not out or elided or len(frame) > MAX_SEALED_BYTES:
                raise _batch_error("sealed disclosures must follow their record")
            rid = hashlib.sha256(out[-1]).hexdigest()
            if rid in sealed:
                raise _batch_error("a record's disclosures are sealed twice")
            sealed[rid] = frame
            continue
        if elided:
            if not out:
                raise _batch_error("the first record of a batch cannot elide its prev")
            frame = _restore_prev(frame, hashlib.sha256(out[-1]).hexdigest().encode("ascii"))
            if len(frame) > MAX_RECORD_SIZE:
                raise _batch_error(f"a record of {len(frame)} bytes exceeds the record limit")
        out.append(frame)
    return out, sealed


def decode_batch(body: bytes) -> list[bytes]:
    """Inflate (bounded) and split a batch body, version 1 or 2, into record byte strings
    (sealed disclosures in it are skipped: :func:`decode_batch_sealed` gives them)."""
    return decode_frames(_inflate_batch(body))


def decode_batch_sealed(body: bytes) -> tuple[list[bytes], dict[str, bytes]]:
    """The records of a batch body and the sealed disclosures beside them."""
    return decode_frames_sealed(_inflate_batch(body))


def _inflate_batch(body: bytes) -> bytes:
    """Inflate (bounded) a batch body.

    A zlib stream that names a preset dictionary must name :data:`BATCH_DICT` (by its
    Adler-32, RFC 1950); the frames inside may be version 1 or 2."""
    zdict = b""
    if len(body) >= 6 and body[1] & 0x20:  # FDICT: a preset dictionary follows the header
        if int.from_bytes(body[2:6], "big") != BATCH_DICT_ID:
            raise _batch_error("body names an unknown compression dictionary")
        zdict = BATCH_DICT
    inflater = zlib.decompressobj(zdict=zdict) if zdict else zlib.decompressobj()
    try:
        raw = _inflate(inflater, body, limit=MAX_BATCH_INFLATED, kind="zlib stream")
    except ValueError as exc:
        raise _batch_error(str(exc)) from exc
    return raw


def _inflate(inflater: Any, data: bytes, *, limit: int, kind: str) -> bytes:
    """All of ``data`` inflated: exactly one whole stream, at most ``limit`` bytes (a zip
    bomb costs at most that much memory). Raises ValueError saying what is wrong."""
    try:
        raw: bytes = inflater.decompress(data, limit)
    except zlib.error as exc:
        raise ValueError(f"body is not a {kind}") from exc
    if inflater.unconsumed_tail:
        raise ValueError(f"body inflates beyond {limit} bytes")
    if not inflater.eof:
        raise ValueError(f"{kind} is truncated")
    if inflater.unused_data:
        raise ValueError(f"data after the end of the {kind}")
    return raw


# ---------------------------------------------------------------- compressed JSON bodies


def gzip_body(data: bytes) -> bytes:
    """A JSON request body as the node sends it (``Content-Encoding: gzip``)."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def gunzip_body(data: bytes, *, limit: int) -> bytes:
    """Inflate a gzip request body, refusing more than ``limit`` bytes (a zip bomb costs
    the hub at most that much memory) and anything but exactly one whole gzip member.
    Raises ValueError saying what is wrong."""
    return _inflate(zlib.decompressobj(wbits=31), data, limit=limit, kind="gzip stream")


# ---------------------------------------------------------------- hub statements


def sign_statement(prefix: bytes, body: dict[str, Any], private_key: keys.PrivateKey) -> bytes:
    message = prefix + canonical.encode(body)
    return message + keys.sign(private_key, message)


def open_statement(prefix: bytes, raw: bytes, public: keys.PublicKey) -> dict[str, Any]:
    """Verify a hub statement and return its body."""
    body = statement_claims(prefix, raw)
    keys.verify(public, raw[-SIGNATURE_SIZE:], raw[:-SIGNATURE_SIZE])
    return body


def statement_claims(prefix: bytes, raw: bytes) -> dict[str, Any]:
    """The body of a statement, signature NOT checked: what it claims (e.g. which key to
    verify it with). Raises EncodingError when it is not a statement of that kind."""
    if not raw.startswith(prefix) or len(raw) < len(prefix) + 2 + SIGNATURE_SIZE:
        raise EncodingError(f"not a {prefix.decode().strip()} statement")
    body = canonical.decode(raw[len(prefix) : -SIGNATURE_SIZE])
    if not isinstance(body, dict):
        raise EncodingError("statement body is not an object")
    return body


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def unb64(text: Any, what: str = "value") -> bytes:
    if not isinstance(text, str):
        raise EncodingError(f"{what} must be a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise EncodingError(f"{what} is not valid base64") from exc


# ---------------------------------------------------------------- key statements


def enrol_message(code: str, node_id: str, public_key_hex: str) -> bytes:
    """What a node signs at enrolment to prove it holds the key it registers."""
    return (
        b"vn-dossier/enrol/v1\n" + f"{code.strip().upper()}\n{node_id}\n{public_key_hex}".encode()
    )


def enrolment_body(
    *, origin: str, node: str, public_key: str, agency_code: str, commune_name: str, time: str
) -> dict[str, Any]:
    """What the hub signs for a node it enrolled: kept by the node, it lets a hub whose
    database was put back from a backup older than the enrolment know the node again."""
    return {
        "agency_code": agency_code,
        "commune_name": commune_name,
        "node": node,
        "origin": origin,
        "public_key": public_key,
        "time": time,
    }


def enrolment_of(raw: bytes, public: keys.PublicKey, *, origin: str) -> dict[str, Any]:
    """Open the hub's signed enrolment of a node; check it names this log and that the node
    id is its key's id."""
    body = open_statement(ENROLMENT_PREFIX, raw, public)
    fields = ("agency_code", "commune_name", "node", "public_key", "time")
    if body.get("origin") != origin or not all(isinstance(body.get(f), str) for f in fields):
        raise EncodingError("enrolment of another log, or malformed")
    try:
        named = keys.key_id(bytes.fromhex(body["public_key"]))
    except ValueError as exc:
        raise EncodingError("the enrolment's public key is not hex") from exc
    if len(body["public_key"]) != 64 or named != body["node"]:
        raise EncodingError("the enrolment's node id is not its key's id")
    return body


def reintroduce_message(enrolment: bytes) -> bytes:
    """What a node signs to show it holds the key of the enrolment it presents."""
    return REINTRODUCE_PREFIX + hashlib.sha256(enrolment).hexdigest().encode("ascii")


def rotation_message(node_id: str, old_key_id: str, seq: int) -> bytes:
    """What a node's new key signs in a ``key.rotated`` record to prove possession."""
    return b"vn-dossier/rotate/v1\n" + f"{node_id}\n{old_key_id}\n{seq}".encode()


# ---------------------------------------------------------------- log proofs in receipts


def checkpoint_of(raw: bytes, public: keys.PublicKey, *, origin: str) -> dict[str, Any]:
    """Open a signed checkpoint and check it names the expected log."""
    body = open_statement(CHECKPOINT_PREFIX, raw, public)
    if body.get("origin") != origin or not isinstance(body.get("size"), int):
        raise EncodingError("checkpoint of another log, or malformed")
    return body


def _frontier_range(first_leaf: int, frontier: list[bytes]) -> Any:
    from common import merkle

    keys_ = merkle.root_keys(first_leaf)
    if len(keys_) != len(frontier):
        raise merkle.ProofError(
            f"frontier has {len(frontier)} hashes, expected {len(keys_)}", reason="bad_frontier"
        )
    return merkle.CompactRange.from_nodes(
        first_leaf, merkle.MemoryNodes(dict(zip(keys_, frontier, strict=True)))
    )


def frontier_root(first_leaf: int, frontier: list[bytes]) -> bytes:
    """The root of the tree of ``first_leaf`` leaves whose frontier is ``frontier``."""
    return bytes(_frontier_range(first_leaf, frontier).root())


def verify_frontier(*, size: int, frontier: list[bytes], root: bytes) -> None:
    """Prove that ``frontier`` (the perfect subtrees of a tree of ``size`` leaves, largest
    first) is the frontier of the tree whose root is ``root``. Raises ProofError."""
    from common import merkle

    if _frontier_range(size, frontier).root() != root:
        raise merkle.ProofError(
            f"the log's frontier at {size} is not the tree of the checkpoint we verified",
            reason="old_root_mismatch",
        )


def verify_batch_inclusion(
    *, first_leaf: int, frontier: list[bytes], leaves: list[bytes], root: bytes, size: int
) -> None:
    """Prove that ``leaves`` (record bytes) are the log's leaves ``first_leaf ..`` and end a
    tree of ``size`` whose root is ``root``: rebuild the tree's frontier at ``first_leaf``
    from the hub's hashes, append our own leaf hashes, and compare. Raises ProofError."""
    from common import merkle

    tree = _frontier_range(first_leaf, frontier)
    for raw in leaves:
        tree.append(merkle.leaf_hash(raw))
    if tree.size != size:
        raise merkle.ProofError(
            f"our records end the tree at {tree.size}, the checkpoint says {size}",
            reason="size_mismatch",
        )
    if tree.root() != root:
        raise merkle.ProofError(
            "our records are not where the checkpoint says they are", reason="root_mismatch"
        )


# ---------------------------------------------------------------- declared log breaks


def log_break_body(
    *,
    origin: str,
    kept: tuple[int, str],
    given_up: tuple[int, str],
    time: str,
    reason: str,
    by: str,
) -> dict[str, Any]:
    """What the hub signs when its administrator closes a log recovery before the log
    reached every checkpoint the communes verified: the log goes on from ``kept`` (size,
    root); every checkpoint it signed before ``time`` beyond that size — up to ``given_up``
    (size, root; root "" when no commune proved it) — is given up, for ``reason``, by the
    administrator ``by``."""
    return {
        "by": by,
        "given_up": {"root": given_up[1], "size": given_up[0]},
        "kept": {"root": kept[1], "size": kept[0]},
        "origin": origin,
        "reason": reason,
        "time": time,
    }


def log_break_of(raw: bytes, public: keys.PublicKey, *, origin: str) -> dict[str, Any]:
    """Open a signed log break and check its form and that it names the expected log."""
    body = open_statement(LOG_BREAK_PREFIX, raw, public)
    kept, given_up = body.get("kept"), body.get("given_up")
    if (
        body.get("origin") != origin
        or not isinstance(kept, dict)
        or not isinstance(given_up, dict)
        or not isinstance(kept.get("size"), int)
        or not isinstance(given_up.get("size"), int)
        or _seconds(body.get("time")) is None
    ):
        raise EncodingError("log break of another log, or malformed")
    return body


def _seconds(text: Any) -> float | None:
    from datetime import datetime

    if not isinstance(text, str):
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    return t.timestamp() if t.tzinfo is not None else None


def break_covers(brk: dict[str, Any], checkpoint: dict[str, Any]) -> bool:
    """Whether ``checkpoint`` (an opened checkpoint body) is one the declared break gave up:
    larger than the log it kept, and signed no later than the break. The hub signs every
    checkpoint after a break later than it (``central_hub/services/translog.py``), so a
    checkpoint of the log that goes on is never covered."""
    at, signed = _seconds(brk.get("time")), _seconds(checkpoint.get("time"))
    if at is None or signed is None or checkpoint.get("origin") != brk.get("origin"):
        return False
    return int(checkpoint["size"]) > int(brk["kept"]["size"]) and signed <= at


# ---------------------------------------------------------------- the hub's encryption key


def encryption_key_statement(*, hub_id: str, public_hex: str, key: keys.PrivateKey) -> bytes:
    """The hub's signed word that ``public_hex`` (X25519) is its current encryption key."""
    kid = personal.encryption_key_id(personal.encryption_public_from_hex(public_hex))
    body = {"hub": hub_id, "key": public_hex, "kid": kid}
    return sign_statement(ENCRYPTION_KEY_PREFIX, body, key)


def encryption_key_of(raw: bytes, public: keys.PublicKey, *, hub_id: str) -> str:
    """The X25519 key (hex) a statement signed by the hub ``public`` names; raises otherwise."""
    body = open_statement(ENCRYPTION_KEY_PREFIX, raw, public)
    key = body.get("key")
    if body.get("hub") != hub_id or not isinstance(key, str):
        raise SignatureError("the encryption key statement is not this hub's")
    if personal.encryption_key_id(personal.encryption_public_from_hex(key)) != body.get("kid"):
        raise SignatureError("the encryption key statement names the wrong key id")
    return key
