"""Scanned documents at the node: the files (content-addressed, kept inside the encrypted
database) and which dossier document each one is (docs/records.md,
``dossier.document_attached``). ``stored_file`` also keeps how far its upload to the hub
has gone and, once complete, the hub's signed file receipt (services/filesync.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from commune_node.base import Base


class StoredFile(Base):
    __tablename__ = "stored_file"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int]
    media_type: Mapped[str] = mapped_column(String(40))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    receipt: Mapped[bytes | None] = mapped_column(LargeBinary)  # the hub's, once complete
    receipted_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_stored_file_waiting", "receipted_at", "created_at"),)


class DossierDocument(Base):
    __tablename__ = "dossier_document"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    dossier_code: Mapped[str] = mapped_column(String(64), index=True)
    document: Mapped[str] = mapped_column(String(64))  # catalogue document id
    document_name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int]
    pages: Mapped[int]
    record_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int]
    attached_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
