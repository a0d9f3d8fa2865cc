"""A dossier's scanned documents at the hub: download one (written to the processing log).
The URL names the dossier, the commune's node and the record's sequence number — no
personal data. Listed on the dossier page (``templates/_documents.html``)."""

from __future__ import annotations

from flask import Blueprint, Response

from central_hub.services import hubfiles, privacy
from central_hub.web.auth import login_required
from central_hub.web.context import database, hub_identity
from central_hub.web.privacy import log_processing

bp = Blueprint("documents", __name__)


@bp.get("/dossiers/<code>/documents/<node_id>/<int:seq>")
@login_required("administrator", "hub_officer")
def download(code: str, node_id: str, seq: int) -> Response:
    with database().read() as session:
        ref, data = hubfiles.content(session, code, seq, node_id[:32], hub=hub_identity())
        name = f"{code}-{ref.document}-{seq}.pdf"
    resp = Response(data, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["Cache-Control"] = "no-store"
    log_processing(privacy.EXPORT, code, f"document (record {seq}) downloaded")
    return resp
