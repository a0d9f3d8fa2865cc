"""Personal data pages: the processing log and erasure (admin), and the citizen's rights
look-up (admin, leader) that prints what the commune holds about one citizen.

The dossier, print and export views write their rows through :mod:`commune_node.web.proclog`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from marshmallow import EXCLUDE, Schema, fields, validate

from common.errors import DossierError, ValidationError
from common_web import schemas
from common_web.i18n import errors_by_field, pick
from commune_node.db import database, read_session, write_session
from commune_node.services import privacy
from commune_node.web.auth import login_required
from commune_node.web.context import clock, current_actor
from commune_node.web.printing import sheet

bp = Blueprint("privacy", __name__)
RIGHTS_ROLES = ("admin", "leader")


class LogQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    officer = fields.String(load_default=None, validate=validate.Length(1, 64))
    dossier = fields.String(load_default=None, validate=validate.Length(1, 64))
    start = fields.Date(data_key="from", load_default=None)
    end = fields.Date(data_key="to", load_default=None)
    page = fields.Integer(load_default=1, validate=validate.Range(1, 10**6))


@bp.get("/admin/processing-log")
@login_required("admin")
def processing_log() -> Any:
    args = {k: v.strip() for k, v in request.args.items() if v.strip()}
    q = schemas.load(LogQuery(), args)
    page = q.pop("page")
    flt = privacy.LogFilter(**q)
    with read_session() as db:
        rows, total = privacy.entries(db, flt, page=page)
    return render_template(
        "processing_log.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // privacy.PAGE_SIZE)),
        args={k: v for k, v in args.items() if k != "page"},
        names=privacy.ACTION_NAMES,
    )


def _erasure_page(errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    with read_session() as db:
        runs = privacy.runs(db)
    return render_template(
        "erasure.html",
        runs=runs,
        errors=errors or {},
        values=request.form if errors else {},
    ), status


@bp.get("/admin/erasure")
@login_required("admin")
def erasure() -> Any:
    return _erasure_page()


@bp.post("/admin/erasure")
@login_required("admin")
def erase() -> Any:
    code = request.form.get("code", "").strip()[:64]
    errors: dict[str, list[str]] = {}
    if not code:
        errors["code"] = [pick("Nhập mã hồ sơ.", "Enter the dossier code.")]
    if request.form.get("confirm") != "yes":
        errors["confirm"] = [
            pick(
                "Đánh dấu xác nhận: dữ liệu cá nhân đã xoá không lấy lại được.",
                "Tick the confirmation: erased personal data cannot be brought back.",
            )
        ]
    try:
        privacy.check_reason(request.form.get("reason", ""))
    except ValidationError as exc:
        errors |= errors_by_field(exc.problems)
    if errors:
        return _erasure_page(errors, 422)
    try:
        run = privacy.erase_on_request(
            database(),
            code,
            reason=request.form.get("reason", ""),
            officer=current_actor().username,
            now=clock()(),
        )
    except DossierError as exc:
        return _erasure_page({"code": [pick(exc.vi, exc.en)]}, 404)
    flash(
        pick(
            f"Đã xoá dữ liệu cá nhân của hồ sơ {code} ({run.notifications} thông báo).",
            f"Personal data of dossier {code} erased ({run.notifications} notifications).",
        ),
        "success",
    )
    return redirect(url_for("privacy.erasure"))


@bp.get("/citizen-data")
@login_required(*RIGHTS_ROLES)
def citizen_form() -> Any:
    return render_template("citizen_form.html", errors={}, values={})


class RightsForm(Schema):
    class Meta:
        unknown = EXCLUDE

    id_number = fields.String(required=True, validate=validate.Length(1, 40))
    purpose = schemas.Text(load_default="", validate=validate.Length(0, 200))


@bp.post("/citizen-data")
@login_required(*RIGHTS_ROLES)
def citizen_report() -> Any:
    # The ID number is posted, never put in a URL: it is personal data.
    try:
        form = schemas.load(RightsForm(), dict(request.form))
        id_number = privacy.check_id(form["id_number"])
    except ValidationError as exc:
        return render_template(
            "citizen_form.html",
            errors=errors_by_field(exc.problems),
            values=request.form,
        ), 422
    purpose = form["purpose"] or "citizen's request to see their data"
    now = clock()()
    with write_session() as db:
        held = privacy.citizen_holdings(db, id_number)
        officer = current_actor().username
        for item in held:
            privacy.record(
                db,
                officer=officer,
                action=privacy.LOOKUP,
                dossier_code=item.row.code,
                purpose=purpose,
                at=now,
            )
        if not held:
            privacy.record(
                db,
                officer=officer,
                action=privacy.LOOKUP,
                dossier_code=None,
                purpose=purpose,
                at=now,
            )
        for item in held:  # the rows are printed after the session closes
            db.expunge(item.row)
            for v in item.views:
                db.expunge(v)
    return render_template(
        "citizen_report.html",
        held=held,
        id_number=id_number,
        names=privacy.ACTION_NAMES,
        today=now.date(),
        **sheet(now),
    )
