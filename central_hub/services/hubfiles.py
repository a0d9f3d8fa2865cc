"""Scanned documents at the hub: the files nodes upload after their records.

A node may upload only a file that one of its own stored, accepted records names
(``dossier.document_attached``, noted by :func:`note_refs` in the push's transaction), and
only of the size that record says. Chunks arrive in order from the resume point the hub
reports (:func:`status`); each is kept encrypted with the hub's data key. When the last
byte is in, the whole is checked against the hash: a match is stored once (however many
records and nodes name it) and answered with a signed file receipt; a mismatch throws the
upload away, raises an alert, and the node starts again. Docs: docs/sync-protocol.md.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from central_hub.file_models import FilePart, FileRef, HubFile, NodeFile
from central_hub.services import nodes
from central_hub.services.identity import HubIdentity
from common import documents, protocol, record
from common.errors import NotFound

_AAD = b"vn-dossier/file/v1\n"


def _seal(key: bytes, data: bytes, *, sha: str, offset: int | None = None) -> bytes:
    nonce = os.urandom(12)
    aad = _AAD + bytes.fromhex(sha) + (b"" if offset is None else offset.to_bytes(8, "big"))
    return nonce + ChaCha20Poly1305(key).encrypt(nonce, data, aad)


def _open(key: bytes, box: bytes, *, sha: str, offset: int | None = None) -> bytes:
    aad = _AAD + bytes.fromhex(sha) + (b"" if offset is None else offset.to_bytes(8, "big"))
    return ChaCha20Poly1305(key).decrypt(box[:12], box[12:], aad)


def refusal(code: str, en: str, vi: str, status: int, **detail: Any) -> protocol.ProtocolError:
    err = protocol.ProtocolError(en, vi=vi, **detail)
    err.code = code
    err.status = status
    return err


def note_refs(session: Session, records: list[record.Record], *, now: datetime) -> None:
    """Remember the files these stored, accepted attachment records name (push transaction)."""
    for rec in records:
        if rec.type != documents.TYPE or rec.dossier is None:
            continue
        att = documents.Attachment.from_data(rec.data)
        if session.get(FileRef, (rec.node, rec.seq)) is None:
            session.add(
                FileRef(
                    node_id=rec.node,
                    seq=rec.seq,
                    record_id=rec.id,
                    dossier_code=rec.dossier,
                    sha256=att.sha256,
                    document=att.document,
                    document_name=att.document_name[:300],
                    size=att.size,
                    pages=att.pages,
                    stored_at=now,
                )
            )
        nf = session.get(NodeFile, (rec.node, att.sha256))
        if nf is None:
            session.add(
                NodeFile(
                    node_id=rec.node,
                    sha256=att.sha256,
                    size=att.size,
                    media_type=att.media_type,
                    received=0,
                    first_seen_at=now,
                )
            )
        session.flush()


def _receipt(session: Session, nf: NodeFile, *, hub: HubIdentity) -> bytes:
    """The file receipt (the same bytes every time it is asked for)."""
    assert nf.completed_at is not None
    codes = session.scalars(
        select(FileRef.dossier_code)
        .where(FileRef.node_id == nf.node_id, FileRef.sha256 == nf.sha256)
        .distinct()
    )
    body = documents.receipt_body(
        hub=hub.hub_id,
        node=nf.node_id,
        sha256=nf.sha256,
        size=nf.size,
        time=nf.completed_at.isoformat(timespec="seconds"),
        dossiers=list(codes),
    )
    return documents.sign_receipt(body, hub.key)


def status(
    session: Session, node_id: str, shas: list[str], *, hub: HubIdentity
) -> dict[str, dict[str, Any]]:
    """Per file: where its upload resumes, or its receipt when complete. A file no record
    of this node names is ``known: false`` (the node must push that record first)."""
    out: dict[str, dict[str, Any]] = {}
    for sha in shas:
        nf = session.get(NodeFile, (node_id, sha))
        if nf is None:
            out[sha] = {"known": False, "offset": 0}
        elif nf.completed_at is not None:
            out[sha] = {
                "known": True,
                "offset": nf.size,
                "receipt": protocol.b64(_receipt(session, nf, hub=hub)),
            }
        else:
            out[sha] = {"known": True, "offset": nf.received, "size": nf.size}
    return out


@dataclass
class ChunkOutcome:
    offset: int
    receipt: bytes | None = None
    error: protocol.ProtocolError | None = None  # the upload was thrown away


def put_chunk(
    session: Session,
    node_id: str,
    sha: str,
    *,
    offset: int,
    data: bytes,
    hub: HubIdentity,
    now: datetime,
) -> ChunkOutcome:
    """Take one chunk at ``offset``; complete the file when it is the last. Raises a
    ProtocolError: ``file_unknown`` (no record of this node names the file),
    ``file_offset`` (not where the upload stands: ``detail.offset`` says where),
    ``file_too_long`` (past the size the record said); a whole that does not match its hash
    is thrown away and comes back as ``error`` (``file_hash_mismatch``), to be raised once
    the transaction has kept the reset."""
    nf = session.scalars(
        select(NodeFile)
        .where(NodeFile.node_id == node_id, NodeFile.sha256 == sha)
        .with_for_update()
    ).first()
    if nf is None:
        raise refusal(
            "file_unknown",
            "no stored record of this node names this file; push the record first",
            "Không có bản ghi nào của nút nêu tệp này; hãy gửi bản ghi trước",
            404,
        )
    if nf.completed_at is not None:  # sent again after a lost answer: the same receipt
        return ChunkOutcome(nf.size, _receipt(session, nf, hub=hub))
    if offset != nf.received:
        raise refusal(
            "file_offset",
            f"the upload stands at byte {nf.received}, not {offset}",
            f"Tệp đang ở byte {nf.received}, không phải {offset}",
            409,
            offset=nf.received,
        )
    if not data or offset + len(data) > nf.size:
        raise refusal(
            "file_too_long",
            f"the record says {nf.size} bytes; this chunk ends at {offset + len(data)}",
            f"Bản ghi nói tệp dài {nf.size} byte; phần này vượt quá",
            400,
            offset=nf.received,
        )
    session.add(
        FilePart(
            node_id=node_id,
            sha256=sha,
            offset=offset,
            length=len(data),
            box=_seal(hub.data_key, data, sha=sha, offset=offset),
        )
    )
    nf.received = offset + len(data)
    if nf.received < nf.size:
        return ChunkOutcome(nf.received)
    session.flush()
    whole = _assemble(session, node_id, sha, hub=hub)
    session.execute(delete(FilePart).where(FilePart.node_id == node_id, FilePart.sha256 == sha))
    if whole is None or hashlib.sha256(whole).hexdigest() != sha:
        nf.received = 0
        nodes.alert(
            session,
            "file_mismatch",
            node_id,
            f"the bytes uploaded for file {sha[:12]}… do not match its hash; thrown away",
            now,
        )
        return ChunkOutcome(  # returned, not raised: the reset and the alert are kept
            0,
            error=refusal(
                "file_hash_mismatch",
                "the bytes sent do not match the file's SHA-256; start again from 0",
                "Nội dung gửi không khớp mã băm SHA-256 của tệp; gửi lại từ đầu",
                422,
                offset=0,
            ),
        )
    if session.get(HubFile, sha) is None:  # stored once, however many records name it
        session.add(
            HubFile(
                sha256=sha,
                size=len(whole),
                media_type=nf.media_type,
                box=_seal(hub.data_key, whole, sha=sha),
                stored_at=now,
            )
        )
    nf.completed_at = now.replace(microsecond=0)
    session.flush()
    return ChunkOutcome(nf.size, _receipt(session, nf, hub=hub))


def _assemble(session: Session, node_id: str, sha: str, *, hub: HubIdentity) -> bytes | None:
    parts = session.scalars(
        select(FilePart)
        .where(FilePart.node_id == node_id, FilePart.sha256 == sha)
        .order_by(FilePart.offset)
    )
    out = bytearray()
    for part in parts:
        if part.offset != len(out):
            return None
        try:
            out += _open(hub.data_key, part.box, sha=sha, offset=part.offset)
        except InvalidTag:
            return None
    return bytes(out)


@dataclass(frozen=True)
class Listed:
    ref: FileRef
    stored: bool


def of_dossier(session: Session, code: str) -> list[Listed]:
    refs = list(
        session.scalars(select(FileRef).where(FileRef.dossier_code == code).order_by(FileRef.seq))
    )
    held = set(
        session.scalars(select(HubFile.sha256).where(HubFile.sha256.in_({r.sha256 for r in refs})))
    )
    return [Listed(r, r.sha256 in held) for r in refs]


def content(session: Session, code: str, seq: int, node_id: str, *, hub: HubIdentity) -> tuple[
    FileRef, bytes
]:  # fmt: skip
    ref = session.get(FileRef, (node_id, seq))
    stored = session.get(HubFile, ref.sha256) if ref is not None else None
    if ref is None or ref.dossier_code != code or stored is None:
        raise NotFound("no such document", vi="Không có giấy tờ này")
    return ref, _open(hub.data_key, stored.box, sha=stored.sha256)


@dataclass(frozen=True)
class Waiting:
    count: int
    size: int
    oldest: datetime | None


def waiting_by_node(session: Session) -> dict[str, Waiting]:
    """Per node: files its records name that have not arrived whole."""
    stmt = (
        select(
            NodeFile.node_id,
            func.count(),
            func.sum(NodeFile.size),
            func.min(NodeFile.first_seen_at),
        )
        .where(NodeFile.completed_at.is_(None))
        .group_by(NodeFile.node_id)
    )
    return {n: Waiting(int(c), int(s or 0), o) for n, c, s, o in session.execute(stmt)}


def erase(session: Session, code: str) -> int:
    """Remove a dossier's files (personal data) unless another dossier still names them;
    the records keep the hashes. Returns the files removed."""
    shas = set(session.scalars(select(FileRef.sha256).where(FileRef.dossier_code == code)))
    session.execute(delete(FileRef).where(FileRef.dossier_code == code))
    still = set(session.scalars(select(FileRef.sha256).where(FileRef.sha256.in_(shas))))
    gone = shas - still
    if gone:
        session.execute(delete(HubFile).where(HubFile.sha256.in_(gone)))
        session.execute(delete(FilePart).where(FilePart.sha256.in_(gone)))
        session.execute(delete(NodeFile).where(NodeFile.sha256.in_(gone)))
    return len(gone)
