"""The last step of a sync run: scanned documents' files, after every record has gone.

Only files whose ``dossier.document_attached`` record the hub has receipted are sent (the
hub takes no bytes a stored record does not name). For those, oldest first: ask the hub
where each upload stands (``POST /sync/v1/files/status``), then send chunks from there
(``PUT /sync/v1/files/<sha256>?offset=N``) until the file is whole or the run's byte budget
(``SYNC_FILE_BUDGET_BYTES``) is spent. A cut link loses at most the chunk in flight: the
next run asks again and goes on from what the hub kept. The hub's signed file receipt,
verified with its key, is the only thing that marks a file sent. Network I/O never happens
inside a database transaction. Protocol: docs/sync-protocol.md, "Files".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from common import documents, protocol
from common_io.database import Database
from commune_node.file_models import DossierDocument, StoredFile
from commune_node.services import backlog
from commune_node.services.hublink import Client, HubLink, SyncRefused

DEFAULT_CHUNK_BYTES = 32 * 1024
STATUS_BATCH = 100


@dataclass
class FileSyncResult:
    sent_bytes: int = 0
    completed: int = 0
    waiting: int = 0  # files still without a receipt after this run
    interrupted: bool = False  # stopped because new records wait: push them, then go on


def _sendable(db: Database) -> list[tuple[str, int]]:
    """(sha256, size) of files without a receipt whose record the hub has receipted."""
    with db.read() as session:
        acked = backlog.acked_seq(session)
        named = (
            select(DossierDocument.sha256).where(DossierDocument.seq <= acked).distinct()
        )  # a file is sent once its record is at the hub
        stmt = (
            select(StoredFile.sha256, StoredFile.size)
            .where(StoredFile.receipted_at.is_(None), StoredFile.sha256.in_(named))
            .order_by(StoredFile.created_at, StoredFile.sha256)
        )
        return [(sha, size) for sha, size in session.execute(stmt)]


def _keep_receipt(db: Database, link: HubLink, sha: str, raw: bytes, *, client: Client) -> bool:
    try:
        body = documents.open_receipt(raw, link.public)
    except Exception:
        return False
    if (
        body.get("sha256") != sha
        or body.get("node") != client.identity.node_id
        or body.get("hub") != link.hub_id
    ):
        return False
    with db.write() as session:
        row = session.get(StoredFile, sha)
        if row is not None and row.receipted_at is None:
            row.receipt = raw
            row.receipted_at = client.clock()
    return True


def _content(db: Database, sha: str, offset: int, length: int) -> bytes | None:
    with db.read() as session:
        row = session.get(StoredFile, sha)
        return None if row is None else bytes(row.content[offset : offset + length])


def send_files(
    db: Database,
    client: Client,
    link: HubLink,
    *,
    budget: int | None = None,
    chunk: int = DEFAULT_CHUNK_BYTES,
    records_waiting: Callable[[], bool] | None = None,
) -> FileSyncResult:
    """Send what the budget allows (None: no limit); raises LinkError on a cut link. Before
    each chunk ``records_waiting`` is asked: when a record was written meanwhile (a dossier
    taken in during a long upload), stop with ``interrupted`` so the run pushes it first."""
    result = FileSyncResult()
    pending = _sendable(db)
    for start in range(0, len(pending), STATUS_BATCH):
        group = pending[start : start + STATUS_BATCH]
        resp = client.call(
            "POST",
            "/sync/v1/files/status",
            json.dumps({"files": [sha for sha, _ in group]}).encode(),
            content_type="application/json",
        )
        found = resp.json().get("files", {})
        for sha, size in group:
            state = found.get(sha) or {}
            if state.get("receipt"):
                if _keep_receipt(db, link, sha, protocol.unb64(state["receipt"], "receipt"),
                                 client=client):  # fmt: skip
                    result.completed += 1
                continue
            if not state.get("known"):
                continue  # the hub has not stored the record naming it yet
            offset = int(state.get("offset", 0))
            while offset < size:
                if budget is not None and result.sent_bytes >= budget:
                    break
                if records_waiting is not None and records_waiting():
                    result.interrupted = True
                    return result
                length = chunk if budget is None else min(chunk, budget - result.sent_bytes)
                data = _content(db, sha, offset, length)
                if not data:
                    break  # erased meanwhile
                try:
                    resp = client.call(
                        "PUT",
                        f"/sync/v1/files/{sha}?offset={offset}",
                        data,
                        content_type="application/octet-stream",
                    )
                except SyncRefused as exc:
                    if exc.code in ("file_offset", "file_hash_mismatch"):
                        offset = int(exc.detail.get("offset", 0))
                        if exc.code == "file_hash_mismatch":
                            break  # our copy does not match its own hash: try next run
                        continue
                    raise
                result.sent_bytes += len(data)
                answer = resp.json()
                offset = int(answer.get("offset", offset + len(data)))
                if answer.get("receipt"):
                    raw = protocol.unb64(answer["receipt"], "receipt")
                    if _keep_receipt(db, link, sha, raw, client=client):
                        result.completed += 1
                    break
    with db.read() as session:
        result.waiting = len(
            list(
                session.scalars(select(StoredFile.sha256).where(StoredFile.receipted_at.is_(None)))
            )
        )
    return result
