"""Lifecycle actions on an existing dossier, and the queries the desk needs."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.orm import Session

from common import lifecycle, validators
from common.calendar import (
    CLOSE,
    VN_TZ,
    WorkingCalendar,
    apology_timing,
    appointment,
    extend_appointment,
)
from common.catalogue import Procedure as CatalogueProcedure
from common.errors import ErrorList, NotFound
from common.lifecycle import Side, Status
from commune_node.models import Dossier, Event, Officer, Procedure
from commune_node.services import projection
from commune_node.services.identity import Clock, NodeIdentity, get_setting
from commune_node.services.officers import Actor


def get(session: Session, code: str) -> Dossier:
    row = session.get(Dossier, code)
    if row is None:
        raise NotFound(f"no dossier with code {code}", vi=f"Không có hồ sơ mã {code}")
    return row


def events_of(session: Session, code: str) -> list[Event]:
    return list(
        session.scalars(select(Event).where(Event.dossier_code == code).order_by(Event.seq))
    )


def _procedure(session: Session, code: str) -> CatalogueProcedure:
    row = session.get(Procedure, code)
    if row is None:
        raise NotFound(f"procedure {code} is no longer in the catalogue")
    return CatalogueProcedure.from_dict(row.definition)


def act(
    session: Session,
    code: str,
    action: str,
    form: dict[str, Any],
    *,
    identity: NodeIdentity,
    clock: Clock,
    actor: Actor,
    calendar: WorkingCalendar,
) -> Dossier:
    """Apply one lifecycle action (payload already validated by ``schemas.action_schema``)."""
    now = clock()
    row = get(session, code)
    state = projection.state_of(row)
    assert state is not None
    # Refuse early, before any payload work, with the rule's own words.
    lifecycle.check(state, action, side=Side.COMMUNE, roles=actor.roles)
    data: dict[str, Any] = {k: v for k, v in form.items() if v not in ("", None)}
    errors = ErrorList()
    procedure = _procedure(session, state.procedure)
    limits = {"limit_days": procedure.limit_days, "limit_hours": procedure.limit_hours}

    if action == "accepted":
        data["due"] = appointment(calendar, now, **limits).isoformat()
    elif action == "supplement_requested":
        known = {d.id for d in procedure.documents}
        for doc_id in form["missing"]:
            if doc_id not in known:
                errors.add(
                    f"missing.{doc_id}",
                    "not_in_catalogue",
                    "Giấy tờ này không có trong danh mục của thủ tục; không được yêu cầu thêm.",
                    "This document is not listed for the procedure; it may not be required.",
                )
    elif action in ("supplement_received", "fee_paid") and state.status in (
        Status.SUPPLEMENT,
        Status.PAYMENT,
    ):
        if state.received_at is None:  # guidance given at intake: the clock starts only now
            data["due"] = appointment(calendar, now, **limits).isoformat()
        elif state.due_at is not None and state.paused_since is not None:
            data["due"] = extend_appointment(
                calendar,
                state.due_at,
                state.paused_since,
                now,
                in_hours=procedure.limit_hours is not None,
            ).isoformat()
    elif action == "processing" and data.get("recipient"):
        to = session.scalar(select(Officer).where(Officer.username == data["recipient"]))
        if to is None or not to.active or not (to.role_set & PROCESSOR_ROLES):
            errors.add(
                "recipient",
                "not_an_officer",
                "Người nhận phải là cán bộ tiếp nhận hoặc lãnh đạo đang làm việc.",
                "The recipient must be an active receiving officer or leader.",
            )
    elif action == "apologised":
        new_day: date = form["new_due"]
        if not calendar.is_working_day(new_day):
            errors.add(
                "new_due",
                "not_working_day",
                "Ngày hẹn mới phải là ngày làm việc.",
                "The new appointment must be on a working day.",
            )
        data["new_due"] = datetime.combine(new_day, CLOSE, tzinfo=VN_TZ).isoformat()
        data["old_due"] = state.due_at.isoformat() if state.due_at else None
        if state.due_at is not None and apology_timing(calendar, state.due_at, now) == "late":
            data["late"] = True  # after the last day, or past the due date: issued late
    errors.raise_if_any()
    return projection.record_event(
        session,
        row,
        code=code,
        action=action,
        data=data,
        identity=identity,
        actor=actor,
        side=Side.COMMUNE,
        now=now,
    )


PROCESSOR_ROLES = frozenset({"receiver", "leader"})  # who "Chuyển xử lý" may hand a dossier to


def recipients(session: Session) -> list[Officer]:
    """The officers a dossier may be handed to: active receivers and leaders."""
    rows = session.scalars(select(Officer).where(Officer.active).order_by(Officer.full_name))
    return [o for o in rows if o.role_set & PROCESSOR_ROLES]


def waiting_for(session: Session, username: str, limit: int = 50) -> list[Dossier]:
    """Dossiers in processing handed to ``username`` ("waiting for me"), oldest due first.
    A forwarded dossier's holder is a hub officer, whatever their user name."""
    holder = func.json_extract(Dossier.state, "$.holder")
    forwarded = func.coalesce(func.json_extract(Dossier.state, "$.forwarded"), 0)
    return list(
        session.scalars(
            select(Dossier)
            .where(Dossier.status == int(Status.PROCESSING), holder == username, forwarded == 0)
            .order_by(Dossier.due_at, Dossier.code)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class DossierFilter:
    status: int | None = None
    procedure: str | None = None
    query: str | None = None  # code, ID number, phone, or words of the applicant's name
    agency_code: str = ""  # this node's agency: a code typed without it is one of its own
    due: str | None = None  # "today", "overdue", "soon"


def due_soon_bound(calendar: WorkingCalendar, now: datetime, days: int = 2) -> datetime:
    """End of the working day ``days`` working days from today: the 'due soon' horizon."""
    day = calendar.add_working_days(now.astimezone(VN_TZ).date(), days)
    return datetime.combine(day, CLOSE, tzinfo=VN_TZ)


# The FTS5 trigram index over folded applicant names (migration 0003; not an ORM table).
_search = table("dossier_search", column("code"), column("applicant_search"))
_TRIGRAM = 3  # the shortest text the trigram index can look up


def search_terms(folded: str) -> list[str]:
    """The look-ups for a folded name query: each word of three letters or more on its own
    (in any order, not necessarily side by side), and a shorter word kept with the word
    before it ("van an" in "nguyen van an"), since the trigram index cannot look up fewer
    than three letters and a lone short word would match nearly every name."""
    terms: list[str] = []
    for word in folded.split():
        if len(word) < _TRIGRAM and terms:
            terms[-1] = f"{terms[-1]} {word}"
        else:
            terms.append(word)
    if len(terms) > 1 and len(terms[0]) < _TRIGRAM:  # a short first word: with the next
        terms[:2] = [f"{terms[0]} {terms[1]}"]
    return list(dict.fromkeys(terms))


def name_matches(text: str) -> ColumnElement[bool]:
    """Dossiers whose applicant name contains every word of ``text``, in any order and not
    necessarily side by side ("Nguyễn Nhung" finds "Nguyễn Thị Hồng Nhung"), with or
    without diacritics: one look-up in the trigram index (migration 0003) for all the
    words at once."""
    terms = search_terms(validators.fold_diacritics(text))
    if not terms or len(terms[0]) < _TRIGRAM:  # a single short word: the slow way
        return Dossier.applicant_search.contains(terms[0] if terms else "", autoescape=True)
    query = " AND ".join('"' + t.replace('"', '""') + '"' for t in terms)  # FTS5 strings
    found = select(_search.c.code).where(literal_column("dossier_search").op("MATCH")(query))
    return Dossier.code.in_(found)


_DIGITS = re.compile(r"[0-9 .+\-]+\Z")
_PARTIAL_CODE = re.compile(r"(\d{6})-(\d{1,4})\Z")


def query_matches(text: str, *, agency_code: str = "") -> ColumnElement[bool]:
    """What one search box finds: a whole dossier code, the part after the agency code
    (``261204-0001``, this node's own dossiers), a 12-digit ID number, a mobile number
    however it is written, or words of the applicant's name."""
    text = text.strip()
    found: list[ColumnElement[bool]] = [Dossier.code == text]
    partial = _PARTIAL_CODE.match(text)
    if partial and agency_code:
        day, number = partial.groups()
        found.append(Dossier.code == f"{agency_code}-{day}-{int(number):04d}")
    digits = re.sub(r"\D", "", text)
    if _DIGITS.match(text) and len(digits) == 12 and not text.startswith("+"):
        found.append(Dossier.id_number == digits)
    if _DIGITS.match(text) and not validators.validate_phone(text):
        found.append(Dossier.phone == validators.normalise_phone(text))
    if not _DIGITS.match(text) and not partial:
        found.append(name_matches(text))
    return or_(*found)


def list_query(flt: DossierFilter, *, now: datetime, calendar: WorkingCalendar) -> Select[Dossier]:
    """The desk's dossier list; each filter reads an index in the order it shows
    (``open_due_at`` is the due date of open dossiers only)."""
    stmt = select(Dossier)
    if flt.status is not None:
        stmt = stmt.where(Dossier.status == flt.status)
    if flt.procedure:
        stmt = stmt.where(Dossier.procedure_code == flt.procedure)
    if flt.query:
        stmt = stmt.where(query_matches(flt.query, agency_code=flt.agency_code))
    if flt.due == "overdue":
        stmt = stmt.where(Dossier.open_due_at < now)
    elif flt.due == "today":
        start = datetime.combine(now.astimezone(VN_TZ).date(), time(0), tzinfo=VN_TZ)
        stmt = stmt.where(
            Dossier.open_due_at >= start, Dossier.open_due_at < start + timedelta(days=1)
        )
    elif flt.due == "soon":
        stmt = stmt.where(
            Dossier.open_due_at >= now, Dossier.open_due_at <= due_soon_bound(calendar, now)
        )
    if flt.due in ("overdue", "today", "soon"):
        return stmt.order_by(Dossier.open_due_at, Dossier.code)
    return stmt.order_by(Dossier.created_at.desc(), Dossier.code.desc())


def list_dossiers(
    session: Session,
    flt: DossierFilter,
    *,
    now: datetime,
    calendar: WorkingCalendar,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Dossier], int]:
    if flt.query and not flt.agency_code:
        flt = replace(flt, agency_code=get_setting(session, "agency_code") or "")
    stmt = list_query(flt, now=now, calendar=calendar)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    # The page's codes first, from the list's index alone (the rows skipped over are not
    # read from the table), then the rows of that page by their primary key.
    codes = list(session.scalars(stmt.with_only_columns(Dossier.code).limit(limit).offset(offset)))
    if not codes:
        return [], total
    found = {d.code: d for d in session.scalars(select(Dossier).where(Dossier.code.in_(codes)))}
    return [found[c] for c in codes if c in found], total
