"""Private key files: 0600, atomic, never overwritten, refused when others can read them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from common import keys
from common_io.keyfile import KeyFileError, load_private_key, save_private_key


def test_saved_key_is_private_and_loads_back(tmp_path: Path) -> None:
    key = keys.generate()
    path = tmp_path / "instance" / "node_key.pem"
    save_private_key(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.key_id(load_private_key(path)) == keys.key_id(key)
    assert not list(path.parent.glob("*.tmp"))


def test_existing_key_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    save_private_key(path, keys.generate())
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        save_private_key(path, keys.generate())


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    save_private_key(path, keys.generate())
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_private_key(path)


def test_missing_key_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="init"):
        load_private_key(tmp_path / "nope.pem")
