"""The public status look-up at the hub.

The hub checks the citizen's four digits against a :class:`StatusKey` — a random salt and the
scrypt hash of the digits — never against the digits themselves. :func:`remember` makes the
key from a dossier's first record (the one that names the applicant); the look-up makes it
on first use for dossiers that have none yet, so it works for dossiers stored before this
table existed. A missing dossier is compared against a stand-in hash, so a wrong code costs
the same work as wrong digits.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_hub.models import HubDossier, LogRecord
from central_hub.notify_models import StatusKey
from central_hub.services import disclosures, health
from common import lifecycle, record_fast
from common.public_status import PublicStatus, describe, digest, expected_digits, same
from common_io.database import Database

_STAND_IN_SALT = b"\x00" * 16
_STAND_IN = digest("\x00\x00\x00\x00", _STAND_IN_SALT)


def remember(session: Session, code: str, data: dict[str, Any], now: datetime) -> None:
    """Store the salted hash of the four digits from a creating record's ``applicant``."""
    applicant = data.get("applicant")
    if not isinstance(applicant, dict) or session.get(StatusKey, code) is not None:
        return
    digits = expected_digits(str(applicant.get("phone", "")), str(applicant.get("id_number", "")))
    if not digits:
        return
    salt = os.urandom(16)
    session.add(
        StatusKey(code=code, salt=salt.hex(), digest=digest(digits, salt).hex(), created_at=now)
    )


def _records(session: Session, code: str) -> list[Any]:
    raws = session.scalars(
        select(LogRecord.raw)
        .where(LogRecord.dossier_code == code, LogRecord.dead.is_(False))
        .order_by(LogRecord.leaf)
    )
    return [record_fast.parse(raw) for raw in raws]


def _ensure_key(db: Database, code: str, now: datetime) -> None:
    with db.write() as session:
        for rec in _records(session, code):
            data = disclosures.data_in(session, rec)  # the phone and ID number, decrypted
            if isinstance(data.get("applicant"), dict):
                remember(session, code, data, now)
                return


def lookup(
    db: Database, code: str, digits: str, *, hub_id: str, now: datetime
) -> PublicStatus | None:
    with db.read() as session:
        row = session.get(HubDossier, code) if 0 < len(code) <= 64 else None
        key = session.get(StatusKey, code) if row is not None else None
    if row is not None and key is None:
        _ensure_key(db, code, now)
        with db.read() as session:
            key = session.get(StatusKey, code)
    salt = bytes.fromhex(key.salt) if key is not None else _STAND_IN_SALT
    expected = bytes.fromhex(key.digest) if key is not None else _STAND_IN
    matched = same(digest(digits or "\x00", salt), expected)
    if row is None or key is None or not matched:
        return None
    with db.read() as session:
        records = _records(session, code)
        catalogue = health.current_catalogue(session, hub_id)
    procedure = catalogue.procedures.get(row.procedure_code)
    missing: list[str] = []
    amount: int | None = None
    for rec in records:
        if rec.type == "dossier.supplement_requested":
            missing = [str(m) for m in rec.data.get("missing", [])]
        elif rec.type == "dossier.payment_requested" and isinstance(rec.data.get("amount"), int):
            amount = int(rec.data["amount"])
    return describe(
        lifecycle.state_from_dict(row.state),
        procedure_name=procedure.name if procedure else (row.procedure_name or row.procedure_code),
        missing=missing,
        document_names={d.id: d.name for d in procedure.documents} if procedure else {},
        amount=amount,
        now=now,
    )
