"""The node's database file as storage: a full disk and a damaged file, in plain words.

SQLite refuses a write on a full disk (``database or disk is full``) and rolls the
transaction back, so the database stays intact; the officer must be told that the disk is
full and what to do, not "system error". A damaged file (``database disk image is
malformed``, or a failed ``PRAGMA quick_check`` at start) must stop intake until it is put
back from a backup.
"""

from __future__ import annotations

import errno
import sqlite3

from flask import Flask
from sqlalchemy.exc import DBAPIError

from common.errors import DossierError
from common_io.database import Database


class DiskFull(DossierError):
    code = "disk_full"
    status = 507
    en = (
        "The disk of this computer is full: nothing was saved (what was saved before is "
        "intact). Free space on the disk (delete or move old files, empty the recycle bin), "
        "then try again."
    )
    vi = (
        "Ổ đĩa của máy tính đã đầy: thao tác chưa được lưu (dữ liệu đã lưu trước đó vẫn "
        "nguyên vẹn). Hãy giải phóng dung lượng (xoá hoặc chuyển tệp cũ, dọn thùng rác) rồi "
        "thử lại."
    )


class DatabaseDamaged(DossierError):
    code = "database_damaged"
    status = 503
    en = (
        "The database file of this computer is damaged; the desk takes no dossiers until it "
        "is put back. Stop the desk and restore the latest backup (commune-node restore "
        "BACKUP_FILE), then run commune-node verify-log and commune-node repair; the hub "
        "gives back what it holds. Tell the hub administrator."
    )
    vi = (
        "Tệp cơ sở dữ liệu của máy bị hỏng; quầy tạm ngừng nhận hồ sơ cho đến khi khôi phục. "
        "Hãy dừng quầy, khôi phục bản sao lưu gần nhất (commune-node restore TỆP_SAO_LƯU), "
        "rồi chạy commune-node verify-log và commune-node repair. Báo quản trị viên cấp trên."
    )


FULL = ("database or disk is full", "disk full", "no space left on device")
DAMAGED = ("database disk image is malformed", "file is not a database", "malformed")


def classify(exc: BaseException) -> DossierError | None:
    """A full disk or a damaged file behind ``exc`` (walking its causes), else None. Only
    what the database driver or the operating system says counts (SQLite's own errors, or
    ``ENOSPC``), never an error that merely mentions a disk."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, DiskFull | DatabaseDamaged):
            return seen
        if isinstance(seen, OSError) and seen.errno == errno.ENOSPC:
            return DiskFull()
        if isinstance(seen, sqlite3.Error | DBAPIError):
            text = str(seen).lower()
            if any(word in text for word in FULL):
                return DiskFull()
            if any(word in text for word in DAMAGED):
                return DatabaseDamaged()
        seen = seen.__cause__ or seen.__context__
    return None


def quick_check(db: Database) -> str | None:
    """``PRAGMA quick_check`` of the database: None when it says ok, else what it found."""
    try:
        with db.engine.connect() as conn:
            rows = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA quick_check").fetchall()]
    except Exception as exc:
        return str(exc)[:500]
    if rows == ["ok"]:
        return None
    return "; ".join(rows)[:500]


def damaged_database_message(exc: BaseException) -> str:
    known = classify(exc)
    if isinstance(known, DiskFull):
        return f"{known.en}\n{known.vi}"
    found = DatabaseDamaged()
    return f"{found.en}\n{found.vi}\n({exc})"[:2000]


def check_at_start(app: Flask) -> str | None:
    """``PRAGMA quick_check`` when the desk starts: a damaged file is remembered, and every
    request is then answered with :class:`DatabaseDamaged` (503, the way out) instead of
    taking dossiers into it. Returns what the check found (None: sound)."""
    found = quick_check(app.extensions["db"])
    app.extensions["database_damaged"] = found
    return found
