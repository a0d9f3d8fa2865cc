"""What each printed form says, read from the dossier's signed events (Circular 03/2025
Annex I numbering). Pure functions: the printing views load the events and render.

Every form is in Vietnamese whatever the officer's page language: it is a legal document.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from common.catalogue import Procedure
from commune_node.models import Dossier
from commune_node.services.queries import EventView
from commune_node.web.display import parse_time, status_vi, timeliness

# The events that start the clock and issue an appointment (form 01): receipt at the desk,
# acceptance of an online submission, or the supplement that completes a dossier that was
# incomplete at intake.
RECEIPT_TYPES = ("dossier.received", "dossier.accepted", "dossier.supplement_received")
DESK = "Bộ phận Một cửa"
HUB = "Cấp trên (liên thông)"
LEVELS = {"commune": "UBND {unit}", "province": "Cơ quan cấp tỉnh", "hub": "Cơ quan cấp trên"}
# Events that are not a hand-over of the dossier between people (form 06 leaves them out).
NOT_HANDOVER = frozenset({"dossier.fee_paid", "dossier.payment_requested", "dossier.rated"})


@dataclass(frozen=True)
class DocLine:
    name: str
    original: int
    certified_copy: int
    photocopy: int


@dataclass(frozen=True)
class Facts:
    """The dossier as taken in: applicant, request and documents (from the creating event)."""

    name: str
    id_number: str
    address: str
    phone: str
    email: str
    request: str
    procedure_name: str
    sets: int
    notify: str
    receiver: str
    documents: dict[str, dict[str, int]] = field(default_factory=dict)
    id_type: str = "cccd"  # or "passport", "other" (common.validators.ID_TYPES)


# Payload fields that name or may name a person: the applicant, who collected the result,
# and free text. Once a dossier's personal data is erased, pages and forms leave them out
# (records in the old format still hold them in clear).
PERSONAL_KEYS = frozenset({"applicant", "collected_by", "reason", "note", "result", "request"})


def scrub(row: Dossier, events: list[EventView]) -> list[EventView]:
    """The events as pages may show them: without personal fields once erased."""
    if row.personal_erased_at is None:
        return events
    return [
        replace(e, data={k: v for k, v in e.data.items() if k not in PERSONAL_KEYS}) for e in events
    ]


def facts(row: Dossier, events: list[EventView]) -> Facts:
    if row.personal_erased_at is not None:
        # Erased: the form says so where the name was (old records still hold the data).
        return Facts(
            name=row.applicant_name,
            id_number="",
            address="",
            phone="",
            email="",
            request="",
            procedure_name=next(
                (str(e.data["procedure_name"]) for e in events if "procedure_name" in e.data),
                row.procedure_code,
            ),
            sets=1,
            notify="",
            receiver="",
        )
    data = next((e.data for e in events if "applicant" in e.data), {})
    person = data.get("applicant", {})
    return Facts(
        name=person.get("name", row.applicant_name),
        id_number=person.get("id_number", row.id_number),
        address=person.get("address", row.address),
        phone=person.get("phone", row.phone),
        email=person.get("email", row.email),
        request=data.get("request", ""),
        procedure_name=data.get("procedure_name", row.procedure_code),
        sets=int(data.get("sets", 1)),
        notify=data.get("notify", ""),
        receiver=data.get("receiver", ""),
        documents=data.get("documents", {}),
        id_type=person.get("id_type", "cccd"),
    )


def received_documents(procedure: Procedure | None, counts: dict[str, Any]) -> list[DocLine]:
    """The documents taken in, in catalogue order, with their counts by kind."""
    names = {d.id: d.name for d in procedure.documents} if procedure else {}
    order = list(names) + [k for k in counts if k not in names]
    return [
        DocLine(
            names.get(doc_id, doc_id),
            int(counts[doc_id].get("original", 0)),
            int(counts[doc_id].get("certified_copy", 0)),
            int(counts[doc_id].get("photocopy", 0)),
        )
        for doc_id in order
        if doc_id in counts
    ]


def required_documents(procedure: Procedure | None, ids: list[str]) -> list[DocLine]:
    """The listed documents with the quantity of each kind the catalogue asks for."""
    if procedure is None:
        return [DocLine(doc_id, 0, 0, 0) for doc_id in ids]
    wanted = set(ids)
    return [
        DocLine(d.name, int(d.original), int(d.certified_copy), int(d.photocopy))
        for d in procedure.documents
        if d.id in wanted
    ]


def last(events: list[EventView], *types: str) -> EventView | None:
    found = [e for e in events if e.type in types]
    return found[-1] if found else None


def first(events: list[EventView], *types: str) -> EventView | None:
    return next((e for e in events if e.type in types), None)


def receipt(events: list[EventView]) -> EventView | None:
    """The event that took the dossier in and set its first appointment (form 01)."""
    return next((e for e in events if e.type in RECEIPT_TYPES and "due" in e.data), None)


def documents_at(events: list[EventView], upto: EventView | None) -> dict[str, Any]:
    """Document counts handed in up to and including ``upto``: those at intake, completed by
    any supplement received since."""
    counts: dict[str, Any] = {}
    for e in events:
        if "applicant" in e.data or e.type == "dossier.supplement_received":
            counts.update(e.data.get("documents", {}))
        if e is upto:
            break
    return counts


# A commune-level unit is a "xã", a "phường" or a "đặc khu" (special zone); its name starts so.
UNIT_KINDS = ("đặc khu", "phường", "xã")


@dataclass(frozen=True)
class Unit:
    """A commune-level unit's name taken apart: ``Đặc khu Lý Sơn`` is kind ``đặc khu`` and
    place ``Lý Sơn``. A name that starts with no known kind is all place."""

    kind: str  # lower case, as running text writes it ("UBND xã Đăk Pxi"); "" if unknown
    place: str  # the proper name, its capitals kept

    @property
    def running(self) -> str:
        """``xã Đăk Pxi``: the unit as written mid-sentence."""
        return " ".join(filter(None, (self.kind, self.place)))

    @property
    def council(self) -> str:
        """``ỦY BAN NHÂN DÂN XÃ ĐĂK PXI``: the agency line of a form's header (Decree 30/2020)."""
        return f"Ủy ban nhân dân {self.running}".upper()


