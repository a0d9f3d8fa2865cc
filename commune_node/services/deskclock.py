"""The desk's clock: the computer's clock corrected by the offset learned from the hub.

A laptop whose CMOS battery died may believe it is 1996. The node learns the hub's time at
every contact (the ``status`` answer, or a ``stale_timestamp`` refusal) and keeps the
difference as the setting ``clock_offset`` (seconds, hub minus this computer). When the
difference is more than :data:`TOLERANCE`, everything the desk dates — records, dossier codes
(``…-yymmdd-NNNN``), due dates, receipts — uses the hub-corrected time, so no record is signed
with a date the node knows is wrong; every page warns the officers to set the computer's
date (docs/operations.md, "A wrong clock"). Requests to the hub are signed with the raw clock
plus the offset (:attr:`DeskClock.raw`), as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from common_io.clock import Clock
from common_io.database import Database
from commune_node.models import Setting

TOLERANCE = 120  # seconds: within this the computer's own clock is used as it is
WARN = 300  # seconds: from this the pages warn
REFRESH = 5.0  # seconds between reads of the learned offset


class DeskClock:
    """A callable clock: ``raw()`` shifted by the learned offset when it is beyond
    :data:`TOLERANCE`."""

    def __init__(self, raw: Clock, database: Callable[[], Database | None]) -> None:
        self.raw = raw
        self._database = database
        self._offset = 0
        self._read_at = float("-inf")

    def offset(self) -> int:
        """The learned offset in seconds (hub minus this computer), read every few seconds."""
        now = time.monotonic()
        if now - self._read_at >= REFRESH:
            db = self._database()
            if db is not None:
                try:
                    with db.engine.connect() as conn:
                        value = conn.execute(
                            select(Setting.value).where(Setting.key == "clock_offset")
                        ).scalar()
                    self._offset = int(value or 0)
                except Exception:  # a database not created yet, or not readable: no correction
                    self._offset = 0
            self._read_at = now
        return self._offset

    def forget(self) -> None:
        """Read the offset again at the next call (it was just learned)."""
        self._read_at = float("-inf")

    def __call__(self) -> datetime:
        offset = self.offset()
        now = self.raw()
        return now + timedelta(seconds=offset) if abs(offset) > TOLERANCE else now


def raw_clock(clock: Clock) -> Clock:
    """The computer's own clock behind ``clock`` (the clock itself when it is not a desk
    clock)."""
    raw = getattr(clock, "raw", None)
    return raw if callable(raw) else clock


def learned(clock: Clock) -> None:
    forget = getattr(clock, "forget", None)
    if callable(forget):
        forget()
