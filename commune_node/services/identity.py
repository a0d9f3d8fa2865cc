"""Who this node is: its id, signing key, commune and agency code, and its clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import keys
from common.errors import NotFound
from common.record import Anchor
from common_io.keyfile import KeyFileError, load_private_key, save_private_key
from commune_node.models import Setting

Clock = Callable[[], datetime]
KEY_FILE = "node_key.pem"


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class NodeIdentity:
    node_id: str
    key: keys.PrivateKey
    commune_name: str
    agency_code: str

    @property
    def key_id(self) -> str:
        return keys.key_id(self.key)


def get_setting(session: Session, key: str, default: str | None = None) -> str | None:
    row = session.get(Setting, key)
    return row.value if row else default


def set_setting(session: Session, key: str, value: str) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value


def create_identity(
    session: Session, instance: Path, *, commune_name: str, agency_code: str
) -> NodeIdentity:
    """Generate the node key (file mode 0600) and record the node's identity settings."""
    key = keys.generate()
    save_private_key(instance / KEY_FILE, key)
    node_id = keys.key_id(key)
    set_setting(session, "node_id", node_id)
    set_setting(session, "commune_name", commune_name)
    set_setting(session, "agency_code", agency_code)
    return NodeIdentity(node_id, key, commune_name, agency_code)


def load_identity(session: Session, instance: Path) -> NodeIdentity:
    """The node's identity with its current key: the one the setting ``key_id`` names (set by
    a rotation), else the key made at init."""
    settings = {s.key: s.value for s in session.scalars(select(Setting))}
    if "node_id" not in settings:
        raise NotFound(
            "this node has not been initialised; run: commune-node init",
            vi="Nút chưa được khởi tạo; chạy lệnh: commune-node init",
        )
    current = settings.get("key_id")
    return NodeIdentity(
        node_id=settings["node_id"],
        key=load_key(instance, current) if current else load_private_key(instance / KEY_FILE),
        commune_name=settings["commune_name"],
        agency_code=settings["agency_code"],
    )


def current_key_id(session: Session) -> str | None:
    """The id of the key that signs new records, if a rotation named it (None: the key made
    at init, ``node_key.pem``, still signs)."""
    return get_setting(session, "key_id") or None


def key_path(instance: Path, key_id: str) -> Path | None:
    """The file holding the private key ``key_id``: ``node_key.<id>.pem`` (a key a rotation
    brought in), or ``node_key.pem`` (the key made at init, or on a node that rotated before
    keys were kept by id, the current one). None when no file holds it (deleted once the hub
    acknowledged the rotation that replaced it)."""
    by_id = instance / f"node_key.{key_id}.pem"
    if by_id.exists():
        return by_id
    first = instance / KEY_FILE
    if first.exists() and keys.key_id(load_private_key(first)) == key_id:
        return first
    return None


def load_key(instance: Path, key_id: str) -> keys.PrivateKey:
    path = key_path(instance, key_id)
    if path is None:
        raise KeyFileError(
            f"no key file in {instance} holds key {key_id}",
            vi=f"Không có tệp khoá nào trong {instance} chứa khoá {key_id}",
        )
    return load_private_key(path)


def key_files(instance: Path) -> list[Path]:
    """Every private key file of the node in its instance folder."""
    return sorted(instance.glob("node_key*.pem"))


def latest_anchor(session: Session) -> Anchor | None:
    """The newest hub checkpoint this node has verified, which every new record commits to."""
    size = get_setting(session, "anchor_size")
    root = get_setting(session, "anchor_root")
    if size is None or root is None:
        return None
    return Anchor(int(size), root)
