"""Private key files: written atomically with mode 0600, refused when others can read them.

A folder whose keys are kept encrypted (a commune node whose database is encrypted) is
registered with :func:`register_passphrase`: from then on every key file saved in it is an
encrypted PKCS#8 PEM (``BEGIN ENCRYPTED PRIVATE KEY``) under that passphrase, and every key
file read from it is decrypted with it. The passphrase lives in memory only.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common import keys
from common.errors import DossierError

_PASSPHRASES: dict[Path, bytes] = {}


def register_passphrase(folder: Path, passphrase: bytes | None) -> None:
    """Keys saved in (and read from) ``folder`` are encrypted under ``passphrase`` (None:
    forget it)."""
    if passphrase is None:
        _PASSPHRASES.pop(folder.resolve(), None)
    else:
        _PASSPHRASES[folder.resolve()] = passphrase


def passphrase_for(path: Path) -> bytes | None:
    return _PASSPHRASES.get(path.parent.resolve())


def is_encrypted(path: Path) -> bool:
    return path.read_bytes().lstrip().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")


def key_pem(key: keys.PrivateKey, passphrase: bytes | None) -> bytes:
    if passphrase is None:
        return keys.private_to_pem(key)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )


class KeyFileError(DossierError):
    code = "key_file"
    status = 500
    vi = "Không đọc được tệp khoá bí mật."
    en = "The private key file cannot be used."


def save_private_key(path: Path, key: keys.PrivateKey, *, replace: bool = False) -> None:
    """Write ``key`` to ``path`` (mode 0600) without ever leaving a half-written file;
    encrypted when the folder's passphrase is registered. ``replace``: the same key written
    again (encrypting a plain key file in place)."""
    if path.exists() and not replace:
        raise KeyFileError(f"{path} already exists; refusing to overwrite a key")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, key_pem(key, passphrase_for(path)))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load_private_key(path: Path) -> keys.PrivateKey:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise KeyFileError(f"{path} does not exist; run the init command first") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{path} can be read by other users (mode {stat.S_IMODE(mode):o}); "
            f"run: chmod 600 {path}"
        )
    data = path.read_bytes()
    if not data.lstrip().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----"):
        return keys.private_from_pem(data)
    passphrase = passphrase_for(path)
    if passphrase is None:
        raise KeyFileError(
            f"{path} is encrypted and the desk is locked: log in, or give the recovery secret",
            vi=f"{path} được mã hoá và quầy đang khoá: hãy đăng nhập hoặc nhập mã khôi phục",
        )
    try:
        loaded = serialization.load_pem_private_key(data, password=passphrase)
    except ValueError as exc:
        raise KeyFileError(
            f"{path} cannot be decrypted with this desk's key",
            vi=f"Không giải mã được {path} bằng khoá của quầy",
        ) from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise KeyFileError(f"{path} does not hold an Ed25519 private key")
    return loaded
