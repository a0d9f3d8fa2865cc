"""Personal data at the hub: the processing log, the citizen's rights look-up across
communes, and erasure when a procedure's retention period ends or on a lawful request.

*Processing log* (``processing_log``): one row per view of a dossier's page, download of its
records, export, disclosure, rights look-up and erasure — officer, time, dossier, action,
purpose — apart from the transparency log. List pages write nothing (see the node's
``services/privacy.py`` for why).

*Look-up by ID number*: ``hub_dossier.id_digest`` holds HMAC-SHA-256 of the applicant's ID
number under the hub's look-up key (``hub_setting`` ``lookup_key``, made by migration
0010), never the number itself; dossiers taken in before that revision have none.

*Erasure*: :func:`erase_dossier_personal_data` is the hub's one place that removes
everything personal of a dossier outside the signed records: the projection's name (it
then reads "Dữ liệu cá nhân đã xoá ngày …") and ID look-up hash, the citizen
notifications' phones, e-mails and texts, the public look-up's salted digits, the owner's
name and ID number in the national-portal messages, and the name where an alert or a flag
quoted it. ``log_record`` and everything the log's proofs rest on are not touched.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from central_hub.models import Alert, ErasureRun, HubDossier, Node, ProcessingEntry
from central_hub.notify_models import DELIVERED, FAILED, HubNotification, StatusKey
from central_hub.portal_models import PortalMessage
from central_hub.services import disclosures
from common import retention
from common.calendar import VN_TZ
from common.catalogue import Catalogue
from common.errors import FieldProblem, NotFound, ValidationError
from common_io.database import Database

log = logging.getLogger("central_hub.privacy")

VIEW, PRINT, EXPORT, DISCLOSE, LOOKUP, ERASE = (
    "view",
    "print",
    "export",
    "disclose",
    "lookup",
    "erase",
)
ACTIONS: Final = (VIEW, PRINT, EXPORT, DISCLOSE, LOOKUP, ERASE)
ACTION_NAMES: Final = {
    VIEW: ("Xem", "View"),
    PRINT: ("In", "Print"),
    EXPORT: ("Xuất", "Export"),
    DISCLOSE: ("Cung cấp", "Disclosure"),
    LOOKUP: ("Tra cứu quyền", "Rights look-up"),
    ERASE: ("Xoá", "Erasure"),
}
SCHEDULER: Final = "(retention)"
PAGE_SIZE: Final = 50
MIN_REASON: Final = 10
PORTAL_OWNER_FIELDS: Final = ("ChuHoSo", "MaDoiTuong")  # common/portal.py


# --------------------------------------------------------------------------- processing log


def record(
    session: Session,
    *,
    officer: str,
    action: str,
    dossier_code: str | None,
    purpose: str,
    at: datetime,
) -> None:
    assert action in ACTIONS, action
    session.add(
        ProcessingEntry(
            at=at,
            officer=officer[:64],
            dossier_code=dossier_code,
            action=action,
            purpose=purpose[:300],
        )
    )


@dataclass(frozen=True)
class LogFilter:
    officer: str | None = None
    dossier: str | None = None
    start: date | None = None
    end: date | None = None


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=VN_TZ)


def entries(
    session: Session, flt: LogFilter, *, page: int = 1, size: int = PAGE_SIZE
) -> tuple[list[ProcessingEntry], int]:
    q = select(ProcessingEntry)
    if flt.officer:
        q = q.where(ProcessingEntry.officer == flt.officer)
    if flt.dossier:
        q = q.where(ProcessingEntry.dossier_code == flt.dossier)
    if flt.start:
        q = q.where(ProcessingEntry.at >= _day_start(flt.start))
    if flt.end:
        q = q.where(ProcessingEntry.at < _day_start(flt.end + timedelta(days=1)))
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(
        q.order_by(ProcessingEntry.at.desc(), ProcessingEntry.id.desc())
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    return list(rows), total


# --------------------------------------------------------------------------- ID look-up


def check_id(id_number: str) -> str:
    value = "".join(id_number.split()).upper()
    if not (6 <= len(value) <= 12) or not value.isalnum() or (value.isdigit() and len(value) != 12):
        raise ValidationError(
            [
                FieldProblem(
                    "id_number",
                    "id_number",
                    "Nhập số CCCD (12 chữ số) hoặc số hộ chiếu (6–12 chữ và số).",
                    "Enter a CCCD number (12 digits) or a passport number (6-12 letters and "
                    "digits).",
                )
            ]
        )
    return value


# --------------------------------------------------------------------------- retention


def erase_on(row: HubDossier, catalogue: Catalogue) -> datetime | None:
    if row.ended_at is None:
        return None
    proc = catalogue.get(row.procedure_code)
    years = proc.retention if proc is not None else retention.DEFAULT_RETENTION_YEARS
    return retention.erase_after(row.ended_at, years)


def due_codes(session: Session, catalogue: Catalogue, now: datetime) -> list[str]:
    years = {p.code: p.retention for p in catalogue}
    shortest = min([retention.DEFAULT_RETENTION_YEARS, *years.values()])
    bound = now - timedelta(days=365 * shortest - 2)
    rows = session.execute(
        select(HubDossier.code, HubDossier.procedure_code, HubDossier.ended_at)
        .where(
            HubDossier.personal_erased_at.is_(None),
            HubDossier.ended_at.is_not(None),
            HubDossier.ended_at <= bound,
        )
        .order_by(HubDossier.ended_at)
    ).all()
    return [
        code
        for code, proc, ended in rows
        if retention.is_due(ended, years.get(proc, retention.DEFAULT_RETENTION_YEARS), now)
    ]


# --------------------------------------------------------------------------- erasure


def erase_dossier_personal_data(session: Session, code: str, *, at: datetime) -> int:
    """Erase everything personal the hub holds about dossier ``code`` outside the signed
    records; returns how many notification rows were emptied. Idempotent (the first
    erasure date stays). Call inside a write transaction.

    This is the hub's single erasure function: whatever else comes to hold a dossier's
    personal data (disclosures kept beside the records) is erased here too."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete = ON"))
    row = session.get(HubDossier, code)
    if row is None:
        raise NotFound(f"no dossier {code} at the hub", vi=f"Cấp trên không có hồ sơ {code}")
    if row.personal_erased_at is None:
        name = row.applicant_name
        label = retention.erased_label(at)[:100]
        if name:
            for alert in session.scalars(
                select(Alert).where(Alert.message.contains(name, autoescape=True))
            ):
                alert.message = alert.message.replace(name, label)
            for flagged in session.scalars(
                select(HubDossier).where(HubDossier.flag.contains(name, autoescape=True))
            ):
                flagged.flag = (flagged.flag or "").replace(name, label)[:300]
        row.applicant_name = label
        row.id_digest = None
        row.personal_erased_at = at
    notified = 0
    for msg in session.scalars(select(HubNotification).where(HubNotification.dossier_code == code)):
        if msg.recipient or msg.text or msg.text_ascii or msg.subject:
            notified += 1
        msg.recipient = ""
        msg.subject = ""
        msg.text = ""
        msg.text_ascii = ""
        if msg.status not in (DELIVERED, FAILED):
            msg.status = FAILED
            msg.last_error = "personal data erased"
        msg.updated_at = at
    key = session.get(StatusKey, code)
    if key is not None:
        session.delete(key)
    for portal in session.scalars(select(PortalMessage).where(PortalMessage.dossier_code == code)):
        body: dict[str, Any] = dict(portal.body)
        if any(body.get(f) for f in PORTAL_OWNER_FIELDS):
            portal.body = {**body, **dict.fromkeys(PORTAL_OWNER_FIELDS, "")}
    disclosures.erase_disclosures(session, code)  # the values version 2 records commit to
    return notified


