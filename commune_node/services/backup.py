"""Backing up a commune node's instance folder, and putting a backup back.

A backup (``commune-node backup FILE``) is one file: a consistent snapshot of the database
taken through SQLite's backup API while the desk keeps working, the node's key files, its
``config.py`` and session key, and a manifest (node id, agency code, chain head, time).

A restore (``commune-node restore FILE``) puts those files into an instance folder and
marks the database as **restored** (the setting ``restored``): until the node has
reconciled with its hub (:mod:`commune_node.services.reconcile`), the desk numbers new
dossiers from :data:`RESTORED_SERIAL_FROM` up, so that no code the lost copy gave out after
the backup can be given to a second citizen.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from common_io import backup as archive
from common_io import cipher
from commune_node.vault import Vault

DATABASE = "node.sqlite3"
INSTANCE_FILES = ("node_key*.pem", "config.py", "secret_key", "vault.json")
RESTORED_SERIAL_FROM = 5001  # the day serial a restored node's first new dossier gets


def make(
    instance: Path, target: Path, *, database: Path, now: datetime, key: bytes | None = None
) -> dict[str, Any]:
    """Write the backup of ``instance`` (its database at ``database``, encrypted under
    ``key`` when given) to ``target``. An encrypted database stays encrypted in the backup,
    under the same key, with the same ``vault.json`` to unlock it."""
    with archive.staging(target.parent) as tmp:
        snapshot = Path(tmp) / DATABASE
        if key is None:
            archive.sqlite_snapshot(database, snapshot)
        else:
            if not database.exists():
                raise archive.BackupError(
                    f"no database at {database}", vi=f"Không có cơ sở dữ liệu tại {database}"
                )
            cipher.snapshot(database, snapshot, key)
        facts = _facts(snapshot, key)
        files = {**archive.existing(instance, INSTANCE_FILES), DATABASE: snapshot}
        manifest = {
            "kind": "commune-node",
            "time": now.isoformat(),
            "encrypted": key is not None,
            **facts,
        }
        archive.write_archive(target, files, manifest)
    return {**manifest, "files": sorted(files)}


def _facts(snapshot: Path, key: bytes | None) -> dict[str, Any]:
    con = cipher.connect(snapshot, key)
    try:
        settings = dict(con.execute("SELECT key, value FROM setting").fetchall())
        head = con.execute("SELECT coalesce(max(seq), 0) FROM event").fetchone()[0]
    finally:
        con.close()
    return {
        "node_id": settings.get("node_id", ""),
        "commune_name": settings.get("commune_name", ""),
        "agency_code": settings.get("agency_code", ""),
        "head_seq": int(head),
        "acked_seq": int(settings.get("acked_seq", "0") or 0),
    }


def restore(
    source: Path,
    instance: Path,
    *,
    force: bool,
    now: datetime,
    key_for: Callable[[Vault], bytes] | None = None,
) -> dict[str, Any]:
    """Put the backup ``source`` into ``instance`` and mark the node restored.

    The folder must hold no node (no database, no key) unless ``force``: then what it held
    is moved aside into ``replaced-<time>/`` inside it, never deleted. An encrypted backup
    is unlocked first by ``key_for`` (given the backup's ``vault.json``): a wrong secret
    changes nothing."""
    manifest = archive.read_manifest(source)
    if manifest.get("kind") != "commune-node":
        raise archive.BackupError(
            f"{source} is a backup of a {manifest.get('kind')}, not of a commune node",
            vi=f"{source} không phải bản sao lưu của máy xã",
        )
    instance.mkdir(parents=True, exist_ok=True)
    present = [p for p in instance.iterdir() if p.name.startswith(("node", "secret_key", "vault"))]
    if present and not force:
        raise archive.BackupError(
            f"{instance} already holds a node ({', '.join(sorted(p.name for p in present))}); "
            "stop it and restore into an empty folder, or add --force to move its files aside",
            vi=f"{instance} đã có dữ liệu của một máy xã; hãy dừng máy và khôi phục vào thư mục "
            "trống, hoặc thêm --force",
        )
    with archive.staging(instance) as tmp:
        archive.read_archive(source, Path(tmp))
        key = None
        if (Path(tmp) / "vault.json").exists():
            if key_for is None:
                raise archive.BackupError("the backup is encrypted and no secret was given")
            key = key_for(Vault(Path(tmp) / "vault.json"))
            try:
                cipher.connect(Path(tmp) / DATABASE, key).close()
            except cipher.WrongKey as exc:
                raise archive.BackupError(
                    "the key file in the backup does not open its database"
                ) from exc
        if present:
            aside = instance / f"replaced-{now.strftime('%Y%m%dT%H%M%S')}"
            aside.mkdir()
            for path in present:
                shutil.move(str(path), aside / path.name)
            manifest["moved_aside"] = str(aside)
        for path in Path(tmp).iterdir():
            path.replace(instance / path.name)
    mark_restored(instance / DATABASE, manifest, now=now, key=key)
    return manifest


def mark_restored(
    database: Path, manifest: dict[str, Any], *, now: datetime, key: bytes | None = None
) -> None:
    """The restore marker: the node knows it may be behind what the hub holds of it."""
    marker = json.dumps(
        {
            "at": now.isoformat(),
            "backup_time": manifest.get("time"),
            "head_seq": manifest.get("head_seq"),
        },
        sort_keys=True,
    )
    con = cipher.connect(database, key)
    try:
        with con:
            upsert = "INSERT OR REPLACE INTO setting (key, value) VALUES (?, ?)"
            con.execute(upsert, ("restored", marker))
            con.execute(upsert, ("last_error", ""))
    finally:
        con.close()
