"""The public status look-up on the node (the lobby screen, and the QR code on form 01).

:func:`lookup` answers only when the dossier code and the four digits match; it does the same
work whether the code exists or not (a constant-time comparison against a stand-in), and the
page adds a time floor, so a wrong code and wrong digits look and take alike.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from common import lifecycle
from common.public_status import PublicStatus, describe, expected_digits, same
from commune_node.models import Dossier
from commune_node.services import queries

_STAND_IN = "\x00\x00\x00\x00"  # never equal to four typed digits


def lookup(session: Session, code: str, digits: str, *, now: datetime) -> PublicStatus | None:
    row = session.get(Dossier, code) if 0 < len(code) <= 64 else None
    expected = expected_digits(row.phone, row.id_number) if row is not None else ""
    matched = same(expected or _STAND_IN, digits)
    if row is None or not expected or not matched:
        return None
    state = lifecycle.state_from_dict(row.state)
    procedure = queries.procedure(session, row.procedure_code)
    missing: list[str] = []
    amount: int | None = None
    for event in queries.history(session, code):
        if event.type == "dossier.supplement_requested":
            missing = [str(m) for m in event.data.get("missing", [])]
        elif event.type == "dossier.payment_requested" and isinstance(
            event.data.get("amount"), int
        ):
            amount = int(event.data["amount"])
    return describe(
        state,
        procedure_name=procedure.name if procedure else row.procedure_code,
        missing=missing,
        document_names={d.id: d.name for d in procedure.documents} if procedure else {},
        amount=amount,
        now=now,
    )
