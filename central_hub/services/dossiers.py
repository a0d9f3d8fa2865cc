"""The hub's projection of dossiers, folded from the records it stores (node's and its own)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from central_hub.models import HubDossier
from central_hub.services import disclosures
from common import lifecycle, record
from common.errors import TransitionError
from common.lifecycle import Side


def apply_record(session: Session, rec: record.Record, *, side: Side, now: datetime) -> HubDossier:
    """Replay one dossier record under the shared rules; raises if the rules refuse it."""
    assert rec.dossier is not None
    row = session.get(HubDossier, rec.dossier)
    state = lifecycle.state_from_dict(row.state) if row is not None else None
    new = lifecycle.apply(
        state,
        event_type=rec.type,
        data=rec.data,
        at=rec.at_time,
        code=rec.dossier,
        side=side,
    )
    if row is None:
        row = HubDossier(
            code=rec.dossier,
            node_id=rec.node,
            procedure_code=new.procedure,
            procedure_name=str(rec.data.get("procedure_name", ""))[:300],
            applicant_name="",  # personal data: only in ``disclosure`` (encrypted)
            id_digest=disclosures.id_digest(
                session, str((rec.data.get("applicant") or {}).get("id_number", ""))
            ),
        )
        session.add(row)
    row.status = int(new.status)
    row.forwarded = new.forwarded
    row.received_at = new.received_at
    row.due_at = new.due_at
    row.ended_at = new.ended_at
    row.updated_at = now
    row.state = lifecycle.state_to_dict(new)
    return row


def check_owner(rec: record.Record, *, agency_code: str) -> None:
    """A commune writes only dossiers whose code it issued (its agency code prefix)."""
    if rec.dossier is not None and not rec.dossier.startswith(agency_code + "-"):
        raise TransitionError(
            f"dossier {rec.dossier} was not issued by this commune ({agency_code})",
            vi=f"Hồ sơ {rec.dossier} không do xã này ({agency_code}) cấp mã",
        )
