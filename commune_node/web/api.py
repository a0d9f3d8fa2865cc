"""The node's JSON API (``/api/v1``): everything the pages do, for scripts and other tools.

Authentication is a per-officer bearer token (``Authorization: Bearer dn_…``); the session
cookie is never accepted here, so the API needs no CSRF token. Every body is JSON; every
error is ``{"error": {"code", "message", "message_vi", …}}`` with a 4xx status.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, g, jsonify, request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from common import canonical, keys
from common.errors import DossierError
from common_web import schemas
from commune_node.db import read_session, write_session
from commune_node.services import (
    catalogue,
    dossiers,
    eventlog,
    idempotency,
    intake,
    officers,
    privacy,
)
from commune_node.web import serialize
from commune_node.web.auth import csrf
from commune_node.web.context import calendar, clock, current_actor, node_identity
from commune_node.web.openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
F = TypeVar("F", bound=Callable[..., Any])


class Unauthorised(DossierError):
    code = "unauthorised"
    status = 401
    vi = "Cần mã truy cập (Bearer token) hợp lệ."
    en = "A valid bearer token is required."


def token_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or len(header) > 200:
            raise Unauthorised()
        with read_session() as db:
            officer = officers.officer_for_token(db, header[7:].strip())
        if officer is None:
            raise Unauthorised("The bearer token is unknown or revoked.")
        g.officer = officer
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


MAX_JSON_DEPTH = 8


def json_body() -> Any:
    """The request's JSON, refusing other media types, bad UTF-8 and deep nesting (400)."""
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as application/json.")
    if canonical.nesting_depth(request.get_data(cache=True)) > MAX_JSON_DEPTH:
        raise BadRequest(f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.")
    try:
        return request.get_json()
    except BadRequest as exc:
        raise BadRequest("The body is not valid JSON (UTF-8).") from exc


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise BadRequest(f"Query parameter '{name}' must be a whole number from {lo} to {hi}.")
    return int(raw)


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document())


@bp.get("/node")
@token_required
def node_info() -> Any:
    ident = node_identity()
    with read_session() as db:
        last = eventlog.head(db)
    return jsonify(
        {
            "node_id": ident.node_id,
            "key_id": ident.key_id,
            "public_key": keys.public_bytes(ident.key).hex(),
            "commune_name": ident.commune_name,
            "agency_code": ident.agency_code,
            "head_seq": last.seq if last else 0,
            "head_id": last.record_id if last else None,
        }
    )


@bp.get("/procedures")
@token_required
def list_procedures() -> Any:
    q = request.args.get("q", "")[:100]
    with read_session() as db:
        found = catalogue.search(db, q) if q else catalogue.all_procedures(db)
    return jsonify({"procedures": [serialize.procedure(p) for p in found]})


@bp.post("/dossiers")
@token_required
def create_dossier() -> Any:
    form = schemas.load(schemas.IntakeSchema(), json_body())
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        key = idempotency.check_key(key, field="Idempotency-Key")
    with write_session() as db:
        row = intake.take_in(
            db,
            form,
            identity=node_identity(db),
            clock=clock(),
            actor=current_actor(),
            calendar=calendar(),
            key=key,
            key_field="Idempotency-Key",
        )
        body = serialize.dossier(row)
    return jsonify({"dossier": body}), 201


@bp.get("/dossiers")
@token_required
def list_dossiers() -> Any:
    status = request.args.get("status")
    if status is not None and (not status.isdigit() or not 1 <= int(status) <= 10):
        raise BadRequest("Query parameter 'status' must be a portal status code from 1 to 10.")
    due = request.args.get("due")
    if due is not None and due not in ("today", "overdue", "soon"):
        raise BadRequest("Query parameter 'due' must be one of: today, overdue, soon.")
    flt = dossiers.DossierFilter(
        status=int(status) if status else None,
        procedure=request.args.get("procedure") or None,
        query=(request.args.get("q") or "")[:100] or None,
        due=due,
    )
    limit = _int_arg("limit", 50, 1, 500)
    offset = _int_arg("offset", 0, 0, 10**9)
    with read_session() as db:
        rows, total = dossiers.list_dossiers(
            db, flt, now=clock()(), calendar=calendar(), limit=limit, offset=offset
        )
        items = [serialize.dossier(r) for r in rows]
    return jsonify({"dossiers": items, "total": total, "limit": limit, "offset": offset})


@bp.get("/dossiers/<code>")
@token_required
def get_dossier(code: str) -> Any:
    with read_session() as db:
        row = dossiers.get(db, code)
        body = serialize.dossier(row)
        body["events"] = [serialize.event(e) for e in dossiers.events_of(db, code)]
    with write_session() as db:
        privacy.record(
            db,
            officer=current_actor().username,
            action=privacy.VIEW,
            dossier_code=code,
            purpose="API",
            at=clock()(),
        )
    return jsonify({"dossier": body})


@bp.post("/dossiers/<code>/actions/<action>")
@token_required
def apply_action(code: str, action: str) -> Any:
    if action not in schemas.ACTION_NAMES:
        raise DossierError(
            f"unknown action {action!r}",
            vi=f"Không có thao tác {action!r}",
            known=sorted(schemas.ACTION_NAMES),
        )
    form = schemas.load(schemas.action_schema(action), json_body())
    with write_session() as db:
        row = dossiers.act(
            db,
            code,
            action,
            form,
            identity=node_identity(db),
            clock=clock(),
            actor=current_actor(),
            calendar=calendar(),
        )
        body = serialize.dossier(row)
    return jsonify({"dossier": body})


@bp.get("/events")
@token_required
def read_events() -> Any:
    after = _int_arg("after", 0, 0, 2**53 - 1)
    limit = _int_arg("limit", 500, 1, 5000)
    with read_session() as db:
        rows = eventlog.read_after(db, after, limit)
        items = [serialize.event(e) for e in rows]
    return jsonify({"events": items, "next_after": items[-1]["seq"] if items else after})
