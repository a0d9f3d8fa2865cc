"""Personal data at the hub: the processing log and erasure (administrator), and the
citizen's rights look-up across communes (administrator) that prints what the province's
hub holds about one citizen. :func:`log_processing` is what other views call."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from central_hub.services import disclosures, health, privacy
from central_hub.web.auth import login_required
from central_hub.web.context import clock, database, hub_identity
from common.errors import DossierError, ValidationError

bp = Blueprint("privacy", __name__)
ADMIN = "administrator"


def log_processing(action: str, code: str | None, purpose: str) -> None:
    """Record that the logged-in user processed a dossier's personal data."""
    with database().write() as session:
        privacy.record(
            session,
            officer=g.user.username,
            action=action,
            dossier_code=code,
            purpose=purpose,
            at=clock()(),
        )


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.get("/processing-log")
@login_required(ADMIN)
def processing_log() -> Any:
    args = {k: v.strip()[:64] for k, v in request.args.items() if v.strip()}
    page = int(args["page"]) if args.get("page", "").isdigit() and int(args["page"]) > 0 else 1
    flt = privacy.LogFilter(
        officer=args.get("officer"),
        dossier=args.get("dossier"),
        start=_date(args.get("from", "")),
        end=_date(args.get("to", "")),
    )
    with database().read() as session:
        rows, total = privacy.entries(session, flt, page=page)
    return render_template(
        "processing_log.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // privacy.PAGE_SIZE)),
        args={k: v for k, v in args.items() if k != "page"},
        names=privacy.ACTION_NAMES,
    )


def _erasure_page(errors: dict[str, str] | None = None, status: int = 200) -> Any:
    with database().read() as session:
        runs = privacy.runs(session)
    return render_template(
        "erasure.html", runs=runs, errors=errors or {}, values=request.form if errors else {}
    ), status


@bp.get("/erasure")
@login_required(ADMIN)
def erasure() -> Any:
    return _erasure_page()


@bp.post("/erasure")
@login_required(ADMIN)
def erase() -> Any:
    code = request.form.get("code", "").strip()[:64]
    errors: dict[str, str] = {}
    if not code:
        errors["code"] = "Nhập mã hồ sơ. / Enter the dossier code."
    if request.form.get("confirm") != "yes":
        errors["confirm"] = (
            "Đánh dấu xác nhận: dữ liệu đã xoá không lấy lại được. / Tick the confirmation."
        )
    try:
        privacy.check_reason(request.form.get("reason", ""))
    except ValidationError as exc:
        errors["reason"] = " / ".join((exc.problems[0].vi, exc.problems[0].en))
    if errors:
        return _erasure_page(errors, 422)
    try:
        run = privacy.erase_on_request(
            database(),
            code,
            reason=request.form.get("reason", ""),
            officer=g.user.username,
            now=clock()(),
        )
    except DossierError as exc:
        return _erasure_page({"code": f"{exc.vi} / {exc.en}"}, 404)
    flash(
        f"Đã xoá dữ liệu cá nhân của hồ sơ {code} ({run.notifications} thông báo). "
        f"/ Personal data of {code} erased.",
        "success",
    )
    return redirect(url_for("pages.privacy.erasure"))


@bp.get("/citizen-data")
@login_required(ADMIN)
def citizen_form() -> Any:
    return render_template("citizen_form.html", error=None, values={})


@bp.post("/citizen-data")
@login_required(ADMIN)
def citizen_report() -> Any:
    try:
        id_number = privacy.check_id(request.form.get("id_number", "")[:40])
    except ValidationError as exc:
        p = exc.problems[0]
        return render_template(
            "citizen_form.html", error=f"{p.vi} / {p.en}", values=request.form
        ), 422
    purpose = " ".join(request.form.get("purpose", "").split())[:200]
    purpose = purpose or "citizen's request to see their data"
    now = clock()()
    with database().write() as session:
        catalogue = health.current_catalogue(session, hub_identity().hub_id)
        held = privacy.citizen_holdings(session, id_number, catalogue)
        codes: list[str | None] = [h.row.code for h in held]
        for code in codes or [None]:
            privacy.record(
                session,
                officer=g.user.username,
                action=privacy.LOOKUP,
                dossier_code=code,
                purpose=purpose,
                at=now,
            )
        names = {c: catalogue.get(c) for c in {h.row.procedure_code for h in held}}
        hub = hub_identity()
        applicants = {  # decrypted for this page only (disclosures)
            h.row.code: str(disclosures.applicant(session, h.row.code, hub=hub).get("name", ""))
            for h in held
            if h.row.personal_erased_at is None
        }
        for item in held:
            session.expunge(item.row)
            for v in item.views:
                session.expunge(v)
    return render_template(
        "citizen_report.html",
        held=held,
        id_number=id_number,
        names=privacy.ACTION_NAMES,
        procedures={c: (p.name if p else c) for c, p in names.items()},
        applicants=applicants,
        now=now,
    )
