"""Print-ready forms (A4, Vietnamese): 01 receipt and appointment, 02 request to supplement,
03 refusal, 04 apology and new appointment, 05 notice of stopping, 06 processing-control slip,
07 tracking book.

URLs carry only the dossier code (or, for the book, a date range); the QR code on form 01
encodes only the public status look-up address (``PUBLIC_STATUS_BASE``) with the dossier code —
no personal data; while that address is not set, the form carries the code alone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import qrcode
import qrcode.image.svg
from flask import Blueprint, abort, current_app, render_template, request
from markupsafe import Markup
from marshmallow import EXCLUDE, Schema, fields, validates_schema
from marshmallow import ValidationError as MarshmallowError

from common.calendar import VN_TZ
from common.catalogue import Procedure as CatalogueProcedure
from common.catalogue import limit_text
from common_web import schemas
from commune_node.db import read_session
from commune_node.services import dossiers, form_numbers, privacy, queries
from commune_node.services.identity import get_setting
from commune_node.web import form_data
from commune_node.web.auth import login_required
from commune_node.web.context import clock, node_identity
from commune_node.web.proclog import log_processing

bp = Blueprint("printing", __name__, url_prefix="/print")

KINDS = {
    "01": "form01.html",
    "02": "form02.html",
    "03": "form03.html",
    "04": "form04.html",
    "05": "form05.html",
    "06": "form06.html",
}
# Which event each form prints (the latest of these types; form 01: the receipt).
SOURCE = {
    "02": ("dossier.supplement_requested",),
    "03": ("dossier.refused",),
    "04": ("dossier.apologised",),
    "05": ("dossier.stopped",),
}
MAX_BOOK_DAYS = 366


def public_status_base() -> str | None:
    """The public address of the status look-up (setting ``PUBLIC_STATUS_BASE``), or None
    while it is not set: a phone cannot open a link without one."""
    base = str(current_app.config.get("PUBLIC_STATUS_BASE") or "").strip().rstrip("/")
    return base or None


def status_url(code: str) -> str | None:
    """What the QR code on form 01 encodes: the public status look-up of this dossier as an
    absolute address, or None (no QR code) while ``PUBLIC_STATUS_BASE`` is not set."""
    base = public_status_base()
    if base is None:
        return None
    return f"{base}{'&' if '?' in base else '?'}code={code}"


def qr_svg(payload: str) -> Markup:
    """``payload`` as an inline SVG QR code (no image file, nothing fetched). The markup is
    qrcode's own output for a payload we build, so it is safe to insert unescaped."""
    image = qrcode.make(
        payload,
        image_factory=qrcode.image.svg.SvgPathImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=2,
    )
    svg: str = image.to_string(encoding="unicode")
    return Markup(svg)


def sheet(when: datetime) -> dict[str, Any]:
    """What every form's header needs: agency, unit, place and date line. The unit type (xã,
    phường, đặc khu) comes from the first word(s) of the commune's name."""
    commune = node_identity().commune_name
    unit = form_data.unit_of(commune)
    local = when.astimezone(VN_TZ)
    return {
        "agency": unit.council,
        "unit": f"Trung tâm Phục vụ hành chính công {unit.running}",
        "commune": commune,
        "council": f"UBND {unit.running}",  # as running text writes it
        "place_date": f"{unit.place}, ngày {local:%d} tháng {local:%m} năm {local:%Y}",
    }


def _limit_text(events: list[Any], procedure: CatalogueProcedure | None) -> str:
    """The legal limit as the intake record stated it (days or hours), else the catalogue's."""
    for e in events:
        if isinstance(e.data.get("limit_hours"), int):
            return limit_text(None, e.data["limit_hours"])
        if isinstance(e.data.get("limit_days"), int):
            return limit_text(e.data["limit_days"])
    return procedure.limit_text if procedure else limit_text(None)


