"""The hub's outbox to the national public service portal (DVCQG, through the LGSP).

Writing: every status change the portal must hear about — a hub officer's action
(``feed._log``) and a commune's record taken in by a push (``ingest.accept_batch``) — calls
:func:`note` in the transaction of the change. :func:`note` builds the message with
``common.portal`` from the dossier's state after the record, the catalogue (procedure name,
field, time limit, fee), the dossier's intake record (owner's name and ID number, when it was
taken in) and the handling unit (the commune's agency code, or the hub's own once forwarded).
A message with a problem (``portal.problems``) is not queued: it becomes an alert for the
administrator. A change the portal must hear about is a new status, a forward (the handling
unit changes) or a moved appointment (an apology).

Sending is in ``portal_sender.py``; back-fill (:func:`resync`) and "resend after fixing"
(:func:`resend`) rebuild a message from the dossier's stored records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from central_hub.models import HubDossier, LogRecord, Node
from central_hub.portal_models import QUEUED, REFUSED, PortalMessage
from central_hub.services import disclosures, health, nodes
from central_hub.services.identity import get_setting
from common import lifecycle, portal, record, record_fast
from common.catalogue import Catalogue
from common.errors import DossierError, NotFound
from common.lifecycle import DossierState, Side
from common_io.database import insert_rows

AGENCY_SETTING = "agency_code"  # the hub's own agency code (central-hub portal agency)
_CATALOGUES: dict[str, Catalogue] = {}


@dataclass(frozen=True)
class Change:
    """One dossier record applied to the projection: the state before and after it."""

    rec: record.Record
    before: DossierState | None
    after: DossierState
    leaf: int


@dataclass(frozen=True)
class Intake:
    owner_name: str
    owner_id: str
    taken_at: datetime


def matters(before: DossierState | None, after: DossierState) -> bool:
    """Whether the portal must hear about this change."""
    return before is None or (before.status, before.forwarded, before.due_at) != (
        after.status,
        after.forwarded,
        after.due_at,
    )


def _catalogue(session: Session, hub_id: str) -> Catalogue:
    """The catalogue published last, parsed once per publication."""
    last = session.scalar(
        select(LogRecord.record_id)
        .where(LogRecord.node_id == hub_id, LogRecord.type == "catalogue.published")
        .order_by(LogRecord.seq.desc())
        .limit(1)
    )
    key = last or "sample"
    found = _CATALOGUES.get(key)
    if found is None:
        found = _CATALOGUES[key] = health.current_catalogue(session, hub_id)
    return found


PERSONAL_FIELDS = ("ChuHoSo", "MaDoiTuong")  # the applicant's name and ID number


def protect_body(msg: dict[str, Any]) -> dict[str, Any]:
    """A message as the outbox keeps it: the applicant's name and ID number encrypted with
    the hub's data key until it is sent (then emptied)."""
    return {
        k: disclosures.protect(v, context=f"portal_message.{k}")
        if k in PERSONAL_FIELDS and isinstance(v, str)
        else v
        for k, v in msg.items()
    }


def open_body(body: dict[str, Any]) -> dict[str, Any]:
    """The message as the portal gets it."""
    return {
        k: disclosures.unprotect(v, context=f"portal_message.{k}")
        if k in PERSONAL_FIELDS and isinstance(v, str)
        else v
        for k, v in body.items()
    }


def _intakes(session: Session, codes: set[str]) -> dict[str, Intake]:
    """Each dossier's intake record (its first record that was not refused)."""
    out: dict[str, Intake] = {}
    ordered = sorted(codes)
    for i in range(0, len(ordered), 500):
        chunk = ordered[i : i + 500]
        first = (
            select(func.min(LogRecord.leaf))
            .where(LogRecord.dossier_code.in_(chunk), LogRecord.dead.is_(False))
            .group_by(LogRecord.dossier_code)
        )
        raws = session.scalars(select(LogRecord.raw).where(LogRecord.leaf.in_(first)))
        recs = [record_fast.parse(raw) for raw in raws]
        applicants = disclosures.applicants_of(session, recs)
        for rec in recs:
            applicant = applicants[rec.id]
            assert rec.dossier is not None
            out[rec.dossier] = Intake(
                owner_name=str(applicant.get("name", "")),
                owner_id=str(applicant.get("id_number", "")),
                taken_at=rec.at_time,
            )
    return out


def _agencies(session: Session, codes: set[str]) -> dict[str, str]:
    """The agency code of each dossier's commune."""
    rows = session.execute(
        select(HubDossier.code, Node.agency_code)
        .join(Node, Node.node_id == HubDossier.node_id)
        .where(HubDossier.code.in_(sorted(codes)))
    )
    return {code: agency for code, agency in rows}


def build(
    change: Change,
    *,
    intake: Intake | None,
    catalogue: Catalogue,
    commune_agency: str,
    hub_agency: str,
) -> dict[str, Any]:
    """The portal message for one change (not yet checked)."""
    after = change.after
    proc = catalogue.get(after.procedure)
    dossier = portal.PortalDossier(
        state=after,
        changed_at=change.rec.at_time,
        taken_at=intake.taken_at if intake else change.rec.at_time,
        procedure_name=proc.name if proc else "",
        field_code="",
        field_name=proc.field if proc else "",
        limit_days=proc.limit_days or 0 if proc else 0,
        limit_hours=proc.limit_hours if proc else None,
        owner_name=intake.owner_name if intake else "",
        owner_id=intake.owner_id if intake else "",
        handled_by=hub_agency if after.forwarded else commune_agency,
        fee=proc.fee if proc else 0,
    )
    return portal.message(dossier)


