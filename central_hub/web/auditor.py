"""The auditor's pages: recent checkpoints with their node cosignatures, the hub's public key
to check them with, and each dossier's exact signed records as a file.

``records.bin`` is the dossier's records in log order, framed exactly as in a sync batch
(``common.protocol.encode_frames``: the magic ``VNDB1``, then per record a varint length and
the record bytes), uncompressed, so an auditor verifies every signature and chain link
offline, without trusting the hub.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for

from central_hub.services import health, privacy
from central_hub.web.auth import login_required
from central_hub.web.context import database, hub_identity
from central_hub.web.privacy import log_processing
from common import protocol

bp = Blueprint("audit", __name__)
ADMIN, AUDITOR = "administrator", "auditor"
_CODE = re.compile(r"[0-9A-Za-z.\-]{1,64}\Z")


@bp.get("/audit")
@login_required(ADMIN, AUDITOR)
def audit() -> Any:
    code = request.args.get("code", "").strip()
    if code and _CODE.match(code):
        return redirect(url_for("pages.dossiers.dossier", code=code))
    hub = hub_identity()
    with database().read() as session:
        rows = health.checkpoints(session)
        node_count = len(health.node_names(session))
    return render_template(
        "audit.html", rows=rows, hub=hub, node_count=node_count, bad_code=bool(code)
    )


@bp.get("/dossiers/<code>/records.bin")
@login_required(ADMIN, AUDITOR)
def records_bin(code: str) -> Any:
    if not _CODE.match(code):
        abort(404)
    with database().read() as session:
        raws = health.dossier_raws(session, code)
    log_processing(privacy.EXPORT, code, "signed records (records.bin)")
    return Response(
        protocol.encode_frames(raws),
        mimetype="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{code}-records.bin"',
            "Cache-Control": "no-store",
        },
    )
