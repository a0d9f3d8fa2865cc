"""Backing up the hub (``central-hub backup FILE``) and putting a backup back
(``central-hub restore FILE``).

A backup holds the instance's files — the hub key, ``log_head`` (the newest checkpoint the
hub signed), ``hub_records.log`` (its journal), ``config.py``, the session key — and the
database: on SQLite a consistent snapshot through SQLite's backup API, on PostgreSQL a
``pg_dump --format=custom``. The files are copied *before* the database, so the database in
a backup is never older than its ``log_head``: a restored hub opens a log recovery only when
the communes witnessed more than the backup holds, never for the backup's own lag.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from common_io import backup as archive

SQLITE_FILE = "hub.sqlite3"
PG_FILE = "hub.pgdump"
INSTANCE_FILES = (
    "hub_key*.pem",
    "log_head",
    "hub_records.log",
    "config.py",
    "secret_key",
    "data.key",  # personal data at rest: without it the disclosures cannot be read
    "hub_encryption_*",  # the keys nodes seal personal data to (old ones too)
)


def default_url(instance: Path) -> str:
    return f"sqlite:///{instance / SQLITE_FILE}"


def make(
    instance: Path, target: Path, *, url: str, facts: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """Write the backup of the hub in ``instance`` (database ``url``) to ``target``."""
    with archive.staging(target.parent) as tmp:
        files: dict[str, Path] = {}
        for name, path in archive.existing(instance, INSTANCE_FILES).items():
            copy = Path(tmp) / name
            shutil.copyfile(path, copy)  # first the files, then the database (see above)
            files[name] = copy
        backend = make_url(url).get_backend_name()
        if backend == "sqlite":
            database = make_url(url).database
            assert database
            files[SQLITE_FILE] = Path(tmp) / SQLITE_FILE
            archive.sqlite_snapshot(Path(database), files[SQLITE_FILE])
        else:
            files[PG_FILE] = Path(tmp) / PG_FILE
            archive.pg_dump(url, files[PG_FILE])
        manifest = {"kind": "central-hub", "database": backend, "time": now.isoformat(), **facts}
        archive.write_archive(target, files, manifest)
    return {**manifest, "files": sorted(files)}


def restore(
    source: Path, instance: Path, *, url: str | None, force: bool, now: datetime
) -> dict[str, Any]:
    """Put the backup ``source`` back: its files into ``instance``, its database into
    ``url`` (default: SQLite in the instance). A folder that holds a hub is refused unless
    ``force``; then its files are moved aside into ``replaced-<time>/``."""
    manifest = archive.read_manifest(source)
    if manifest.get("kind") != "central-hub":
        raise archive.BackupError(
            f"{source} is a backup of a {manifest.get('kind')}, not of a hub",
            vi=f"{source} không phải bản sao lưu của máy chủ cấp trên",
        )
    url = url or default_url(instance)
    backend = make_url(url).get_backend_name()
    if (backend == "sqlite") != (manifest.get("database") == "sqlite"):
        raise archive.BackupError(
            f"the backup holds a {manifest.get('database')} database; this hub uses {backend}",
            vi="Loại cơ sở dữ liệu của bản sao lưu khác với máy chủ",
        )
    if backend != "sqlite":
        archive.require_tool("pg_restore")  # before anything is moved
    instance.mkdir(parents=True, exist_ok=True)
    names = [*INSTANCE_FILES, SQLITE_FILE, f"{SQLITE_FILE}-wal", f"{SQLITE_FILE}-shm"]
    present = sorted({p for pattern in names for p in instance.glob(pattern)})
    if present and not force:
        raise archive.BackupError(
            f"{instance} already holds a hub ({', '.join(p.name for p in present)}); stop it "
            "and restore into an empty folder, or add --force to move its files aside",
            vi=f"{instance} đã có dữ liệu của máy chủ; hãy dừng máy chủ và khôi phục vào thư "
            "mục trống, hoặc thêm --force",
        )
    with archive.staging(instance) as tmp:
        archive.read_archive(source, Path(tmp))
        if backend != "sqlite":
            archive.pg_restore(url, Path(tmp) / PG_FILE)
            (Path(tmp) / PG_FILE).unlink()
        if present:
            aside = instance / f"replaced-{now.strftime('%Y%m%dT%H%M%S')}"
            aside.mkdir()
            for path in present:
                shutil.move(str(path), aside / path.name)
            manifest["moved_aside"] = str(aside)
        for path in Path(tmp).iterdir():
            path.replace(instance / path.name)
    return manifest
