"""The desk's data key: the one random 256-bit key that encrypts the node's database
(SQLCipher, :mod:`common_io.cipher`) and its private key files, never on disk in the clear.

The instance folder's ``vault.json`` holds the data key *wrapped* (AES-256-GCM) several
times: once per officer under a key derived from that officer's password, and once under
the admin recovery secret printed at ``commune-node init``. Each wrapping key comes from
scrypt (RFC 7914; n = 2**17, r = 8, p = 1, a random 16-byte salt per wrap, 128 MiB and
about half a second per try), the wrap's label (``officer:<user name>`` or ``recovery``) is
the AES-GCM associated data, so a wrap cannot be moved to another label.

After a process start the desk is **locked**: the key is in no memory. The first officer
who logs in unwraps it with their password (:func:`unlock_app`); commands unlock with the
recovery secret or ``USER:PASSWORD`` (``COMMUNE_NODE_UNLOCK``, ``--unlock-stdin`` or a
prompt). The private key files are encrypted PKCS#8 PEM under a passphrase derived from the
data key (HKDF-SHA256), registered with :mod:`common_io.keyfile` while the desk is open.

A node set up before encryption keeps working on its plain database until ``commune-node
encrypt``; a test configuration may give the data key directly (``DATABASE_KEY``).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from flask import Flask

from common.errors import DossierError
from common_io import cipher, keyfile

FILE = "vault.json"
FORMAT = "vn-dossier/node-vault/v1"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
RECOVERY = "recovery"
UNLOCK_ENV = "COMMUNE_NODE_UNLOCK"
_UNLOCKING = threading.Lock()


class DeskLocked(DossierError):
    code = "desk_locked"
    status = 503
    en = (
        "This desk is locked: its data stays encrypted until an officer logs in after the "
        "computer or the desk was started. Log in to unlock."
    )
    vi = (
        "Quầy đang khoá: dữ liệu được mã hoá cho đến khi một cán bộ đăng nhập sau khi khởi "
        "động máy hoặc quầy. Hãy đăng nhập để mở khoá."
    )


class WrongSecret(DossierError):
    code = "wrong_secret"
    status = 401
    en = "This password or recovery secret does not unlock this desk's data."
    vi = "Mật khẩu hoặc mã khôi phục này không mở được dữ liệu của quầy."


def officer_label(username: str) -> str:
    return f"officer:{username}"


def new_key() -> bytes:
    return secrets.token_bytes(cipher.KEY_BYTES)


def new_recovery_secret() -> str:
    """160 random bits in base32, in groups of four: ``ABCD-EFGH-…`` (8 groups)."""
    text = base64.b32encode(secrets.token_bytes(20)).decode()
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def _normal_recovery(secret: str) -> str:
    return "".join(ch for ch in secret.upper() if ch.isalnum())


def pem_passphrase(key: bytes) -> bytes:
    """The passphrase of the node's private key files, derived from the data key."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"vn-dossier node keys")
    return hkdf.derive(key).hex().encode()


def _kek(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret.encode("utf-8"))


