"""The file transfer of the sync API (``/sync/v1/files``): scanned documents after records.

Signed exactly like every other sync request (``sync_api._authenticate``). ``POST
/sync/v1/files/status`` asks, for up to 100 hashes, where each upload resumes (or its
receipt); ``PUT /sync/v1/files/<sha256>?offset=N`` sends the bytes from ``N`` (a chunk of at
most ``FILE_CHUNK_MAX`` bytes, ``application/octet-stream``), answered with the new offset
and, for the last chunk, the hub's signed file receipt. Described in
docs/sync-protocol.md, "Files".
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, g, jsonify, request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from central_hub.services import hubfiles
from central_hub.web import sync_api
from central_hub.web.auth import csrf
from central_hub.web.context import clock, database, hub_identity
from common import documents, protocol

bp = Blueprint("files", __name__, url_prefix="/sync/v1/files")
csrf.exempt(bp)
FILE_CHUNK_MAX = 256 * 1024
MAX_STATUS = 100


@bp.post("/status")
def file_status() -> Any:
    sync_api.limit_body(16 * 1024)
    sync_api._authenticate()
    if request.mimetype != "application/json":
        raise UnsupportedMediaType('send {"files": [sha256, …]} as application/json')
    try:
        body = json.loads(request.get_data(cache=True).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("the body is not JSON") from exc
    shas = body.get("files") if isinstance(body, dict) else None
    if (
        not isinstance(shas, list)
        or len(shas) > MAX_STATUS
        or not all(documents.is_digest(s) for s in shas)
    ):
        raise BadRequest(f"files: a list of at most {MAX_STATUS} SHA-256 hashes (64 hex)")
    with database().read() as session:
        found = hubfiles.status(session, g.node.node_id, list(shas), hub=hub_identity())
    return jsonify({"files": found})


@bp.put("/<sha256>")
def file_chunk(sha256: str) -> Any:
    sync_api.limit_body(FILE_CHUNK_MAX)
    if not documents.is_digest(sha256):  # (before the signature: the path must be ASCII)
        raise BadRequest("the path names a file by its SHA-256 (64 lowercase hex)")
    sync_api._authenticate()
    if request.mimetype != "application/octet-stream":
        raise UnsupportedMediaType("send the chunk as application/octet-stream")
    raw = request.args.get("offset", "")
    if not raw.isdigit() or int(raw) > documents.MAX_FILE_BYTES:
        raise BadRequest("query parameter 'offset' must be a whole number of bytes")
    data = request.get_data(cache=True)
    with database().write() as session:
        out = hubfiles.put_chunk(
            session,
            g.node.node_id,
            sha256,
            offset=int(raw),
            data=data,
            hub=hub_identity(),
            now=clock()(),
        )
    if out.error is not None:
        raise out.error
    answer: dict[str, Any] = {"offset": out.offset}
    if out.receipt is not None:
        answer["receipt"] = protocol.b64(out.receipt)
    return jsonify(answer)
