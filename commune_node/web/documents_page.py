"""Scanned documents of a dossier: attach from the dossier page or the JSON API, list,
download. The pages are made one PDF per document outside the write transaction
(:mod:`services.scans`), then :func:`services.documents.attach` keeps the file and signs
its record in one. Downloads are written to the processing log; URLs carry only the
dossier code and the document's row number, never a name or a hash of personal data."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

from common.errors import ValidationError
from commune_node.db import read_session, write_session
from commune_node.services import documents, privacy, scans
from commune_node.web import api, display
from commune_node.web.auth import csrf, login_required
from commune_node.web.context import clock, current_actor, node_identity
from commune_node.web.proclog import log_processing

bp = Blueprint("documents", __name__)
api_bp = Blueprint("documents_api", __name__, url_prefix="/api/v1")
csrf.exempt(api_bp)
DEFAULT_UPLOAD_BYTES = 40 * 1024 * 1024


def limits() -> scans.Limits:
    """The upload limits from the settings (docs/cli.md)."""
    cfg, base = current_app.config, scans.Limits()
    return scans.Limits(
        file_bytes=int(cfg.get("SCAN_MAX_FILE_BYTES", base.file_bytes)),
        pages=int(cfg.get("SCAN_MAX_PAGES", base.pages)),
        dossier_bytes=int(cfg.get("SCAN_MAX_DOSSIER_BYTES", base.dossier_bytes)),
    )


def upload_limit() -> int:
    return int(current_app.config.get("SCAN_MAX_UPLOAD_BYTES", DEFAULT_UPLOAD_BYTES))


UPLOAD_ENDPOINTS = ("documents.attach_page", "documents_api.attach_api", "pages.intake.create")


def _allow_uploads() -> None:
    """The attach routes take pages: a larger body than the node's other requests."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = upload_limit()


def init_app(app: Flask) -> None:
    """Register the blueprints; the body limit is raised before any other hook reads the
    form (the CSRF check does, for every page)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _allow_uploads)
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)


def _read_files(name: str) -> list[scans.Upload]:
    uploads = []
    for f in request.files.getlist(name):
        try:  # (a large upload is spooled to a temporary file: closed at once)
            if f.filename:
                uploads.append(scans.Upload(name, f.filename, f.read()))
        finally:
            f.close()
    return uploads


def scans_of_form(doc_ids: list[str]) -> dict[str, scans.Normalised]:
    """The intake form's pages per catalogue document (fields ``scan-<doc id>``), each made
    one PDF; raises one ValidationError naming every bad field."""
    out: dict[str, scans.Normalised] = {}
    problems = []
    for doc_id in doc_ids:
        uploads = _read_files(f"scan-{doc_id}")
        if not uploads:
            continue
        try:
            out[doc_id] = scans.normalise(uploads, limits())
        except ValidationError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ValidationError(problems)
    return out


def _attach(code: str, document: str, uploads: list[scans.Upload]) -> documents.DossierDocument:
    scan = scans.normalise(uploads, limits())  # CPU, outside the transaction
    with write_session() as db:
        return documents.attach(
            db,
            code,
            document=document,
            scan=scan,
            identity=node_identity(db),
            clock=clock(),
            actor=current_actor(),
            limits=limits(),
        )


@bp.post("/dossiers/<code>/documents")
@login_required("receiver", "leader")
def attach_page(code: str) -> Any:
    document = request.form.get("document", "")[:64]
    uploads = _read_files("files")
    try:
        doc = _attach(code, document, uploads)
    except ValidationError as exc:
        for p in exc.problems:
            flash(f"{p.field}: {display.pick(p.vi, p.en)}", "error")
        return redirect(url_for("pages.dossier_page", code=code) + "#documents")
    flash(_("Attached: %(name)s (%(pages)d pages).", name=doc.document_name, pages=doc.pages),
          "success")  # fmt: skip
    return redirect(url_for("pages.dossier_page", code=code) + "#documents")


def _send(code: str, doc_id: int, purpose: str) -> Response:
    with read_session() as db:
        doc, data = documents.content(db, code, doc_id)
        name = f"{code}-{doc.document}-{doc.id}.pdf"
    resp = Response(data, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["Cache-Control"] = "no-store"
    log_processing(privacy.EXPORT, code, purpose)
    return resp


@bp.get("/dossiers/<code>/documents/<int:doc_id>")
@login_required()
def download_page(code: str, doc_id: int) -> Response:
    return _send(code, doc_id, f"document {doc_id} downloaded")


def _listed(code: str) -> list[dict[str, Any]]:
    with read_session() as db:
        return [
            {
                "id": item.doc.id,
                "document": item.doc.document,
                "document_name": item.doc.document_name,
                "sha256": item.doc.sha256,
                "size": item.doc.size,
                "pages": item.doc.pages,
                "record_id": item.doc.record_id,
                "attached_at": item.doc.attached_at.isoformat(),
                "sent": item.sent,
            }
            for item in documents.of_dossier(db, code)
        ]


@api_bp.get("/dossiers/<code>/documents")
@api.token_required
def list_api(code: str) -> Any:
    return jsonify({"documents": _listed(code)})


@api_bp.post("/dossiers/<code>/documents")
@api.token_required
def attach_api(code: str) -> Any:
    body = api.json_body()
    if not isinstance(body, dict) or not isinstance(body.get("files"), list):
        raise BadRequest('Send {"document": id, "files": [{"name", "content_base64"}, …]}.')
    uploads = []
    for i, item in enumerate(body["files"][:1000]):
        if not isinstance(item, dict) or not isinstance(item.get("content_base64"), str):
            raise BadRequest(f"files[{i}]: needs content_base64 (the file's bytes in base64).")
        try:
            data = base64.b64decode(item["content_base64"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequest(f"files[{i}].content_base64 is not base64.") from exc
        uploads.append(scans.Upload(f"files[{i}]", str(item.get("name", f"file {i}"))[:200], data))
    doc = _attach(code, str(body.get("document", ""))[:64], uploads)
    listed = next(d for d in _listed(code) if d["id"] == doc.id)
    return jsonify({"document": listed}), 201


@api_bp.get("/dossiers/<code>/documents/<int:doc_id>")
@api.token_required
def download_api(code: str, doc_id: int) -> Response:
    if doc_id < 1:
        abort(404)
    return _send(code, doc_id, f"document {doc_id} downloaded (API)")
