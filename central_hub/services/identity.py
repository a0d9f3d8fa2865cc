"""The hub's identity: id, signing key, log origin, level; and its settings table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_hub.models import HubSetting
from common import keys
from common.errors import NotFound
from common_io.keyfile import load_private_key, save_private_key

Clock = Callable[[], datetime]
KEY_FILE = "hub_key.pem"
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

    @property
    def public_hex(self) -> str:
        return keys.public_bytes(self.key).hex()


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
    return HubIdentity(hub_id, key, name, level, origin)


def load_identity(session: Session, instance: Path) -> HubIdentity:
    settings = {s.key: s.value for s in session.scalars(select(HubSetting))}
    if "hub_id" not in settings:
        raise NotFound(
            "this hub has not been initialised; run: central-hub init",
            vi="Máy chủ chưa được khởi tạo; chạy lệnh: central-hub init",
        )
    return HubIdentity(
        hub_id=settings["hub_id"],
        key=load_private_key(instance / KEY_FILE),
        name=settings["name"],
        level=settings["level"],
        origin=settings["origin"],
    )