def flush_wal(db: Database) -> None:
    """On SQLite, copy the erasure into the database file and empty the write-ahead log
    (best effort: skipped while a reader holds it; the next run tries again)."""
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def check_reason(reason: str) -> str:
    text_ = " ".join(reason.split())
    if len(text_) < MIN_REASON:
        raise ValidationError(
            [
                FieldProblem(
                    "reason",
                    "reason_required",
                    f"Ghi lý do (căn cứ pháp lý của yêu cầu), ít nhất {MIN_REASON} ký tự.",
                    f"Give the reason (the request's legal ground), at least {MIN_REASON} "
                    "characters.",
                )
            ]
        )
    return text_[:500]


def _run(session: Session, **fields: Any) -> ErasureRun:
    run = ErasureRun(**fields)
    session.add(run)
    session.flush()
    session.expunge(run)
    return run


def erase_on_request(
    db: Database, code: str, *, reason: str, officer: str, now: datetime
) -> ErasureRun:
    """Erase one dossier's personal data at the hub on a lawful request (reason logged)."""
    why = check_reason(reason)
    started = time.monotonic()
    with db.write() as session:
        notified = erase_dossier_personal_data(session, code, at=now)
        record(session, officer=officer, action=ERASE, dossier_code=code, purpose=why, at=now)
        run = _run(
            session,
            kind="request",
            started_at=now,
            finished_at=now,
            officer=officer,
            reason=why,
            dossiers=1,
            notifications=notified,
            milliseconds=int((time.monotonic() - started) * 1000),
        )
    flush_wal(db)
    log.info("personal data of %s erased on request by %s: %s", code, officer, why)
    return run


