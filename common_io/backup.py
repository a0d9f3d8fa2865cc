"""Backup files of a node or a hub: one ``.tar.gz`` holding a ``manifest.json`` and the
instance's files, each with its SHA-256 in the manifest.

* :func:`sqlite_snapshot` copies a live SQLite database through SQLite's backup API: the
  copy is one consistent state, with the writes still in the WAL, taken while the desk or
  the hub goes on writing (copying the ``.sqlite3`` file alone loses them or tears pages).
* :func:`pg_dump` / :func:`pg_restore` run PostgreSQL's own tools (custom format); when they
  are not installed, :class:`BackupError` says so.
* :func:`write_archive` / :func:`read_archive` pack and unpack, checking every file against
  the manifest, refusing anything but plain files named in it.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from common.errors import DossierError

MANIFEST = "manifest.json"
FORMAT = "vn-dossier/backup/v1"


class BackupError(DossierError):
    code = "backup_failed"
    status = 400
    en = "The backup could not be made or read."
    vi = "Không tạo hoặc đọc được bản sao lưu."


def sqlite_snapshot(source: Path, target: Path) -> None:
    """A consistent copy of the live SQLite database ``source`` (WAL included) in ``target``."""
    if not source.exists():
        raise BackupError(f"no database at {source}", vi=f"Không có cơ sở dữ liệu tại {source}")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst, pages=1024)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        dst.close()
        src.close()


def libpq_url(url: str) -> str:
    """An SQLAlchemy PostgreSQL URL as PostgreSQL's tools take it (no ``+driver``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def require_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"PostgreSQL's {name} is not installed on this computer: install the PostgreSQL "
            f"client tools (Debian/Ubuntu: apt install postgresql-client) and try again",
            vi=f"Máy chưa cài công cụ {name} của PostgreSQL (apt install postgresql-client).",
        )
    return found


def pg_dump(url: str, target: Path) -> None:
    """``pg_dump --format=custom`` of the database ``url`` into ``target``."""
    _run(
        [
            require_tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            f"--file={target}",
            libpq_url(url),
        ]
    )


def pg_restore(url: str, source: Path) -> None:
    """``pg_restore --clean --if-exists`` of ``source`` into the database ``url``."""
    _run(
        [
            require_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            f"--dbname={libpq_url(url)}",
            str(source),
        ]
    )


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(
            f"{Path(argv[0]).name} failed: {done.stderr.strip()[:500]}",
            vi=f"{Path(argv[0]).name} không thành công",
        )


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_archive(target: Path, files: dict[str, Path], manifest: dict[str, Any]) -> None:
    """Write ``files`` (archive name → file) and the manifest into ``target`` (mode 0600),
    through a temporary file renamed at the end: a cut backup leaves no half file."""
    manifest = {
        "format": FORMAT,
        **manifest,
        "files": {name: sha256_of(path) for name, path in sorted(files.items())},
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    with tarfile.open(partial, "w:gz") as tar:
        data = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        info.mode = 0o600
        tar.addfile(info, io.BytesIO(data))
        for name, path in sorted(files.items()):
            tar.add(path, arcname=name, recursive=False)
    partial.chmod(0o600)
    partial.replace(target)


def read_manifest(source: Path) -> dict[str, Any]:
    try:
        with tarfile.open(source, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            manifest: dict[str, Any] = json.loads(member.read())
    except (OSError, KeyError, tarfile.TarError, ValueError) as exc:
        raise BackupError(
            f"{source} is not a backup file of this system ({exc})",
            vi=f"{source} không phải tệp sao lưu của hệ thống",
        ) from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source}: unknown backup format", vi="Định dạng sao lưu không rõ")
    return manifest


def read_archive(source: Path, into: Path) -> dict[str, Any]:
    """Unpack the files the manifest names into the folder ``into`` (new, empty), checking
    each one's SHA-256; returns the manifest."""
    manifest = read_manifest(source)
    names: dict[str, str] = manifest.get("files", {})
    with tarfile.open(source, "r:gz") as tar:
        for member in tar.getmembers():
            if member.name == MANIFEST:
                continue
            if member.name not in names or not member.isfile() or "/" in member.name:
                raise BackupError(
                    f"{source}: unexpected entry {member.name!r}",
                    vi=f"Tệp sao lưu có mục lạ {member.name!r}",
                )
            data = tar.extractfile(member)
            assert data is not None
            out = into / member.name
            with out.open("wb") as f:
                shutil.copyfileobj(data, f)
            out.chmod(0o600)
    for name, digest in names.items():
        path = into / name
        if not path.exists() or sha256_of(path) != digest:
            raise BackupError(
                f"{source}: {name} is missing or damaged", vi=f"{name} bị thiếu hoặc hỏng"
            )
    return manifest


def staging(near: Path) -> tempfile.TemporaryDirectory[str]:
    """A private temporary folder next to ``near`` (same disk: files are moved, not copied)."""
    near.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix=".backup-", dir=near)


def existing(folder: Path, patterns: Iterable[str]) -> dict[str, Path]:
    """The files of ``folder`` matching ``patterns``, by name."""
    out: dict[str, Path] = {}
    for pattern in patterns:
        for path in sorted(folder.glob(pattern)):
            if path.is_file():
                out[path.name] = path
    return out
