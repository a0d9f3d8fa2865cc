"""Personal data beside the record: salted commitments in the signed record, disclosures kept
apart and sealed to the hub's encryption key. No I/O here.

A record that concerns a person does not carry the person's data. For each personal value
(the applicant's name, ID number, date of birth, phone, e-mail, address, and free text that
may name someone) it carries a **commitment**: the SHA-256 of a **disclosure**, which is the
canonical JSON array ``[salt, path, value]`` with a fresh random 16-byte salt. The signed
record then proves what the officer wrote to anyone shown the disclosure, reveals nothing to
anyone else, and the salt stops a guess of a 12-digit ID number from being checked against
the digest. Destroying the disclosures erases the data; the record, its chain and every
proof still verify. (The pattern is IETF SD-JWT's, with field paths kept visible: which
fields a dossier has is not personal, and it lets a verifier say which value failed.)

Disclosures travel to the hub **sealed**: encrypted to the hub's X25519 encryption key with
a fresh ephemeral key (ECIES: X25519, HKDF-SHA256, ChaCha20-Poly1305), bound to the record
they belong to by its id in the associated data, so a sealed box cannot be moved to another
record. The byte layouts are specified in ``docs/records.md``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from common import canonical
from common.errors import DossierError, EncodingError

DIGEST_PREFIX = b"vn-dossier/disclosure/v1\n"
SEAL_PREFIX = b"vn-dossier/sealed/v1\n"
SEAL_INFO = b"vn-dossier/seal/v1"
COMMITMENTS = "pd"  # the member of a record's ``data`` that holds the commitments
SALT_BYTES = 16
MAX_SEALED_BYTES = 65_536

# Where personal values sit in a record's ``data``: the applicant's identity and contact
# details, and the free-text fields an officer may fill with a person's name or situation.
PERSONAL_PATHS: tuple[str, ...] = (
    "applicant.name",
    "applicant.id_number",
    "applicant.id_type",
    "applicant.birth_date",
    "applicant.phone",
    "applicant.email",
    "applicant.address",
    "request",
    "reason",
    "note",
    "collected_by",
)
_PATH = re.compile(r"[a-z][a-z_]*(\.[a-z][a-z_]*)*\Z")
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_HEX32 = re.compile(r"[0-9a-f]{32}\Z")

Salt = Callable[[int], bytes]


class DisclosureError(DossierError):
    """A disclosure that does not match the record's commitment, or a sealed box that cannot
    be opened; names the path (or the part of the box) that failed."""

    code = "bad_disclosure"
    status = 422
    vi = "Dữ liệu cá nhân không khớp với cam kết trong bản ghi đã ký."
    en = "The personal data does not match the commitment in the signed record."


class KeyRetired(DisclosureError):
    """Personal data sealed to an encryption key the hub has retired (destroyed): the
    sender seals it again to the hub's current key, which the refusal carries signed."""

    code = "encryption_key_retired"
    status = 409
    vi = (
        "Dữ liệu cá nhân được niêm phong bằng khoá mã hoá cấp trên đã huỷ; nút niêm phong lại "
        "bằng khoá hiện hành và gửi lại."
    )
    en = (
        "The personal data was sealed to an encryption key the hub has retired; the node seals "
        "it again to the current key and sends it again."
    )


@dataclass(frozen=True)
class Disclosure:
    """One personal value with its salt: ``[salt, path, value]`` in canonical JSON."""

    salt: str  # 32 lowercase hex digits (16 random bytes)
    path: str  # dotted path in the record's data, e.g. "applicant.name"
    value: canonical.JsonValue

    def encode(self) -> bytes:
        return canonical.encode([self.salt, self.path, self.value])

    def digest(self) -> str:
        """The commitment: lowercase hex SHA-256 of the prefix and the encoded disclosure."""
        return hashlib.sha256(DIGEST_PREFIX + self.encode()).hexdigest()

    @classmethod
    def from_value(cls, item: Any) -> Disclosure:
        """A disclosure from its decoded JSON array, checked."""
        if not isinstance(item, list) or len(item) != 3:
            raise DisclosureError("a disclosure is an array of salt, path and value")
        salt, path, value = item
        if not isinstance(salt, str) or not _HEX32.match(salt):
            raise DisclosureError("a disclosure's salt is 32 lowercase hex digits")
        if not isinstance(path, str) or not _PATH.match(path):
            raise DisclosureError(f"{path!r} is not a field path", path=str(path)[:64])
        return cls(salt, path, value)


