"""The wall clock of node and hub processes, in one place.

Both apps read the time only through the callable in ``app.extensions["clock"]``: tests
give a movable clock through the ``CLOCK`` setting; real processes get :func:`from_environment`,
the system clock shifted by ``DOSSIER_CLOCK_OFFSET_SECONDS`` (whole seconds, may be negative;
unset or 0: the system clock as it is). The offset exists to test what a desk does when its
computer's date is days off (the fault campaign runs real processes with it); it is never
needed in production.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]
OFFSET_ENV = "DOSSIER_CLOCK_OFFSET_SECONDS"


def system_clock() -> datetime:
    return datetime.now(UTC)


def offset_clock(seconds: int) -> Clock:
    """The system clock shifted by ``seconds``."""
    if not seconds:
        return system_clock
    shift = timedelta(seconds=seconds)

    def clock() -> datetime:
        return datetime.now(UTC) + shift

    return clock


def from_environment(environ: dict[str, str] | None = None) -> Clock:
    """The process clock: the system clock plus ``DOSSIER_CLOCK_OFFSET_SECONDS``.

    Raises ValueError when the variable is set but is not a whole number of seconds, so a
    typo never silently runs a desk on the wrong date."""
    raw = (os.environ if environ is None else environ).get(OFFSET_ENV, "").strip()
    if not raw:
        return system_clock
    try:
        seconds = int(raw)
    except ValueError as exc:
        raise ValueError(f"{OFFSET_ENV} must be whole seconds, e.g. -86400; got {raw!r}") from exc
    return offset_clock(seconds)