def wrap(key: bytes, secret: str, label: str) -> dict[str, Any]:
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    kek = _kek(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    sealed = AESGCM(kek).encrypt(nonce, key, label.encode())
    return {
        "kdf": "scrypt",
        "n": SCRYPT_N,
        "r": SCRYPT_R,
        "p": SCRYPT_P,
        "salt": base64.b64encode(salt).decode(),
        "nonce": base64.b64encode(nonce).decode(),
        "wrapped": base64.b64encode(sealed).decode(),
    }


def unwrap(entry: dict[str, Any], secret: str, label: str) -> bytes:
    kek = _kek(
        secret, base64.b64decode(entry["salt"]), int(entry["n"]), int(entry["r"]), int(entry["p"])
    )
    try:
        return AESGCM(kek).decrypt(
            base64.b64decode(entry["nonce"]), base64.b64decode(entry["wrapped"]), label.encode()
        )
    except InvalidTag as exc:
        raise WrongSecret() from exc


@dataclass
class Vault:
    """The file ``vault.json``: the data key's wraps, by label."""

    path: Path
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def exists(self) -> bool:
        return self.path.exists()

    def wraps(self) -> dict[str, dict[str, Any]]:
        data = json.loads(self.path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise WrongSecret(f"{self.path} is not a key file of this product")
        wraps: dict[str, dict[str, Any]] = data["wraps"]
        return wraps

    def _write(self, wraps: dict[str, dict[str, Any]]) -> None:
        body = json.dumps({"format": FORMAT, "wraps": wraps}, indent=2, sort_keys=True) + "\n"
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, body.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)

    def create(self, key: bytes, *, recovery: str, officers: dict[str, str]) -> None:
        if self.path.exists():
            raise WrongSecret(f"{self.path} already exists; refusing to replace the desk's key")
        wraps = {RECOVERY: wrap(key, _normal_recovery(recovery), RECOVERY)}
        for username, password in officers.items():
            wraps[officer_label(username)] = wrap(key, password, officer_label(username))
        self._write(wraps)

    def has(self, label: str) -> bool:
        return label in self.wraps()

    def put(self, label: str, secret: str, key: bytes) -> None:
        """Wrap ``key`` for ``label`` (a new officer, a changed password)."""
        entry = wrap(key, secret, label)
        with self._lock:
            wraps = self.wraps()
            wraps[label] = entry
            self._write(wraps)

    def drop(self, label: str) -> None:
        with self._lock:
            wraps = self.wraps()
            if wraps.pop(label, None) is not None:
                self._write(wraps)

    def open_as_officer(self, username: str, password: str) -> bytes:
        entry = self.wraps().get(officer_label(username))
        if entry is None:
            # spend the same time as a wrong password: user names are not probed by timing
            _kek(password, b"\0" * 16, SCRYPT_N, SCRYPT_R, SCRYPT_P)
            raise WrongSecret()
        return unwrap(entry, password, officer_label(username))

    def open_with_recovery(self, secret: str) -> bytes:
        return unwrap(self.wraps()[RECOVERY], _normal_recovery(secret), RECOVERY)

    def open_with(self, text: str) -> bytes:
        """``USER:PASSWORD`` of an officer, or the recovery secret."""
        text = text.strip("\r\n")
        if ":" in text:
            username, _, password = text.partition(":")
            return self.open_as_officer(username.strip().lower(), password)
        return self.open_with_recovery(text)


@dataclass
class DeskKey:
    """The app's view of the data key: whether the database is encrypted, and the key once
    unlocked (in memory only)."""

    instance: Path
    vault: Vault | None
    encrypted: bool
    _key: bytes | None = None
    on_unlock: list[Any] = field(default_factory=list)

    @property
    def locked(self) -> bool:
        return self.encrypted and self._key is None

    def key(self) -> bytes:
        if self._key is None:
            raise DeskLocked()
        return self._key

    def key_or_none(self) -> bytes | None:
        return self._key

    def open(self, key: bytes) -> None:
        self._key = key
        keyfile.register_passphrase(self.instance, pem_passphrase(key))
        encrypt_key_files(self.instance)


def encrypt_key_files(instance: Path) -> list[Path]:
    """Write every plain ``node_key*.pem`` of ``instance`` again, encrypted (the folder's
    passphrase is registered). Returns the files encrypted now."""
    done = []
    for path in sorted(instance.glob("node_key*.pem")):
        if not keyfile.is_encrypted(path):
            keyfile.save_private_key(path, keyfile.load_private_key(path), replace=True)
            done.append(path)
    return done


def encrypt_instance(
    instance: Path, database: Path, key: bytes, *, recovery: str, officers: dict[str, str]
) -> dict[str, int]:
    """Encrypt the plain database ``database`` of ``instance`` and its key files in place
    under ``key`` (``commune-node encrypt``). The encrypted copy is checked row for row
    against the plain file before it replaces it; the key file is written first as
    ``vault.json.pending`` and named ``vault.json`` once the database is encrypted, so an
    interruption leaves either the plain node or the encrypted one. Returns the rows per
    table."""
    if not cipher.is_plain_sqlite(database):
        raise WrongSecret(f"{database} is not a plain SQLite database")
    tmp = database.with_name(database.name + ".encrypting")
    tmp.unlink(missing_ok=True)
    cipher.encrypt_copy(database, tmp, key)
    rows = _rows(database, None)
    if _rows(tmp, key) != rows:
        tmp.unlink()
        raise WrongSecret("the encrypted copy differs from the database; nothing was changed")
    pending = instance / (FILE + ".pending")
    pending.unlink(missing_ok=True)
    Vault(pending).create(key, recovery=recovery, officers=officers)
    os.replace(tmp, database)
    for suffix in ("-wal", "-shm", "-journal"):
        Path(str(database) + suffix).unlink(missing_ok=True)
    os.replace(pending, instance / FILE)
    keyfile.register_passphrase(instance, pem_passphrase(key))
    encrypt_key_files(instance)
    fd = os.open(instance, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return rows


def _rows(path: Path, key: bytes | None) -> dict[str, int]:
    con = cipher.connect(path, key)
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        con.close()


def desk_key(app: Flask) -> DeskKey:
    desk: DeskKey = app.extensions["desk_key"]
    return desk


def for_instance(instance: Path, configured: str | None) -> DeskKey:
    """The data key set-up of ``instance``: encrypted when it has a ``vault.json`` or the
    configuration gives ``DATABASE_KEY`` (hex; then open at once)."""
    path = instance / FILE
    pending = instance / (FILE + ".pending")
    database = instance / "node.sqlite3"
    swapped = database.exists() and not cipher.is_plain_sqlite(database)
    if not path.exists() and pending.exists() and swapped:  # ``encrypt`` stopped after the swap
        os.replace(pending, path)
    vault = Vault(path) if path.exists() else None
    desk = DeskKey(instance, vault, encrypted=vault is not None or bool(configured))
    if configured:
        desk.open(bytes.fromhex(configured))
    return desk


def unlock_app(app: Flask, key: bytes) -> None:
    """Open the desk with ``key``: checked against the database, then every step waiting
    for the key runs (the schema upgrade ``commune-node run`` put off)."""
    desk = desk_key(app)
    with _UNLOCKING:
        if desk._key is not None:
            return
        url = app.extensions["db"].engine.url  # commune_node.db made it
        if url.database and Path(url.database).exists():
            try:
                cipher.connect(url.database, key).close()
            except cipher.WrongKey as exc:  # a key file of another database: stay locked
                raise WrongSecret(
                    "this key does not open the database", vi="khoá không mở được CSDL"
                ) from exc
        desk.open(key)
        steps, desk.on_unlock = desk.on_unlock, []
        for step in steps:
            step()


def password_set(app: Flask, username: str, password: str) -> None:
    """An officer's password was set: wrap the data key for it (the desk is open)."""
    desk = desk_key(app)
    if desk.vault is not None and desk.key_or_none() is not None:
        desk.vault.put(officer_label(username), password, desk.key())
