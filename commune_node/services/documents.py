"""A dossier's scanned documents at the node: attach, list, read, erase, and what waits to go.

:func:`attach` takes a document already made into one PDF (:mod:`scans`, outside the
transaction) and, in the caller's write transaction, keeps the file once by its SHA-256,
writes the signed ``dossier.document_attached`` record through
:func:`projection.record_event` (the same rules as every dossier action) and the row that
names the dossier's document — all or nothing.

The bytes live in the ``stored_file`` table of the node's database, which SQLCipher
encrypts with the desk's data key: the file is as protected as the dossier it belongs to,
is in every ``commune-node backup`` (a consistent copy of that database), and its erasure
shares the dossier's transaction, with ``secure_delete`` zeroing the freed pages
(services/privacy.py). Files kept beside the database would need their own key handling,
their own backup step and could outlive an erasure by a crash between the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from common import documents
from common.catalogue import Procedure as CatalogueProcedure
from common.errors import ErrorList, NotFound
from common.lifecycle import Side
from commune_node.file_models import DossierDocument, StoredFile
from commune_node.models import Dossier, Procedure
from commune_node.services import eventlog, projection
from commune_node.services.identity import Clock, NodeIdentity
from commune_node.services.officers import Actor
from commune_node.services.scans import Limits, Normalised


def attach(
    session: Session,
    code: str,
    *,
    document: str,
    scan: Normalised,
    identity: NodeIdentity,
    clock: Clock,
    actor: Actor,
    limits: Limits,
    field: str = "document",
) -> DossierDocument:
    """Attach one document (already one PDF) to dossier ``code``: raises NotFound, or
    ValidationError naming ``field`` (a document not in the procedure's catalogue entry, a
    dossier over its byte limit) or the rules' own errors (a role that may not attach)."""
    row = session.get(Dossier, code)
    if row is None:
        raise NotFound(f"no dossier with code {code}", vi=f"Không có hồ sơ mã {code}")
    errors = ErrorList()
    proc = session.get(Procedure, row.procedure_code)
    entry = None
    if proc is not None:
        entry = CatalogueProcedure.from_dict(proc.definition).document(document)
    if entry is None:
        errors.add(
            field,
            "not_in_catalogue",
            "Giấy tờ này không có trong danh mục của thủ tục.",
            "This document is not listed for the procedure.",
        )
    sha = documents.digest(scan.pdf)
    used = dossier_bytes(session, code)
    already = session.scalar(
        select(func.count())
        .select_from(DossierDocument)
        .where(DossierDocument.dossier_code == code, DossierDocument.sha256 == sha)
    )
    if not already and used + len(scan.pdf) > limits.dossier_bytes:
        mb = limits.dossier_bytes / (1024 * 1024)
        errors.add(
            "files",
            "dossier_too_large",
            f"Tệp đính kèm của hồ sơ vượt quá {mb:g} MB.",
            f"The dossier's attached files would pass {mb:g} MB.",
        )
    errors.raise_if_any()
    assert entry is not None
    same = session.scalars(
        select(DossierDocument).where(
            DossierDocument.dossier_code == code,
            DossierDocument.document == entry.id,
            DossierDocument.sha256 == sha,
        )
    ).first()
    if same is not None:  # the same pages sent again (a retried form): nothing new to sign
        return same
    attachment = documents.Attachment(
        document=entry.id,
        document_name=entry.name,
        sha256=sha,
        size=len(scan.pdf),
        media_type=documents.PDF,
        pages=scan.pages,
    )
    now = clock()
    projection.record_event(
        session,
        row,
        code=code,
        action="document_attached",
        data=attachment.data(),
        identity=identity,
        actor=actor,
        side=Side.COMMUNE,
        now=now,
    )
    if session.get(StoredFile, sha) is None:  # the same file twice is kept once
        session.add(
            StoredFile(
                sha256=sha,
                size=len(scan.pdf),
                media_type=documents.PDF,
                content=scan.pdf,
                created_at=now,
            )
        )
    head = eventlog.head(session)
    assert head is not None
    doc = DossierDocument(
        dossier_code=code,
        document=entry.id,
        document_name=entry.name,
        sha256=sha,
        size=len(scan.pdf),
        pages=scan.pages,
        record_id=head.record_id,
        seq=head.seq,
        attached_at=now.replace(microsecond=0),
        actor=actor.username,
    )
    session.add(doc)
    session.flush()
    return doc


def dossier_bytes(session: Session, code: str) -> int:
    """Bytes of the distinct files attached to a dossier."""
    shas = select(DossierDocument.sha256).where(DossierDocument.dossier_code == code).distinct()
    total = session.scalar(select(func.sum(StoredFile.size)).where(StoredFile.sha256.in_(shas)))
    return int(total or 0)


@dataclass(frozen=True)
class Listed:
    doc: DossierDocument
    sent: bool  # the hub's file receipt is kept


def of_dossier(session: Session, code: str) -> list[Listed]:
    stmt = (
        select(DossierDocument, StoredFile.receipted_at)
        .join(StoredFile, StoredFile.sha256 == DossierDocument.sha256, isouter=True)
        .where(DossierDocument.dossier_code == code)
        .order_by(DossierDocument.id)
    )
    return [Listed(doc, at is not None) for doc, at in session.execute(stmt)]


def content(session: Session, code: str, doc_id: int) -> tuple[DossierDocument, bytes]:
    """One attached document of ``code`` and its bytes (NotFound after an erasure)."""
    doc = session.get(DossierDocument, doc_id)
    stored = session.get(StoredFile, doc.sha256) if doc is not None else None
    if doc is None or doc.dossier_code != code or stored is None:
        raise NotFound("no such document", vi="Không có giấy tờ này")
    return doc, stored.content


@dataclass(frozen=True)
class Waiting:
    """Files the hub has not yet receipted: the sync page's line."""

    count: int
    size: int
    oldest: datetime | None


def waiting(session: Session) -> Waiting:
    count, size, oldest = session.execute(
        select(func.count(), func.sum(StoredFile.size), func.min(StoredFile.created_at)).where(
            StoredFile.receipted_at.is_(None)
        )
    ).one()
    return Waiting(int(count or 0), int(size or 0), oldest)


def erase(session: Session, code: str) -> int:
    """Remove a dossier's files (its personal data) and their rows; a file another dossier
    still names stays. Returns the files removed. The records keep only the hashes."""
    shas = set(
        session.scalars(select(DossierDocument.sha256).where(DossierDocument.dossier_code == code))
    )
    session.execute(delete(DossierDocument).where(DossierDocument.dossier_code == code))
    still = set(
        session.scalars(select(DossierDocument.sha256).where(DossierDocument.sha256.in_(shas)))
    )
    gone = shas - still
    if gone:
        session.execute(delete(StoredFile).where(StoredFile.sha256.in_(gone)))
    return len(gone)
