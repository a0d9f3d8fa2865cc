"""Private key files: written atomically with mode 0600, refused when others can read them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from common import keys
from common.errors import DossierError


class KeyFileError(DossierError):
    code = "key_file"
    status = 500
    vi = "Không đọc được tệp khoá bí mật."
    en = "The private key file cannot be used."


def save_private_key(path: Path, key: keys.PrivateKey) -> None:
    """Write ``key`` to ``path`` (mode 0600) without ever leaving a half-written file."""
    if path.exists():
        raise KeyFileError(f"{path} already exists; refusing to overwrite a key")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, keys.private_to_pem(key))
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
    return keys.private_from_pem(path.read_bytes())
