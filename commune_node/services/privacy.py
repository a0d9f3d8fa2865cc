"""Personal data at the desk: the processing log, the citizen's rights look-up, and erasure.

*Processing log* (``processing_log``): one row per view of a dossier's page, print of one of
its forms, export that carries personal data, disclosure, rights look-up and erasure —
officer, time, dossier, action, purpose — written in its own short transaction, apart from
the signed log. A list page writes nothing: it shows a name per line but no dossier's
personal data in full, and a row per line shown would make the log grow with every page
turn (the search box's text is not logged either: it may be a name).

*Erasure*: :func:`erase_dossier_personal_data` is the one place that removes everything
personal of a dossier the node holds outside its signed records: the projection's personal
columns (the name column then reads "Dữ liệu cá nhân đã xoá ngày …"), the name's entries in
the search index (kept by the triggers of migration 0003, then merged away by
:func:`compact`), and the citizen notifications' phones, e-mails and texts. The signed
records and the log are not touched, so every chain and proof still verifies. It is
idempotent, and each dossier is erased in its own transaction: a run killed half way leaves
whole dossiers erased or untouched, and the next run goes on.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from common import retention
from common.calendar import VN_TZ
from common.catalogue import Procedure as CatalogueProcedure
from common.errors import FieldProblem, NotFound, ValidationError
from common.validators import normalise_id
from common_io.database import Database
from commune_node.models import Dossier, ErasureRun, Procedure, ProcessingEntry
from commune_node.notify_models import FAILED, FINAL, OutboxMessage
from commune_node.services import personal_data

log = logging.getLogger("commune_node.privacy")

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
SCHEDULER: Final = "(retention)"  # the officer column of the scheduled job's rows
PAGE_SIZE: Final = 50
MIN_REASON: Final = 10  # characters a lawful request's reason must have at least


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
    """One row of the processing log (in the caller's transaction)."""
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
    start: date | None = None  # Vietnam dates, both included
    end: date | None = None


def entries(
    session: Session, flt: LogFilter, *, page: int = 1, size: int = PAGE_SIZE
) -> tuple[list[ProcessingEntry], int]:
    """Rows of the processing log, newest first, with the total matching."""
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


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=VN_TZ)


# --------------------------------------------------------------------------- retention


def procedure_of(session: Session, code: str) -> CatalogueProcedure | None:
    row = session.get(Procedure, code)
    return CatalogueProcedure.from_dict(row.definition) if row is not None else None


def retention_years(session: Session, procedure_code: str) -> int:
    proc = procedure_of(session, procedure_code)
    return proc.retention if proc is not None else retention.DEFAULT_RETENTION_YEARS


def erase_on(session: Session, row: Dossier) -> datetime | None:
    """When a dossier's personal data is due for erasure (None while it is open)."""
    if row.ended_at is None:
        return None
    return retention.erase_after(row.ended_at, retention_years(session, row.procedure_code))


def due_codes(session: Session, now: datetime) -> list[str]:
    """Closed dossiers whose retention has ended and whose personal data is still held."""
    years = {
        p.code: CatalogueProcedure.from_dict(p.definition).retention
        for p in session.scalars(select(Procedure))
    }
    shortest = min([retention.DEFAULT_RETENTION_YEARS, *years.values()])
    # Only dossiers closed at least the shortest period ago can be due: one range on ended_at.
    bound = now - timedelta(days=365 * shortest - 2)
    rows = session.execute(
        select(Dossier.code, Dossier.procedure_code, Dossier.ended_at)
        .where(
            Dossier.personal_erased_at.is_(None),
            Dossier.ended_at.is_not(None),
            Dossier.ended_at <= bound,
        )
        .order_by(Dossier.ended_at)
    ).all()
    return [
        code
        for code, proc, ended in rows
        if retention.is_due(ended, years.get(proc, retention.DEFAULT_RETENTION_YEARS), now)
    ]


# --------------------------------------------------------------------------- erasure


def erase_columns(row: Dossier, at: datetime) -> None:
    """Blank the projection's personal columns (the name column says when they went)."""
    row.applicant_name = retention.erased_label(at)[:100]
    row.applicant_search = ""  # the trigger takes the name out of dossier_search
    row.id_number = ""
    row.phone = ""
    row.email = ""
    row.address = ""
    row.personal_erased_at = at


