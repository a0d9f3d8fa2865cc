"""The log head file: the newest checkpoint this hub signed, kept in the instance folder,
outside the database.

Written after every commit that grew the log (never before: a failed commit must not leave
a head the database does not have), with a write-then-rename so a reader never sees half a
file. It lags at worst — after a crash between the commit and the write — and a lagging
head only means less protection, never a false alarm.

Its use: a database put back from an older backup holds a smaller log than this file. The
first request the hub serves after it starts compares the two (``web/logcheck.py`` →
:func:`central_hub.services.recovery.check_log_head`) and, if the file is ahead, opens a
log recovery before any new record can take a lost leaf — even before a commune that
witnessed the lost range has been heard from.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from flask import Flask
from sqlalchemy.orm import Session

from common import protocol
from common.errors import DossierError

FILE = "log_head"
PENDING = "loghead.signed"  # session.info key: (size, signed checkpoint) of this transaction


def path_of(app: Flask) -> Path:
    return Path(app.instance_path) / FILE


def note(session: Session, size: int, signed: bytes) -> None:
    """Remember, for after the commit, the newest checkpoint this transaction signed."""
    pending = session.info.get(PENDING)
    if pending is None or pending[0] < size:
        session.info[PENDING] = (size, signed)


def read(path: Path) -> bytes | None:
    try:
        return protocol.unb64(path.read_text(encoding="ascii").strip(), FILE)
    except (OSError, DossierError):
        return None


def write(path: Path, signed: bytes) -> None:
    """Replace the file at once (write, then rename over it)."""
    tmp = path.with_name(f".{FILE}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(protocol.b64(signed) + "\n", encoding="ascii")
    os.replace(tmp, path)


class _Writer:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.size = -1  # the largest size this process wrote

    def __call__(self, pending: tuple[int, bytes]) -> None:
        size, signed = pending
        with self.lock:
            if size > self.size:
                write(self.path, signed)
                self.size = size


def init_app(app: Flask) -> None:
    app.extensions["db"].after_commit(PENDING, _Writer(path_of(app)))
