"""Logged-in sessions of the pages, kept on the server (node and hub alike).

The browser's cookie (Flask's signed session) carries only a random session id — 32 bytes
from :mod:`secrets` — beside the CSRF token, the flash messages and the language. The
``web_session`` table of the app's database keeps the SHA-256 of that id, the user it
logged in and when it ends, so a copy of the database gives no live cookie. A request is
logged in only while its row exists: logging out deletes the row; a password change, a
reset or a deactivation deletes every row of that user in the same transaction
(:func:`end_all`), so a copied cookie stops working at once; a row past ``expires_at``
counts for nothing and is swept at the next login. Nothing derived from the password goes
into the cookie.

Each app adds the table to its own metadata with :func:`define_table` (and creates it in
its own migration); :func:`init_app` tells the pages which table and database to use.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask, current_app, session
from sqlalchemy import Column, Integer, MetaData, String, Table, delete, insert, select
from sqlalchemy.orm import Session

from common_io.clock import system_clock
from common_io.database import Database
from common_io.sqlite import UTCDateTime

TABLE = "web_session"
_KEY = "sid"  # the one thing the cookie says about who is logged in


def define_table(metadata: MetaData) -> Table:
    return Table(
        TABLE,
        metadata,
        Column("id", String(64), primary_key=True),  # SHA-256 of the id in the cookie
        Column("user_id", Integer, nullable=False, index=True),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("expires_at", UTCDateTime(), nullable=False, index=True),
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    session_: Session, table: Table, *, user_id: int, now: datetime, lifetime: timedelta
) -> str:
    """A new session for ``user_id``; returns the id for the cookie (only its hash is kept).
    Sessions that have ended are swept on the way."""
    session_.execute(delete(table).where(table.c.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session_.execute(
        insert(table).values(
            id=_digest(token), user_id=user_id, created_at=now, expires_at=now + lifetime
        )
    )
    return token


def user_of(session_: Session, table: Table, token: str, *, now: datetime) -> int | None:
    """The user a live session id belongs to, or None."""
    row = session_.execute(
        select(table.c.user_id, table.c.expires_at).where(table.c.id == _digest(token))
    ).first()
    if row is None or row.expires_at <= now:
        return None
    user_id: int = row.user_id
    return user_id


def end(session_: Session, table: Table, token: str) -> None:
    session_.execute(delete(table).where(table.c.id == _digest(token)))


def end_all(session_: Session, table: Table, user_id: int, *, keep: str | None = None) -> int:
    """End every session of ``user_id`` (but ``keep``, the id of the one asking); returns how
    many ended. Call it in the transaction that changes the password or the account."""
    stmt = delete(table).where(table.c.user_id == user_id)
    if keep is not None:
        stmt = stmt.where(table.c.id != _digest(keep))
    ended: int = session_.execute(stmt).rowcount  # type: ignore[attr-defined]
    return ended


# ------------------------------------------------------------------ the pages' side (Flask)


def init_app(app: Flask, table: Table) -> None:
    app.extensions["web_session_table"] = table


def _table() -> Table:
    table: Table = current_app.extensions["web_session_table"]
    return table


def _db() -> Database:
    db: Database = current_app.extensions["db"]
    return db


def _now() -> datetime:
    """The computer's own time, not the app's ``CLOCK``: that one is the records' time (it
    may be set or moved on purpose); how long a log-in lasts is a matter of this computer."""
    clock: Callable[[], datetime] = current_app.config.get("SESSION_CLOCK") or system_clock
    return clock()


def log_in(user_id: int) -> None:
    """Start a server-side session for ``user_id`` in a fresh cookie (a new id, a new CSRF
    token: nothing from before the login carries over)."""
    lifetime = current_app.permanent_session_lifetime
    with _db().write() as s:
        token = start(s, _table(), user_id=user_id, now=_now(), lifetime=lifetime)
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    session[_KEY] = token
    session.permanent = True


def current_user_id() -> int | None:
    """The user of this request's live session; a cookie whose session ended is emptied."""
    token = session.get(_KEY)
    if not isinstance(token, str):
        return None
    with _db().read() as s:
        user_id = user_of(s, _table(), token, now=_now())
    if user_id is None:
        session.pop(_KEY, None)
    return user_id


def current_token() -> str | None:
    token = session.get(_KEY)
    return token if isinstance(token, str) else None


def log_out() -> None:
    token = current_token()
    if token is not None:
        with _db().write() as s:
            end(s, _table(), token)
    session.clear()
