"""Ed25519 keys: generate, identify, serialise, sign and verify (no file I/O here).

A key id is the first 128 bits of SHA-256 over the raw 32-byte public key, in lowercase hex.
A node's id is the key id of the first key it ever had, so a node can sign records before it
has talked to any hub, and its id stays the same when it rotates keys.
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from common.errors import EncodingError, SignatureError

PrivateKey = Ed25519PrivateKey
PublicKey = Ed25519PublicKey


def generate() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_bytes(key: Ed25519PublicKey | Ed25519PrivateKey) -> bytes:
    """The raw 32-byte public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_from_bytes(raw: bytes) -> Ed25519PublicKey:
    if len(raw) != 32:
        raise EncodingError(f"an Ed25519 public key is 32 bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_from_hex(text: str) -> Ed25519PublicKey:
    try:
        raw = bytes.fromhex(text)
    except ValueError as exc:
        raise EncodingError("public key is not hexadecimal") from exc
    return public_from_bytes(raw)


def key_id(key: Ed25519PublicKey | Ed25519PrivateKey | bytes) -> str:
    raw = key if isinstance(key, bytes) else public_bytes(key)
    return hashlib.sha256(raw).hexdigest()[:32]


def fingerprint(key: Ed25519PublicKey | Ed25519PrivateKey | bytes) -> str:
    """A key's fingerprint for people to compare by eye: its key id (first 16 bytes of
    SHA-256 of the raw public key, lowercase hex) in eight groups of four digits."""
    kid = key_id(key)
    return " ".join(kid[i : i + 4] for i in range(0, 32, 4))


def private_to_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def private_from_pem(data: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise EncodingError("the key file does not hold an Ed25519 private key")
    return key


def sign(key: Ed25519PrivateKey, message: bytes) -> bytes:
    return key.sign(message)


def verify(public: Ed25519PublicKey, signature: bytes, message: bytes) -> None:
    """Raise :class:`SignatureError` unless ``signature`` is valid for ``message``."""
    if len(signature) != 64:
        raise SignatureError(f"an Ed25519 signature is 64 bytes, not {len(signature)}")
    try:
        public.verify(signature, message)
    except InvalidSignature as exc:
        raise SignatureError() from exc