@bp.get("/<kind>/<code>")
@login_required()
def form(kind: str, code: str) -> Any:
    template = KINDS.get(kind)
    if template is None:
        abort(404)
    with read_session() as db:
        row = dossiers.get(db, code)
        events = form_data.scrub(row, queries.history(db, code))
        handed = {str(e.data["recipient"]) for e in events if e.data.get("recipient")}
        names = queries.officer_names(db, {e.actor for e in events} | handed)
        procedure = queries.procedure(db, row.procedure_code)
        phone = get_setting(db, "contact_phone", "") or ""
        year_start = datetime(row.created_at.astimezone(VN_TZ).year, 1, 1, tzinfo=VN_TZ)
        entry = queries.book_entry(db, row, year_start=year_start)
    if kind == "01":
        source = form_data.receipt(events)
    else:
        source = form_data.last(events, *SOURCE[kind]) if kind in SOURCE else None
    if kind != "06" and source is None:
        abort(404, description=f"This dossier has no event for form {kind}.")
    facts = form_data.facts(row, events)
    context: dict[str, Any] = {
        "row": row,
        "facts": facts,
        "event": source,
        "procedure": procedure,
        "officer_name": names.get(source.actor, source.actor) if source else "",
        "contact_phone": phone,
        **sheet(source.at if source else clock()()),
    }
    if kind == "01":
        assert source is not None
        payload = status_url(code)
        context |= {
            "documents": form_data.received_documents(
                procedure, form_data.documents_at(events, source)
            ),
            "due": form_data.parse_time(source.data.get("due")),
            "limit_text": _limit_text(events, procedure),
            "entry": entry,
            "qr": qr_svg(payload) if payload else None,
            "qr_payload": payload,
        }
    elif kind == "02":
        assert source is not None
        context["documents"] = form_data.required_documents(procedure, source.data["missing"])
        context["number"] = None  # a hub's request is not in this desk's register
        if not source.from_hub:
            with read_session() as db:
                context["number"] = form_numbers.number_of(
                    db, record_id=source.id, type=source.type, seq=source.seq, at=source.at
                )
    elif kind in ("04", "05"):
        assert source is not None
        taken = form_data.receipt(events)
        context |= {
            "received": taken.at if taken else row.received_at,
            "old_due": form_data.parse_time(source.data.get("old_due")),
            "new_due": form_data.parse_time(source.data.get("new_due")),
        }
    elif kind == "06":
        level = str(row.state.get("level", "commune"))
        context |= {
            "rows": form_data.handovers(events, names, facts.name),
            "lead": form_data.lead_agency(level, node_identity().commune_name),
        }
    page = render_template(template, **context)
    log_processing(privacy.PRINT, code, f"form {kind}")
    return page


class BookRange(Schema):
    class Meta:
        unknown = EXCLUDE

    start = fields.Date(data_key="from", load_default=None)
    end = fields.Date(data_key="to", load_default=None)

    @validates_schema
    def _order(self, data: dict[str, Any], **_kw: Any) -> None:
        start, end = data.get("start"), data.get("end")
        if start and end and (end < start or (end - start).days >= MAX_BOOK_DAYS):
            raise MarshmallowError(
                f"'to' must be on or after 'from', at most {MAX_BOOK_DAYS} days later", "to"
            )


@bp.get("/07")
@login_required()
def book() -> Any:
    args = {k: v for k, v in request.args.items() if v.strip()}
    rng = schemas.load(BookRange(), args)
    today = clock()().astimezone(VN_TZ).date()
    end: date = rng["end"] or today
    start: date = rng["start"] or end.replace(day=1)
    lo = datetime.combine(start, time(0), tzinfo=VN_TZ)
    hi = datetime.combine(end + timedelta(days=1), time(0), tzinfo=VN_TZ)
    commune = node_identity().commune_name
    with read_session() as db:
        found = queries.taken_in_between(db, lo, hi)
        histories = queries.histories(db, [r.code for r in found])
        names = queries.procedure_names(db, {r.procedure_code for r in found})
        year_start = datetime(start.year, 1, 1, tzinfo=VN_TZ)
        first_no = queries.count_taken_in_before(db, year_start, lo) + 1
    # Entry numbers run through the year, so the book's row numbers match form 01's entry.
    rows, no, year = [], first_no, start.year
    for r in found:
        if r.created_at.astimezone(VN_TZ).year != year:
            no, year = 1, r.created_at.astimezone(VN_TZ).year
        rows.append(
            form_data.book_row(
                no,
                r,
                form_data.scrub(r, histories[r.code]),
                names.get(r.procedure_code, ""),
                commune,
            )
        )
        no += 1
    page = render_template("form07.html", rows=rows, start=start, end=end, **sheet(clock()()))
    # One row for the whole book (it prints many dossiers' names, no more than a list).
    log_processing(privacy.PRINT, None, f"tracking book (form 07) {start:%d/%m/%Y}-{end:%d/%m/%Y}")
    return page