def unit_of(commune: str) -> Unit:
    name = " ".join(commune.split())
    for kind in UNIT_KINDS:
        head, rest = name[: len(kind)], name[len(kind) :]
        if head.lower() == kind and rest.startswith(" ") and rest.strip():
            return Unit(kind, rest.strip())
    return Unit("", name)


def lead_agency(level: str, commune: str) -> str:
    return LEVELS.get(level, level).format(unit=unit_of(commune).running)


@dataclass(frozen=True)
class Handover:
    """One row of the processing-control slip (form 06)."""

    step: str
    agency: str
    at: datetime
    giver: str
    receiver: str
    outcome: str | None  # early / on_time / late against the appointment in force then
    note: str


def handovers(events: list[EventView], names: dict[str, str], applicant: str) -> list[Handover]:
    """Who handed the dossier to whom, when, and whether it was in time (form 06).

    The holder starts as the applicant; each step passes the dossier from the holder (or the
    acting officer) to the next person. The appointment in force moves with the events that
    set it (receipt, supplement received, apology).
    """
    rows: list[Handover] = []
    holder = applicant
    due: datetime | None = None
    for e in events:
        if e.type in NOT_HANDOVER or e.action is None:
            continue
        actor = names.get(e.actor) or str(e.data.get("actor_name") or e.actor)
        agency = HUB if e.actor not in names else DESK
        name = e.type.removeprefix("dossier.")
        if name in ("received", "accepted", "registered", "supplement_received"):
            giver, receiver, holder = applicant, actor, actor
        elif name == "forwarded":
            giver, receiver, holder = actor, HUB, HUB
        elif name == "resolved":
            giver, receiver, holder = actor, DESK, DESK
        elif name == "result_returned":
            giver, receiver = actor, str(e.data.get("collected_by") or applicant)
            holder = receiver
        elif name in ("supplement_requested", "refused", "withdrawn", "stopped", "apologised"):
            giver, receiver = actor, applicant
            if name != "apologised":
                holder = applicant
        elif e.data.get("recipient"):  # processing handed to a named officer
            recipient = str(e.data["recipient"])
            named = str(e.data.get("recipient_name") or recipient)  # a hub officer's name
            giver, receiver = actor, names.get(recipient, named)
            holder = receiver
        else:  # processing, no recipient named: whoever holds it to the officer taking it on
            giver, receiver, holder = holder, actor, actor
        outcome = timeliness(e.at, due)
        due = parse_time(e.data.get("new_due")) or parse_time(e.data.get("due")) or due
        note = str(e.data.get("reason") or e.data.get("note") or e.data.get("result") or "")
        rows.append(Handover(e.action.vi, agency, e.at, giver, receiver, outcome, note))
    return rows


@dataclass(frozen=True)
class BookRow:
    """One row of the tracking book (form 07)."""

    no: int
    code: str
    procedure: str
    sets: int
    name: str
    address: str
    phone: str
    agency: str
    received: datetime | None
    appointment: datetime | None
    transferred: datetime | None
    result_back: datetime | None
    returned: datetime | None
    note: str


def book_row(
    no: int, row: Dossier, events: list[EventView], procedure_name: str, commune: str
) -> BookRow:
    f = facts(row, events)
    taken = receipt(events)
    transferred = first(events, "dossier.forwarded", "dossier.processing")
    resolved = first(events, "dossier.resolved")
    returned = first(events, "dossier.result_returned")
    notes = []
    if row.status not in (2, 4, 9, 10):
        notes.append(status_vi(row.status))
    apologies = [e for e in events if e.type == "dossier.apologised"]
    if apologies:
        notes.append(f"Xin lỗi, hẹn lại {len(apologies)} lần")
    return BookRow(
        no=no,
        code=row.code,
        procedure=procedure_name or f.procedure_name,
        sets=f.sets,
        name=f.name,
        address=f.address,
        phone=f.phone,
        agency=lead_agency(str(row.state.get("level", "commune")), commune),
        received=taken.at if taken else None,
        appointment=parse_time(taken.data.get("due")) if taken else None,
        transferred=transferred.at if transferred else None,
        result_back=resolved.at if resolved else None,
        returned=returned.at if returned else None,
        note="; ".join(notes),
    )
