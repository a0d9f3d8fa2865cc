"""Scanned documents at the hub (docs/sync-protocol.md, "Files").

``hub_file``: each file once by its SHA-256, however many records name it, encrypted with
the hub's data key. ``node_file``: one per node and file its stored records name — how many
bytes have arrived (the resume point) and when the upload completed. ``file_part``: the
chunks of an upload not yet complete, each encrypted, dropped once the file is whole.
``file_ref``: each stored ``dossier.document_attached`` record: which dossier and catalogue
document the file is."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from central_hub.base import Base


class HubFile(Base):
    __tablename__ = "hub_file"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(40))
    box: Mapped[bytes] = mapped_column(LargeBinary)  # nonce || ChaCha20-Poly1305 (data key)
    stored_at: Mapped[datetime]


class NodeFile(Base):
    __tablename__ = "node_file"
    node_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(40))
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    first_seen_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_node_file_waiting", "node_id", "completed_at"),)


class FilePart(Base):
    __tablename__ = "file_part"
    node_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    offset: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    length: Mapped[int]
    box: Mapped[bytes] = mapped_column(LargeBinary)


class FileRef(Base):
    __tablename__ = "file_ref"
    node_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    record_id: Mapped[str] = mapped_column(String(64))
    dossier_code: Mapped[str] = mapped_column(String(64), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    document: Mapped[str] = mapped_column(String(64))
    document_name: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(BigInteger)
    pages: Mapped[int]
    stored_at: Mapped[datetime]