def note(session: Session, changes: list[Change], *, hub_id: str, now: datetime) -> int:
    """Queue the portal message of every change that matters (in the caller's transaction).
    A message with a problem becomes an alert instead. Returns how many were queued."""
    wanted = [c for c in changes if c.rec.dossier is not None and matters(c.before, c.after)]
    if not wanted:
        return 0
    codes = {c.rec.dossier for c in wanted if c.rec.dossier is not None}
    session.flush()
    intakes = _intakes(session, codes)
    agencies = _agencies(session, codes)
    catalogue = _catalogue(session, hub_id)
    hub_agency = get_setting(session, AGENCY_SETTING) or ""
    rows = []
    for change in wanted:
        code = change.rec.dossier
        assert code is not None
        msg = build(
            change,
            intake=intakes.get(code),
            catalogue=catalogue,
            commune_agency=agencies.get(code, ""),
            hub_agency=hub_agency,
        )
        row = _row(session, code, change.leaf, msg, origin="change", now=now)
        if row is not None:
            rows.append(row)
    if rows:
        insert_rows(session, PortalMessage, rows)  # one bulk insert for a pushed batch
    return len(rows)


def _row(
    session: Session, code: str, leaf: int, msg: dict[str, Any], *, origin: str, now: datetime
) -> dict[str, Any] | None:
    """The outbox row of a message, or None (and an alert) when it has a problem."""
    found = portal.problems(msg)
    if found:
        nodes.alert(
            session,
            "portal_message",
            None,
            f"dossier {code}: the portal message for status {msg.get('TrangThaiHoSo')} is "
            f"not sent: {'; '.join(found)}",
            now,
            coalesce=True,  # one row, counted, until the administrator acknowledges it
        )
        return None
    return {
        "dossier_code": code,
        "leaf": leaf,
        "delivery_key": portal.delivery_key(msg),
        "status_code": int(msg["TrangThaiHoSo"]),
        "body": protect_body(msg),
        "origin": origin,
        "state": QUEUED,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


def queue(
    session: Session, code: str, leaf: int, msg: dict[str, Any], *, origin: str, now: datetime
) -> int:
    """Queue one message (1), or raise an alert for its problems (0)."""
    row = _row(session, code, leaf, msg, origin=origin, now=now)
    if row is None:
        return 0
    session.execute(insert(PortalMessage), [row])
    return 1


# --------------------------------------------------------------------------- rebuilding


def _replay(session: Session, code: str, *, hub_id: str, upto: int | None) -> Change | None:
    """The last change that matters among the dossier's stored records (up to a leaf)."""
    stmt = select(LogRecord.leaf, LogRecord.raw, LogRecord.node_id).where(
        LogRecord.dossier_code == code, LogRecord.dead.is_(False)
    )
    if upto is not None:
        stmt = stmt.where(LogRecord.leaf <= upto)
    state: DossierState | None = None
    last: Change | None = None
    for leaf, raw, writer in session.execute(stmt.order_by(LogRecord.leaf)):
        rec = record.parse(raw)
        side = Side.HUB if writer == hub_id else Side.COMMUNE
        try:
            new = lifecycle.apply(
                state, event_type=rec.type, data=rec.data, at=rec.at_time, code=code, side=side
            )
        except DossierError:
            continue  # as the projection: a record the rules refuse changes nothing
        if matters(state, new):
            last = Change(rec, state, new, leaf)
        state = new
    return last


def _rebuild(session: Session, code: str, *, hub_id: str, upto: int | None) -> tuple[
    Change | None, dict[str, Any] | None
]:  # fmt: skip
    change = _replay(session, code, hub_id=hub_id, upto=upto)
    if change is None:
        return None, None
    msg = build(
        change,
        intake=_intakes(session, {code}).get(code),
        catalogue=_catalogue(session, hub_id),
        commune_agency=_agencies(session, {code}).get(code, ""),
        hub_agency=get_setting(session, AGENCY_SETTING) or "",
    )
    return change, msg


def resync(session: Session, *, since: datetime, hub_id: str, now: datetime) -> tuple[int, int]:
    """Queue again the current status of every dossier changed since ``since`` (back-fill).
    Returns (queued, not sent because of a problem: see the alerts)."""
    codes = session.scalars(
        select(HubDossier.code).where(HubDossier.updated_at >= since).order_by(HubDossier.code)
    ).all()
    queued = problems = 0
    for code in codes:
        change, msg = _rebuild(session, code, hub_id=hub_id, upto=None)
        if change is None or msg is None:
            continue
        if queue(session, code, change.leaf, msg, origin="resync", now=now):
            queued += 1
        else:
            problems += 1
    return queued, problems


def resend(session: Session, message_id: int, *, hub_id: str, now: datetime) -> list[str]:
    """Put a refused message back in the queue, rebuilt from today's catalogue, intake record
    and settings (the administrator fixed what the portal refused). Returns the problems that
    still stop it (then it stays refused with them)."""
    row = session.get(PortalMessage, message_id)
    if row is None or row.state != REFUSED:
        raise NotFound(
            f"no refused portal message {message_id}",
            vi=f"Không có tin gửi Cổng DVCQG bị từ chối số {message_id}",
        )
    _, msg = _rebuild(session, row.dossier_code, hub_id=hub_id, upto=row.leaf)
    found = portal.problems(msg) if msg is not None else ["dossier: no status to send"]
    if found:
        row.last_error = ("still not sendable: " + "; ".join(found))[:1000]
        row.updated_at = now
        return found
    assert msg is not None
    row.body, row.delivery_key = protect_body(msg), portal.delivery_key(msg)
    row.state, row.attempts, row.next_attempt_at = QUEUED, 0, now
    row.claim, row.claimed_until, row.updated_at = None, None, now
    return []
