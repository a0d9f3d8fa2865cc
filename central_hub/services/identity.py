"""The hub's identity: id, signing key, log origin, level; and its settings table."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_hub.models import HubSetting
from common import keys, personal
from common.errors import NotFound
from common_io.keyfile import load_private_key, save_private_key

Clock = Callable[[], datetime]
KEY_FILE = "hub_key.pem"
DATA_KEY_FILE = "data.key"  # the key personal data is encrypted with at rest (hex, 32 bytes)
ENCRYPTION_FILES = "hub_encryption_"  # X25519 keys nodes seal to: <kid>.key, and "current"
LEVELS = ("district", "province", "area")


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class HubIdentity:
    hub_id: str
    key: keys.PrivateKey
    name: str
    level: str  # district | province | area: configuration, not code
    origin: str  # the transparency log's name, in every checkpoint
    data_key: bytes = b""  # personal data at rest (ChaCha20-Poly1305)
    encryption: dict[str, personal.EncryptionKey] = field(default_factory=dict)  # kid → key
    encryption_kid: str = ""  # the key nodes seal to now; older ones still open old boxes

    @property
    def public_hex(self) -> str:
        return keys.public_bytes(self.key).hex()

    @property
    def encryption_public_hex(self) -> str:
        return personal.encryption_public_bytes(self.encryption[self.encryption_kid]).hex()

    @property
    def lookup_key(self) -> bytes:
        return personal.lookup_key(self.data_key)


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")


def load_data_key(instance: Path) -> bytes:
    """The hub's data key, made on first use (``data.key`` in the instance folder)."""
    path = instance / DATA_KEY_FILE
    if not path.exists():
        _write_secret(path, secrets.token_bytes(personal.DATA_KEY_BYTES).hex())
    raw = bytes.fromhex(path.read_text().strip())
    if len(raw) != personal.DATA_KEY_BYTES:
        raise ValueError(f"{path}: the data key is {personal.DATA_KEY_BYTES} bytes in hex")
    return raw


def new_encryption_key(instance: Path) -> str:
    """Make a new encryption key pair and make it the current one; returns its key id."""
    key = personal.generate_encryption_key()
    kid = personal.encryption_key_id(key)
    raw = key.private_bytes_raw().hex()
    _write_secret(instance / f"{ENCRYPTION_FILES}{kid}.key", raw)
    tmp = instance / f"{ENCRYPTION_FILES}current.tmp"
    tmp.write_text(kid + "\n")
    tmp.replace(instance / f"{ENCRYPTION_FILES}current")
    return kid


def encryption_key_files(instance: Path) -> dict[str, datetime]:
    """Key id → when its private key file was written, for every key the folder holds."""
    out = {}
    for path in sorted(instance.glob(f"{ENCRYPTION_FILES}*.key")):
        key = personal.X25519PrivateKey.from_private_bytes(bytes.fromhex(path.read_text().strip()))
        out[personal.encryption_key_id(key)] = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return out


def destroy_encryption_key(instance: Path, kid: str) -> bool:
    """Overwrite and delete the private key file of the old encryption key ``kid`` (never
    the current one); True if there was one. Boxes sealed to it no longer open anywhere."""
    current = (instance / f"{ENCRYPTION_FILES}current").read_text().strip()
    if kid == current:
        raise ValueError("the current encryption key is not destroyed; rotate first")
    path = instance / f"{ENCRYPTION_FILES}{kid}.key"
    if not path.exists():
        return False
    size = path.stat().st_size
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, b"\0" * size)
        os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink()
    fd = os.open(instance, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def load_encryption_keys(instance: Path) -> tuple[dict[str, personal.EncryptionKey], str]:
    """Every encryption key the hub has had (old ones open older sealed boxes) and the id
    of the current one; the first key is made on first use."""
    current_file = instance / f"{ENCRYPTION_FILES}current"
    if not current_file.exists():
        new_encryption_key(instance)
    ring: dict[str, personal.EncryptionKey] = {}
    for path in sorted(instance.glob(f"{ENCRYPTION_FILES}*.key")):
        key = personal.X25519PrivateKey.from_private_bytes(bytes.fromhex(path.read_text().strip()))
        ring[personal.encryption_key_id(key)] = key
    current = current_file.read_text().strip()
    if current not in ring:
        raise ValueError(f"{instance}: the current encryption key {current} is missing")
    return ring, current


def get_setting(session: Session, key: str, default: str | None = None) -> str | None:
    row = session.get(HubSetting, key)
    return row.value if row else default


def set_setting(session: Session, key: str, value: str) -> None:
    row = session.get(HubSetting, key)
    if row is None:
        session.add(HubSetting(key=key, value=value))
    else:
        row.value = value


def create_identity(session: Session, instance: Path, *, name: str, level: str) -> HubIdentity:
    key = keys.generate()
    save_private_key(instance / KEY_FILE, key)
    hub_id = keys.key_id(key)
    origin = f"vn-dossier-hub/{hub_id}"
    for k, v in (("hub_id", hub_id), ("name", name), ("level", level), ("origin", origin)):
        set_setting(session, k, v)
    ring, kid = load_encryption_keys(instance)
    made = HubIdentity(hub_id, key, name, level, origin, load_data_key(instance), ring, kid)
    _register(made)
    return made


def load_identity(session: Session, instance: Path) -> HubIdentity:
    settings = {s.key: s.value for s in session.scalars(select(HubSetting))}
    if "hub_id" not in settings:
        raise NotFound(
            "this hub has not been initialised; run: central-hub init",
            vi="Máy chủ chưa được khởi tạo; chạy lệnh: central-hub init",
        )
    ring, kid = load_encryption_keys(instance)
    loaded = HubIdentity(
        hub_id=settings["hub_id"],
        key=load_private_key(instance / KEY_FILE),
        name=settings["name"],
        level=settings["level"],
        origin=settings["origin"],
        data_key=load_data_key(instance),
        encryption=ring,
        encryption_kid=kid,
    )
    _register(loaded)
    return loaded


# hub id → identity, as this process loaded it: services that hold only a session (the
# personal data kept apart, :mod:`disclosures`) find the hub's keys here.
LOADED: dict[str, HubIdentity] = {}


def _register(hub: HubIdentity) -> None:
    LOADED[hub.hub_id] = hub
