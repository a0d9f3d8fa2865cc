"""SQLCipher: an SQLite database file encrypted page by page (AES-256 with an HMAC per page).

The key is a raw 256-bit key (``PRAGMA key = "x'…'"``), so opening a connection costs no
key derivation; where the key comes from is the caller's business (a commune node unwraps it
from its key file, :mod:`commune_node.vault`). Without the key the file is random bytes: no
table name, no row, no index entry can be read, the WAL included.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlcipher3.dbapi2 as dbapi  # type: ignore[import-untyped]

KEY_BYTES = 32
# Set on every encrypted connection; none changes the encryption of a page, the WAL or a
# temporary file (docs/privacy.md, "At rest"):
#  * cipher_memory_security OFF: SQLCipher does not wipe and lock every block of memory it
#    frees. Decrypted pages may stay in freed memory of the desk process until reused, as
#    they stay in its page cache anyway while the desk is unlocked; a wipe and lock on every
#    allocation is a cost the lists would pay. OFF is this build's default; the pragma keeps
#    it so on a build that defaults to ON (docs/benchmarks.md, "Encryption at rest").
#  * temp_store MEMORY: sorts and temporary indexes stay in memory instead of a temporary
#    file SQLCipher would encrypt and decrypt (again this build's default, kept).
#  * cache_size 32 MiB (this build's default: 8 MiB): a page read from the file is decrypted
#    and its HMAC checked; one kept decrypted in the connection's page cache is not. A list's
#    count scans a whole index (11 MiB for 283,000 dossiers), which with 8 MiB evicts itself
#    and is decrypted again at every request. The cache grows only with the pages read.
PERFORMANCE_PRAGMAS = (
    "PRAGMA cipher_memory_security = OFF",
    "PRAGMA temp_store = MEMORY",
    "PRAGMA cache_size = -32768",
)


class WrongKey(Exception):
    """The key does not open this database file (or the file is not a database)."""


def key_pragma(key: bytes) -> str:
    if len(key) != KEY_BYTES:
        raise ValueError("the database key must be 32 bytes")
    return f"PRAGMA key = \"x'{key.hex()}'\""


def connect(path: Path | str, key: bytes | None, **kwargs: Any) -> Any:
    """A DB-API connection to ``path`` opened with ``key`` (None: a plain SQLite file).
    Raises :class:`WrongKey` when the key does not open it."""
    con = dbapi.connect(str(path), **kwargs)
    if key is None:
        return con
    try:
        con.execute("PRAGMA cipher_log_level = NONE")  # a wrong key is reported by us, once
        con.execute(key_pragma(key))
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        for pragma in PERFORMANCE_PRAGMAS:
            con.execute(pragma)
    except dbapi.DatabaseError as exc:
        con.close()
        raise WrongKey(str(exc)) from exc
    return con


def creator(path: Path, key: Callable[[], bytes]) -> Callable[[], Any]:
    """A connection factory for SQLAlchemy's ``creator``: asks ``key()`` for the key at each
    new connection (``key()`` raises while the database is locked)."""

    def make() -> Any:
        return connect(path, key(), check_same_thread=False)

    return make


def is_plain_sqlite(path: Path) -> bool:
    """The file starts with SQLite's clear header ("SQLite format 3")."""
    with open(path, "rb") as f:
        return f.read(16) == b"SQLite format 3\x00"


def encrypt_copy(plain: Path, target: Path, key: bytes) -> None:
    """Write an encrypted copy of the plain database ``plain`` (its WAL checkpointed in
    first) to ``target`` with ``sqlcipher_export``; every table keeps every row."""
    con = dbapi.connect(str(plain))
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        version = con.execute("PRAGMA user_version").fetchone()[0]
        con.execute(f"ATTACH DATABASE ? AS encrypted KEY \"x'{key.hex()}'\"", (str(target),))
        con.execute("SELECT sqlcipher_export('encrypted')")
        con.execute(f"PRAGMA encrypted.user_version = {int(version)}")
        con.execute("DETACH DATABASE encrypted")
    finally:
        con.close()
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def snapshot(source: Path, target: Path, key: bytes) -> None:
    """A consistent encrypted copy of the live encrypted database ``source`` (WAL included)
    in ``target``, under the same key, through SQLite's backup API."""
    src = connect(f"file:{source}?mode=ro", key, uri=True, timeout=30)
    dst = connect(target, None)
    try:
        dst.execute(key_pragma(key))
        src.backup(dst, pages=1024)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        dst.close()
        src.close()
