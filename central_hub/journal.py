"""The hub's own records, also kept in a journal file in the instance folder.

A hub record (an officer's action on a forwarded dossier, a publication, a revocation) is
signed by the hub and goes to one commune or to all through the feed. If the database is
put back from an older backup before that commune pulled it, no commune can give it back
and the log cannot be rebuilt past it. So each one is also appended, after its commit, to
``hub_records.log`` (one base64 record per line, flushed to disk). During a log recovery the
hub offers them to the rebuild like any record given back without a proof: they are placed
only where the roots the communes witnessed confirm them, so a line the database never
committed, or a damaged one, can never enter the log.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

from flask import Flask
from sqlalchemy.orm import Session

from common import protocol
from common.errors import DossierError

FILE = "hub_records.log"
PENDING = "journal.records"  # session.info key: hub records signed in this transaction
MAX_LINE = 256 * 1024


def path_of(app: Flask) -> Path:
    return Path(app.instance_path) / FILE


def note(session: Session, raw: bytes) -> None:
    session.info.setdefault(PENDING, []).append(raw)


def read(path: Path) -> Iterator[bytes]:
    """Every record in the journal that decodes; a damaged line is skipped."""
    try:
        f = path.open("rb")
    except OSError:
        return
    with f:
        for line in f:
            if len(line) > MAX_LINE:
                continue
            try:
                yield protocol.unb64(line.strip().decode("ascii"), FILE)
            except (DossierError, UnicodeDecodeError):
                continue


class _Writer:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()

    def __call__(self, records: list[bytes]) -> None:
        data = b"".join(protocol.b64(r).encode("ascii") + b"\n" for r in records)
        with self.lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)


def init_app(app: Flask) -> None:
    app.extensions["db"].after_commit(PENDING, _Writer(path_of(app)))
