"""Node administration: the officers of this desk (admin role only)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import EXCLUDE, Schema, fields, validate
from werkzeug.datastructures import MultiDict

from common.errors import ValidationError
from common_io import accounts
from common_web import schemas
from common_web.i18n import errors_by_field, pick
from commune_node.db import read_session, write_session
from commune_node.models import WEB_SESSION
from commune_node.services import officers, queries
from commune_node.web.auth import login_required
from commune_node.web.context import clock
from commune_node.web.printing import public_status_base

bp = Blueprint("admin", __name__, url_prefix="/admin")


class OfficerForm(Schema):
    class Meta:
        unknown = EXCLUDE

    username = schemas.Text(required=True, validate=validate.Length(1, 64))
    full_name = schemas.Text(required=True, validate=validate.Length(1, 100))
    roles = fields.List(fields.String(validate=validate.Length(1, 20)), required=True)
    password = fields.String(required=True, validate=validate.Length(1, 200))


def _render(
    values: MultiDict[str, str],
    errors: dict[str, list[str]],
    status: int,
    *,
    failed: tuple[str, str] | None = None,
) -> Any:
    with read_session() as db:
        rows = queries.officers(db)
    return render_template(
        "admin_officers.html",
        rows=rows,
        values=values,
        errors=errors,
        roles=[r.value for r in officers.NODE_ROLES],
        status_base=public_status_base(),
        failed=failed,
        me=g.officer.id,
    ), status


@bp.get("/officers")
@login_required("admin")
def officer_list() -> Any:
    return _render(MultiDict(), {}, 200)


@bp.post("/officers")
@login_required("admin")
def officer_add() -> Any:
    raw = {k: request.form.get(k, "") for k in ("username", "full_name", "password")}
    payload: dict[str, Any] = {**raw, "roles": request.form.getlist("roles")}
    payload["username"] = payload["username"].strip().lower()
    try:
        form = schemas.load(OfficerForm(), payload)
        with write_session() as db:
            officer = officers.create_officer(db, clock=clock(), **form)
            username = officer.username
    except ValidationError as exc:
        values = MultiDict([(k, v) for k, v in request.form.items(multi=True) if k != "password"])
        return _render(values, errors_by_field(exc.problems), 422)
    flash(_("Officer %(username)s added.", username=username), "success")
    return redirect(url_for("pages.admin.officer_list"))


@bp.post("/officers/<username>/<action>")
@login_required("admin")
def officer_manage(username: str, action: str) -> Any:
    """Deactivate (sessions and API tokens stop at once), activate again, or reset the
    password of an officer; each form carries a confirmation box."""
    if action not in accounts.ADMIN_ACTIONS:
        abort(404)
    try:
        with write_session() as db:
            officer = officers.by_username(db, username)
            if officer is None:
                abort(404)
            done = accounts.admin_action(
                db, WEB_SESSION, officer, action=action, form=request.form, acting_id=g.officer.id
            )
    except ValidationError as exc:
        return _render(MultiDict(), errors_by_field(exc.problems), 422,
                       failed=(username, action))  # fmt: skip
    flash(f"{username}: {pick(*done)}", "success")
    return redirect(url_for("pages.admin.officer_list"))
