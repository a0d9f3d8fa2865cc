"""The intake form: choose the procedure, tick its catalogue checklist, type the applicant,
and receive (form 01), ask for a supplement (form 02) or refuse (form 03).

Without JavaScript the procedure is chosen with ``?procedure=CODE`` (a link or the select),
which reloads the page with that procedure's checklist; ``static/intake.js`` adds instant
filtering of the embedded procedure list while typing, with or without diacritics.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from common.errors import ValidationError
from common_web import schemas
from common_web.i18n import errors_by_field
from commune_node.db import read_session, write_session
from commune_node.services import catalogue, idempotency, intake, queries
from commune_node.web import inputs
from commune_node.web.auth import login_required
from commune_node.web.context import calendar, clock, current_actor, node_identity

bp = Blueprint("intake", __name__)

FORM_AFTER = {"receive": "01", "register": None, "supplement": "02", "refuse": "03"}
DEFAULTS = MultiDict({"channel": "1", "sets": "1", "notify": "sms"})


def _render(
    values: MultiDict[str, str],
    *,
    code: str,
    q: str = "",
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Any:
    with read_session() as db:
        procedure = queries.procedure(db, code) if code else None
        index = queries.procedure_index(db)
        found = catalogue.search(db, q) if q else []
    if not values.get("intake_key"):
        values = MultiDict(values)
        values["intake_key"] = secrets.token_hex(16)
    return render_template(
        "intake.html",
        procedure=procedure,
        index=[{"code": c, "name": n, "key": k} for c, n, k in index],
        found=found,
        q=q,
        values=values,
        received=set(values.getlist("received")),
        missing=set(values.getlist("missing")),
        errors=errors or {},
    ), status


@bp.get("/dossiers/new")
@login_required("receiver")
def new() -> Any:
    code = request.args.get("procedure", "").strip()[:64]
    q = request.args.get("q", "").strip()[:100]
    values = MultiDict(DEFAULTS)
    values["procedure"] = code
    return _render(values, code=code, q=q)


@bp.post("/dossiers/new")
@login_required("receiver")
def create() -> Any:
    code = request.form.get("procedure", "")[:64]
    with read_session() as db:
        procedure = queries.procedure(db, code)
    docs = procedure.documents if procedure else ()
    payload = inputs.intake_payload(
        request.form, [d.id for d in docs], [d.id for d in docs if d.required]
    )
    key = request.form.get("intake_key") or None
    try:
        form = schemas.load(schemas.FormIntakeSchema(), payload)
        if key is not None:
            key = idempotency.check_key(key, field="intake_key")
        with write_session() as db:
            row = intake.take_in(
                db,
                form,
                identity=node_identity(db),
                clock=clock(),
                actor=current_actor(),
                calendar=calendar(),
                key=key,
            )
            dossier_code = row.code
    except ValidationError as exc:
        values: MultiDict[str, str] = MultiDict(request.form)
        if any(p.field == "intake_key" for p in exc.problems):  # sent again, changed: a new one
            values = MultiDict([(k, v) for k, v in request.form.items(multi=True)
                                if k != "intake_key"])  # fmt: skip
        return _render(values, code=code, errors=errors_by_field(exc.problems), status=422)
    flash(_("Dossier %(code)s saved.", code=dossier_code), "success")
    kind = FORM_AFTER.get(form["outcome"])
    if kind is None:
        return redirect(url_for("pages.dossier_page", code=dossier_code))
    return redirect(url_for("printing.form", kind=kind, code=dossier_code))
