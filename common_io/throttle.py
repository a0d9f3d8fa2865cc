"""Guess limits of the pages that take a secret (log-in, the public status look-up), shared
by the node and the hub, kept in the app's own database.

Each limit is a counter row in ``login_attempt``: a key (what is counted: one user name
from one address, one address across user names, …), when its window ends and how many
tries were taken in it (a try after the end starts a new window). A try is *taken before*
the secret is checked, by one atomic ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` per
key, so a burst of simultaneous guesses cannot all pass the check before any failure is
counted: the first ``limit`` get through, the rest are refused without the password being
looked at. A try that succeeds is given back (:meth:`Throttle.succeeded`). Because the
counters live in the database, they hold across restarts and across every hub process
serving one PostgreSQL database.

Written here rather than with Flask-Limiter: its storage layer (``limits``) keeps counters
in memory, Redis, Memcached, MongoDB or etcd — none of which a commune laptop or a hub on
its one database has — and it counts requests before the view runs, while a guess limit
must count tries and forgive the ones that succeed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app, request
from sqlalchemy import Column, Integer, MetaData, String, Table, case, delete, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from common_io.clock import system_clock
from common_io.database import Database
from common_io.sqlite import UTCDateTime

TABLE = "login_attempt"


def define_table(metadata: MetaData) -> Table:
    return Table(
        TABLE,
        metadata,
        Column("key", String(200), primary_key=True),
        Column("ends_at", UTCDateTime(), nullable=False, index=True),
        Column("count", Integer, nullable=False),
    )


@dataclass(frozen=True)
class Limit:
    """At most ``tries`` per ``seconds`` for ``key``."""

    key: str
    tries: int
    seconds: float


def address_key(address: str | None) -> str:
    """The address to count: an IPv6 client by its /64 (one subscriber has a whole /64)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _take(session: Session, table: Table, key: str, *, now: datetime, window: timedelta) -> int:
    """Count one try on ``key``; returns the tries in its current window, this one included."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    ends = literal(now + window, UTCDateTime())
    expired = table.c.ends_at <= literal(now, UTCDateTime())
    stmt = (
        insert(table)
        .values(key=key, ends_at=ends, count=1)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "count": case((expired, 1), else_=table.c.count + 1),
                "ends_at": case((expired, ends), else_=table.c.ends_at),
            },
        )
        .returning(table.c.count)
    )
    count: int = session.execute(stmt).scalar_one()
    return count


class Throttle:
    """Counters over one table of one database, with the app's clock."""

    def __init__(self, db: Database, table: Table, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.table = table
        self.clock = clock

    def take(self, limits: list[Limit]) -> bool:
        """Take one try on every limit at once (one transaction); False when any of them is
        used up — the caller then refuses without checking the secret."""
        now = self.clock()
        allowed = True
        with self.db.write() as s:
            # counters whose window has ended count for nothing: swept on the way
            s.execute(delete(self.table).where(self.table.c.ends_at <= now))
            for lim in limits:
                count = _take(s, self.table, lim.key, now=now,
                              window=timedelta(seconds=lim.seconds))  # fmt: skip
                allowed = allowed and count <= lim.tries
        return allowed

    def succeeded(self, *, forgive: Sequence[str] = (), give_back: Sequence[str] = ()) -> None:
        """After a try succeeded: ``forgive`` drops those counters (the user's own failures),
        ``give_back`` returns the one try to those (an address's count across users, which
        a success must not wipe: an insider would log in between guesses at others)."""
        t = self.table
        with self.db.write() as s:
            if forgive:
                s.execute(delete(t).where(t.c.key.in_(list(forgive))))
            if give_back:
                s.execute(
                    update(t)
                    .where(t.c.key.in_(list(give_back)), t.c.count > 0)
                    .values(count=t.c.count - 1)
                )


# ------------------------------------------------------------------ the pages' side (Flask)


def init_app(app: Flask, table: Table) -> None:
    """The app's throttle over ``table`` in its database, and the default limits."""
    app.config.setdefault("LOGIN_ATTEMPTS", 5)
    app.config.setdefault("LOGIN_LOCK_SECONDS", 300)
    app.config.setdefault("LOGIN_ADDRESS_ATTEMPTS", 20)
    app.config.setdefault("STATUS_LOOKUP_ATTEMPTS", 10)
    app.config.setdefault("STATUS_LOOKUP_WINDOW", 600)
    app.config.setdefault("ENROL_ATTEMPTS", 20)
    app.config.setdefault("ENROL_WINDOW", 600)
    # The computer's own time, not the records' ``CLOCK`` (which may be set or moved on purpose).
    clock = app.config.get("SESSION_CLOCK") or system_clock
    app.extensions["throttle"] = Throttle(app.extensions["db"], table, clock)


def _throttle() -> Throttle:
    throttle: Throttle = current_app.extensions["throttle"]
    return throttle


def _login_keys(username: str) -> tuple[str, str]:
    address = address_key(request.remote_addr)
    return f"login:{username}@{address}", f"login-address:{address}"


def login_allowed(username: str) -> bool:
    """Take one log-in try for ``username`` from this request's address: at most
    ``LOGIN_ATTEMPTS`` per user name and address, and ``LOGIN_ADDRESS_ATTEMPTS`` per
    address across user names, in ``LOGIN_LOCK_SECONDS``."""
    cfg = current_app.config
    window = float(cfg["LOGIN_LOCK_SECONDS"])
    user_key, address = _login_keys(username)
    return _throttle().take(
        [
            Limit(user_key, int(cfg["LOGIN_ATTEMPTS"]), window),
            Limit(address, int(cfg["LOGIN_ADDRESS_ATTEMPTS"]), window),
        ]
    )


def login_succeeded(username: str) -> None:
    user_key, address = _login_keys(username)
    _throttle().succeeded(forgive=[user_key], give_back=[address])


def _lookup_key() -> str:
    return f"status-lookup:{address_key(request.remote_addr)}"


def lookup_allowed() -> bool:
    """Take one public status look-up try for this address (``STATUS_LOOKUP_ATTEMPTS`` per
    ``STATUS_LOOKUP_WINDOW`` seconds; found ones are given back)."""
    cfg = current_app.config
    limit = Limit(_lookup_key(), int(cfg["STATUS_LOOKUP_ATTEMPTS"]),
                  float(cfg["STATUS_LOOKUP_WINDOW"]))  # fmt: skip
    return _throttle().take([limit])


def lookup_succeeded() -> None:
    _throttle().succeeded(give_back=[_lookup_key()])


def _enrol_key() -> str:
    return f"enrol:{address_key(request.remote_addr)}"


def enrol_allowed() -> bool:
    """Take one try at the open enrolment routes (``/sync/v1/enrol``, ``reintroduce``) for
    this address: ``ENROL_ATTEMPTS`` per ``ENROL_WINDOW`` seconds; a success is given
    back (a district enrolling its communes from one address is not held up)."""
    cfg = current_app.config
    limit = Limit(_enrol_key(), int(cfg["ENROL_ATTEMPTS"]), float(cfg["ENROL_WINDOW"]))
    return _throttle().take([limit])


def enrol_succeeded() -> None:
    _throttle().succeeded(give_back=[_enrol_key()])