def _get(data: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _pop(data: dict[str, Any], path: str) -> None:
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[part]
    del node[last]


def _put(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = data
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            raise DisclosureError(f"{path}: no place for it in the record", path=path)
        node = child
    if last in node:
        raise DisclosureError(f"{path}: the record already holds a value there", path=path)
    node[last] = value


def conceal(
    data: Mapping[str, Any],
    *,
    paths: Iterable[str] = PERSONAL_PATHS,
    salt: Salt = secrets.token_bytes,
) -> tuple[dict[str, Any], tuple[Disclosure, ...]]:
    """``data`` without its personal values, with a commitment to each under ``pd``; and the
    disclosures that reveal them. Empty values (``""``, ``None``) say nothing about anyone
    and stay in clear."""
    if COMMITMENTS in data:
        raise DisclosureError("the data already holds commitments")
    out = copy.deepcopy(dict(data))
    disclosures: list[Disclosure] = []
    for path in paths:
        found, value = _get(out, path)
        if not found or value in ("", None):
            continue
        disclosures.append(Disclosure(salt(SALT_BYTES).hex(), path, value))
        _pop(out, path)
    if disclosures:
        out[COMMITMENTS] = {d.path: d.digest() for d in disclosures}
    return out, tuple(disclosures)


def commitments(data: Mapping[str, Any]) -> dict[str, str]:
    """The commitments a record's data carries (path → digest), checked for form."""
    pd = data.get(COMMITMENTS)
    if pd is None:
        return {}
    if not isinstance(pd, Mapping) or not pd:
        raise DisclosureError(f"data.{COMMITMENTS} is a non-empty object of path to digest")
    for path, digest in pd.items():
        if path not in PERSONAL_PATHS:
            raise DisclosureError(f"data.{COMMITMENTS}: {path!r} is not a personal field")
        if not isinstance(digest, str) or not _HEX64.match(digest):
            raise DisclosureError(f"data.{COMMITMENTS}.{path}: not a SHA-256 digest", path=path)
        if _get(data, path)[0]:
            raise DisclosureError(f"{path}: both in clear and committed", path=path)
    return dict(pd)


def reveal(data: Mapping[str, Any], disclosures: Iterable[Disclosure]) -> dict[str, Any]:
    """``data`` with the disclosed values back in place. Every disclosure must match its
    commitment; a path the record does not commit to is refused. Paths left undisclosed
    (erased data) keep their commitment under ``pd``."""
    pd = commitments(data)
    out = copy.deepcopy(dict(data))
    left = dict(pd)
    for d in disclosures:
        expected = left.pop(d.path, None)
        if expected is None:
            raise DisclosureError(f"{d.path}: the record does not commit to it", path=d.path)
        if d.digest() != expected:
            raise DisclosureError(f"{d.path}: does not match its commitment", path=d.path)
        _put(out, d.path, d.value)
    if left:
        out[COMMITMENTS] = left
    else:
        out.pop(COMMITMENTS, None)
    return out


def verify(data: Mapping[str, Any], disclosures: Iterable[Disclosure]) -> list[str]:
    """The paths whose disclosure does not match (empty: every disclosure matches)."""
    pd = commitments(data)
    return [d.path for d in disclosures if pd.get(d.path) != d.digest()]


def encode_disclosures(disclosures: Iterable[Disclosure]) -> bytes:
    return canonical.encode([[d.salt, d.path, d.value] for d in disclosures])


def decode_disclosures(raw: bytes) -> tuple[Disclosure, ...]:
    items = canonical.decode(raw)
    if not isinstance(items, list):
        raise DisclosureError("disclosures are an array")
    out = tuple(Disclosure.from_value(item) for item in items)
    if len({d.path for d in out}) != len(out):
        raise DisclosureError("a path is disclosed twice")
    return out


# ------------------------------------------------------------------------------ sealing

EncryptionKey = X25519PrivateKey
EncryptionPublicKey = X25519PublicKey


def generate_encryption_key() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def encryption_public_bytes(key: X25519PrivateKey | X25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, X25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def encryption_key_id(key: X25519PrivateKey | X25519PublicKey | bytes) -> str:
    """First 16 bytes of SHA-256 over the raw 32-byte X25519 public key, lowercase hex."""
    raw = key if isinstance(key, bytes) else encryption_public_bytes(key)
    return hashlib.sha256(raw).hexdigest()[:32]


def encryption_public_from_hex(text: str) -> X25519PublicKey:
    try:
        raw = bytes.fromhex(text)
    except ValueError as exc:
        raise EncodingError("encryption key is not hexadecimal") from exc
    if len(raw) != 32:
        raise EncodingError(f"an X25519 public key is 32 bytes, not {len(raw)}")
    return X25519PublicKey.from_public_bytes(raw)


def _box_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral + recipient, info=SEAL_INFO)
    return hkdf.derive(shared)


def _aad(record_id: str, kid: bytes) -> bytes:
    if not _HEX64.match(record_id):
        raise DisclosureError("a sealed box belongs to a record id (64 lowercase hex)")
    return SEAL_PREFIX + bytes.fromhex(record_id) + kid


def seal(disclosures: Iterable[Disclosure], *, to: X25519PublicKey, record_id: str) -> bytes:
    """``SEAL_PREFIX ‖ recipient key id (16) ‖ ephemeral public key (32) ‖ ciphertext``,
    the ciphertext being ChaCha20-Poly1305 of the encoded disclosures under a key derived
    from a fresh ephemeral X25519 exchange (nonce zero: the key is never reused)."""
    recipient = encryption_public_bytes(to)
    kid = bytes.fromhex(encryption_key_id(recipient))
    ephemeral = X25519PrivateKey.generate()
    eph = encryption_public_bytes(ephemeral)
    key = _box_key(ephemeral.exchange(to), eph, recipient)
    body = ChaCha20Poly1305(key).encrypt(
        bytes(12), encode_disclosures(disclosures), _aad(record_id, kid)
    )
    return SEAL_PREFIX + kid + eph + body


def sealed_key_id(box: bytes) -> str:
    """The id of the encryption key a box is sealed to (to pick the key after a rotation)."""
    if not box.startswith(SEAL_PREFIX) or len(box) < len(SEAL_PREFIX) + 16 + 32 + 16:
        raise DisclosureError("not a sealed box")
    start = len(SEAL_PREFIX)
    return box[start : start + 16].hex()


def unseal(box: bytes, *, key: X25519PrivateKey, record_id: str) -> tuple[Disclosure, ...]:
    """The disclosures in ``box``, sealed to ``key`` for the record ``record_id``."""
    if len(box) > MAX_SEALED_BYTES:
        raise DisclosureError(f"a sealed box is at most {MAX_SEALED_BYTES} bytes")
    kid = sealed_key_id(box)
    recipient = encryption_public_bytes(key)
    if kid != encryption_key_id(recipient):
        raise DisclosureError("the box is sealed to another encryption key", key=kid)
    start = len(SEAL_PREFIX) + 16
    eph = box[start : start + 32]
    try:
        shared = key.exchange(X25519PublicKey.from_public_bytes(eph))
        raw = ChaCha20Poly1305(_box_key(shared, eph, recipient)).decrypt(
            bytes(12), box[start + 32 :], _aad(record_id, bytes.fromhex(kid))
        )
    except (InvalidTag, ValueError) as exc:
        raise DisclosureError("the box does not open: altered, or for another record") from exc
    return decode_disclosures(raw)


# ------------------------------------------------------------------ at rest, at the hub

DATA_KEY_BYTES = 32
_AT_REST = b"vn-dossier/at-rest/v1\n"
_LOOKUP_INFO = b"vn-dossier/lookup/v1"


def encrypt_at_rest(data_key: bytes, disclosure: Disclosure, *, record_id: str) -> bytes:
    """``nonce (12) ‖ ChaCha20-Poly1305(data key, encoded disclosure)``, bound to the record
    and the path: what the hub stores, so that a dump of its tables reveals nothing."""
    nonce = secrets.token_bytes(12)
    aad = _AT_REST + record_id.encode("ascii") + b"\n" + disclosure.path.encode("ascii")
    return nonce + ChaCha20Poly1305(data_key).encrypt(nonce, disclosure.encode(), aad)


def decrypt_at_rest(data_key: bytes, box: bytes, *, record_id: str, path: str) -> Disclosure:
    aad = _AT_REST + record_id.encode("ascii") + b"\n" + path.encode("ascii")
    try:
        raw = ChaCha20Poly1305(data_key).decrypt(box[:12], box[12:], aad)
    except (InvalidTag, ValueError) as exc:
        raise DisclosureError("a stored disclosure does not open with this data key") from exc
    found = Disclosure.from_value(canonical.decode(raw))
    if found.path != path:
        raise DisclosureError("a stored disclosure is filed under another path")
    return found


def lookup_key(data_key: bytes) -> bytes:
    """The key of the keyed hashes the hub looks people up by (derived from the data key)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LOOKUP_INFO).derive(data_key)


def lookup_hash(key: bytes, kind: str, text: str) -> str:
    """HMAC-SHA256 of ``kind`` and a normalised value (e.g. a folded name or an ID number):
    equal values meet, and the table holds no value a dump could read or guess offline."""
    message = kind.encode("ascii") + b"\n" + " ".join(text.lower().split()).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


_TEXT_PREFIX = "enc1:"
_AT_REST_TEXT = b"vn-dossier/at-rest-text/v1\n"


def encrypt_text(data_key: bytes, text: str, *, context: str) -> str:
    """A short personal text (a phone number, a name in an outgoing message) as the hub
    stores it: ``enc1:`` and base64 of nonce ‖ ChaCha20-Poly1305, bound to ``context``."""
    nonce = secrets.token_bytes(12)
    aad = _AT_REST_TEXT + context.encode("utf-8")
    box = nonce + ChaCha20Poly1305(data_key).encrypt(nonce, text.encode("utf-8"), aad)
    return _TEXT_PREFIX + base64.b64encode(box).decode("ascii")


def is_encrypted_text(text: str) -> bool:
    return text.startswith(_TEXT_PREFIX)


def decrypt_text(data_key: bytes, text: str, *, context: str) -> str:
    """The clear text of :func:`encrypt_text` (a text stored before, in clear, is as is)."""
    if not text.startswith(_TEXT_PREFIX):
        return text
    try:
        box = base64.b64decode(text[len(_TEXT_PREFIX) :], validate=True)
        aad = _AT_REST_TEXT + context.encode("utf-8")
        return ChaCha20Poly1305(data_key).decrypt(box[:12], box[12:], aad).decode("utf-8")
    except (InvalidTag, ValueError) as exc:
        raise DisclosureError("a stored text does not open with this data key") from exc
