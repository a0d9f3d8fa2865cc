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
from common_io.keyfile import load_private_key, save_private_key
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
    settings = {s.key: s.value for s in session.scalars(select(Setting))}
    if "node_id" not in settings:
        raise NotFound(
            "this node has not been initialised; run: commune-node init",
            vi="Nút chưa được khởi tạo; chạy lệnh: commune-node init",
        )
    return NodeIdentity(
        node_id=settings["node_id"],
        key=load_private_key(instance / KEY_FILE),
        commune_name=settings["commune_name"],
        agency_code=settings["agency_code"],
    )


def latest_anchor(session: Session) -> Anchor | None:
    """The newest hub checkpoint this node has verified, which every new record commits to."""
    size = get_setting(session, "anchor_size")
    root = get_setting(session, "anchor_root")
    if size is None or root is None:
        return None
    return Anchor(int(size), root)
