"""The hub's own printed forms for the forwarded (liên thông) dossiers it processes: form 04,
the apology and new appointment, when the delay was at the upper level — signed in the name
of the upper-level authority, not of the commune (Circular 03/2025, annex form 04).

The URL carries only the dossier code; printing is written to the processing log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, render_template

from central_hub.services import disclosures, health, privacy
from central_hub.web.auth import login_required
from central_hub.web.context import database, hub_identity
from central_hub.web.privacy import log_processing
from common.calendar import VN_TZ
from common.record import Record

bp = Blueprint("printing", __name__, url_prefix="/print")
ADMIN, OFFICER = "administrator", "hub_officer"


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def sheet(hub_name: str, when: datetime) -> dict[str, str]:
    """The header of a form printed by the upper-level authority the hub serves."""
    name = " ".join(hub_name.split())
    place = name.split(" ", 1)[1] if " " in name else name  # "Tỉnh Quảng Ngãi" → "Quảng Ngãi"
    local = when.astimezone(VN_TZ)
    return {
        "agency": f"UBND {name}".upper(),
        "council": f"UBND {name[:1].lower()}{name[1:]}",  # as running text writes it
        "place_date": f"{place}, ngày {local:%d} tháng {local:%m} năm {local:%Y}",
    }


@bp.get("/04/<code>")
@login_required(ADMIN, OFFICER)
def apology(code: str) -> Any:
    hub = hub_identity()
    with database().read() as session:
        row, history = health.dossier_history(session, code)
        own = [
            e.rec
            for e in history
            if e.rec.type == "dossier.apologised" and e.rec.node == hub.hub_id
        ]
        if not own:
            abort(404, description=f"Cấp trên chưa có văn bản xin lỗi cho hồ sơ {code}.")
        event: Record = own[-1]
        said = disclosures.data_of(session, event, hub=hub)  # the reason may be personal data
        applicant = disclosures.applicant(session, code, hub=hub)
        procedure = health.current_catalogue(session, hub.hub_id).procedures.get(row.procedure_code)
        taken = next((e.rec for e in history if e.rec.type == "dossier.received"), None)
    page = render_template(
        "form04_hub.html",
        row=row,
        event=event,
        reason=str(said.get("reason") or ""),
        number=event.seq,
        applicant=applicant,
        procedure_name=procedure.name if procedure else row.procedure_code,
        received=taken.at_time if taken else row.received_at,
        old_due=_time(said.get("old_due")),
        new_due=_time(said.get("new_due")),
        officer_name=str(event.data.get("actor_name") or event.actor),
        **sheet(hub.name, event.at_time),
    )
    log_processing(privacy.PRINT, code, "form 04 (upper level)")
    return page
