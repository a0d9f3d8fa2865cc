"""The one path by which a dossier changes: rule check, signed event, projection row —
all in the caller's transaction, so a state change without its event cannot exist."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from common import lifecycle, validators
from common.lifecycle import DossierState, Side
from commune_node.models import Dossier
from commune_node.services import eventlog, outbox
from commune_node.services.identity import NodeIdentity

if TYPE_CHECKING:
    from commune_node.services.officers import Actor


def state_of(row: Dossier | None) -> DossierState | None:
    return lifecycle.state_from_dict(row.state) if row is not None else None


def record_event(
    session: Session,
    row: Dossier | None,
    *,
    code: str,
    action: str,
    data: dict[str, Any],
    identity: NodeIdentity,
    actor: Actor,
    side: Side,
    now: datetime,
) -> Dossier:
    """Check ``action`` against the rules, sign and append its event, update the row."""
    # The record carries its time in whole seconds, and the hub replays it at that time:
    # apply it at exactly that time here too, so both sides fold the same state.
    now = now.replace(microsecond=0)
    act = lifecycle.ACTIONS[action]
    state = lifecycle.apply(
        state_of(row),
        event_type=act.event_type,
        data=data,
        at=now,
        code=code,
        side=side,
        roles=actor.roles,
        now=now,
    )
    rec = eventlog.append(
        session,
        identity=identity,
        clock=lambda: now,
        dossier=code,
        type=act.event_type,
        actor=actor.username,
        data=data,
    )
    if row is None:
        row = new_row(code, data, now)
        session.add(row)
    row.last_seq = rec.seq
    store_state(row, state)
    outbox.enqueue_for(session, row, action, data, now, record_id=rec.id)  # same transaction
    return row


def new_row(code: str, data: dict[str, Any], now: datetime) -> Dossier:
    """The row of a dossier its first event creates (the applicant as taken in)."""
    person = data.get("applicant") or {}  # (a value erased from the record is left empty)
    name = str(person.get("name", ""))
    return Dossier(
        code=code,
        procedure_code=data["procedure"],
        channel=data["channel"],
        applicant_name=name,
        applicant_search=validators.fold_diacritics(name),
        id_number=str(person.get("id_number", "")),
        phone=str(person.get("phone", "")),
        email=str(person.get("email", "")),
        address=str(person.get("address", "")),
        created_at=now,
    )


def store_state(row: Dossier, state: DossierState) -> None:
    """Copy a state into its row: the indexed columns and the whole state as JSON."""
    row.status = int(state.status)
    row.forwarded = state.forwarded
    row.received_at = state.received_at
    row.due_at = state.due_at
    row.open_due_at = state.due_at if state.is_open else None
    row.ended_at = state.ended_at
    row.state = lifecycle.state_to_dict(state)