def erase_dossier_personal_data(session: Session, code: str, *, at: datetime) -> int:
    """Erase everything personal the node holds about dossier ``code`` outside its signed
    records; returns how many notification rows were emptied. Idempotent: a dossier
    already erased keeps its first erasure date. Call inside a write transaction.

    This is the node's single erasure function: whatever else comes to hold a dossier's
    personal data (disclosures kept beside the records) is erased here too."""
    session.execute(text("PRAGMA secure_delete = ON"))  # freed bytes are zeroed on disk
    row = session.get(Dossier, code)
    if row is None:
        raise NotFound(f"dossier {code} not found", vi=f"Không tìm thấy hồ sơ {code}.", code=code)
    if row.personal_erased_at is None:
        erase_columns(row, at)
    notified = 0
    for msg in session.scalars(select(OutboxMessage).where(OutboxMessage.dossier_code == code)):
        if msg.recipient or msg.text or msg.text_ascii or msg.subject:
            notified += 1
        msg.recipient = ""
        msg.subject = ""
        msg.text = ""
        msg.text_ascii = ""
        if msg.state not in FINAL:
            msg.state = FAILED
            msg.detail = "personal data erased"
            msg.updated_at = at
    personal_data.erase_disclosures(session, code)  # the values version 2 records commit to
    return notified


def compact(session: Session) -> None:
    """Merge the search index's segments, so that the tokens of erased names are dropped
    from the file, not only marked deleted."""
    session.execute(text("PRAGMA secure_delete = ON"))
    session.execute(text("INSERT INTO dossier_search (dossier_search) VALUES ('optimize')"))


def flush_wal(db: Database) -> None:
    """Copy the erasure into the database file and empty the write-ahead log, so the old
    pages do not linger in ``node.sqlite3-wal`` (best effort: a reader in the middle of a
    transaction makes SQLite skip it, and the next run tries again)."""
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


def erase_on_request(
    db: Database, code: str, *, reason: str, officer: str, now: datetime
) -> ErasureRun:
    """Erase one dossier's personal data on a lawful request: the reason is required and
    goes into the processing log and the run's report."""
    why = check_reason(reason)
    started = time.monotonic()
    with db.write() as session:
        notified = erase_dossier_personal_data(session, code, at=now)
        record(session, officer=officer, action=ERASE, dossier_code=code, purpose=why, at=now)
        compact(session)
        run = ErasureRun(
            kind="request",
            started_at=now,
            finished_at=now,
            officer=officer,
            reason=why,
            dossiers=1,
            notifications=notified,
            milliseconds=int((time.monotonic() - started) * 1000),
        )
        session.add(run)
        session.flush()
        session.expunge(run)
    flush_wal(db)
    log.info("personal data of %s erased on request by %s: %s", code, officer, why)
    return run


def run_retention(db: Database, *, now: datetime, officer: str = SCHEDULER) -> ErasureRun:
    """The scheduled job: erase every closed dossier whose retention period has ended, one
    transaction per dossier, and write the report (counts, time taken)."""
    started = time.monotonic()
    with db.read() as session:
        codes = due_codes(session, now)
    dossiers = notified = 0
    for code in codes:
        with db.write() as session:
            row = session.get(Dossier, code)
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
        if dossiers:
            compact(session)
        run = ErasureRun(
            kind="retention",
            started_at=now,
            finished_at=now,
            officer=officer,
            reason="retention period ended",
            dossiers=dossiers,
            notifications=notified,
            milliseconds=int((time.monotonic() - started) * 1000),
        )
        session.add(run)
        session.flush()
        session.expunge(run)
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
    row: Dossier
    procedure_name: str
    erase_on: datetime | None
    views: list[ProcessingEntry]


def check_id(id_number: str) -> str:
    """The ID number as the desk stores it: a CCCD's 12 digits, or a passport number."""
    text_ = "".join(id_number.split())
    kind = "cccd" if text_.isdigit() else "passport"
    value = normalise_id(kind, text_)
    if not (6 <= len(value) <= 12) or not value.isalnum() or (kind == "cccd" and len(value) != 12):
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


def citizen_holdings(session: Session, id_number: str) -> list[HeldDossier]:
    """What the commune holds about the citizen with this ID number: their dossiers (the
    personal data in each), who processed it (from the processing log), and when it is
    erased. Dossiers already erased no longer carry the number and are not found."""
    rows = session.scalars(
        select(Dossier).where(Dossier.id_number == id_number).order_by(Dossier.created_at)
    ).all()
    names = {p.code: p.name for p in session.scalars(select(Procedure))}
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
                procedure_name=names.get(row.procedure_code, row.procedure_code),
                erase_on=erase_on(session, row),
                views=list(views),
            )
        )
    return out
