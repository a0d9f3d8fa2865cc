"""JSON shapes of the node's objects, shared by the API and the pages' data attributes."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from common import lifecycle
from common.calendar import VN_TZ
from common.catalogue import Procedure
from common.lifecycle import Status
from commune_node.models import Dossier, Event


def _t(value: datetime | None) -> str | None:
    """A time as the API gives every time: ISO 8601 in Vietnam time (+07:00), whether the
    row was just written or read back from the database (which keeps UTC)."""
    return value.astimezone(VN_TZ).isoformat() if value else None


def status(code: int) -> dict[str, Any]:
    vi, en = lifecycle.STATUS_NAMES[Status(code)]
    return {"code": code, "vi": vi, "en": en}


def procedure(p: Procedure) -> dict[str, Any]:
    return p.to_dict()


def dossier(row: Dossier, *, with_person: bool = True) -> dict[str, Any]:
    state = row.state
    out: dict[str, Any] = {
        "code": row.code,
        "procedure": row.procedure_code,
        "channel": row.channel,
        "status": status(row.status),
        "forwarded": row.forwarded,
        "created_at": _t(row.created_at),
        "received_at": _t(row.received_at),
        "due_at": _t(row.due_at),
        "ended_at": _t(row.ended_at),
        "supplements": state["supplements"],
        "apologies": state["apologies"],
        "fees_paid": state["fees_paid"],
        "rating": state["rating"],
        "last_seq": row.last_seq,
    }
    if with_person:
        out["applicant"] = {
            "name": row.applicant_name,
            "id_number": row.id_number,
            "phone": row.phone,
            "email": row.email,
            "address": row.address,
        }
    return out


def event(row: Event) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "id": row.record_id,
        "dossier": row.dossier_code,
        "type": row.type,
        "actor": row.actor,
        "at": _t(row.at),
        "record": base64.b64encode(row.record).decode("ascii"),
    }