def run_retention(
    db: Database, catalogue: Catalogue, *, now: datetime, officer: str = SCHEDULER
) -> ErasureRun:
    """Erase every closed dossier past its procedure's retention period, one transaction
    per dossier, and write the report."""
    started = time.monotonic()
    with db.read() as session:
        codes = due_codes(session, catalogue, now)
    dossiers = notified = 0
    for code in codes:
        with db.write() as session:
            row = session.get(HubDossier, code)
            if row is None or row.personal_erased_at is not None:
                continue
            notified += erase_dossier_personal_data(session, code, at=now)
            record(
                session,
                officer=officer,
                action=ERASE,
                dossier_code=code,
                purpose="retention period ended",
                at=now,
            )
        dossiers += 1
    with db.write() as session:
        run = _run(
            session,
            kind="retention",
            started_at=now,
            finished_at=now,
            officer=officer,
            reason="retention period ended",
            dossiers=dossiers,
            notifications=notified,
            milliseconds=int((time.monotonic() - started) * 1000),
        )
    if dossiers:
        flush_wal(db)
    log.info(
        "retention: %d dossiers erased, %d notifications emptied, %d ms",
        run.dossiers,
        run.notifications,
        run.milliseconds,
    )
    return run


def report_line(run: ErasureRun) -> str:
    return (
        f"{run.started_at.isoformat(timespec='seconds')} erasure of personal data ({run.kind}): "
        f"{run.dossiers} dossiers erased, {run.notifications} notifications emptied, "
        f"{run.milliseconds} ms"
    )


def runs(session: Session, limit: int = 20) -> list[ErasureRun]:
    return list(
        session.scalars(select(ErasureRun).order_by(ErasureRun.id.desc()).limit(limit)).all()
    )


# --------------------------------------------------------------------------- citizen's rights


@dataclass(frozen=True)
class HeldDossier:
    row: HubDossier
    commune: str
    erase_on: datetime | None
    views: list[ProcessingEntry]


def citizen_holdings(session: Session, id_number: str, catalogue: Catalogue) -> list[HeldDossier]:
    """The citizen's dossiers in every commune, found by the keyed hash of their ID number,
    with who processed them at the hub and when their personal data is erased."""
    digest = disclosures.id_digest(session, id_number)
    rows = session.scalars(
        select(HubDossier)
        .where(HubDossier.id_digest == digest)
        .order_by(HubDossier.received_at, HubDossier.code)
    ).all()
    communes = {n.node_id: n.commune_name for n in session.scalars(select(Node))}
    out = []
    for row in rows:
        views = session.scalars(
            select(ProcessingEntry)
            .where(ProcessingEntry.dossier_code == row.code)
            .order_by(ProcessingEntry.at, ProcessingEntry.id)
        ).all()
        out.append(
            HeldDossier(
                row=row,
                commune=communes.get(row.node_id, row.node_id),
                erase_on=erase_on(row, catalogue),
                views=list(views),
            )
        )
    return out
