"""The desk's pages: dashboard, dossier list, dossier page and its actions.

Views parse input (marshmallow), call one service inside a session, and render. The intake
form lives in :mod:`commune_node.web.intake_page` and node administration in
:mod:`commune_node.web.admin`; both are nested in this blueprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from marshmallow import EXCLUDE, Schema, fields, validate

from common import lifecycle
from common.calendar import VN_TZ, WorkingCalendar, apology_deadline, apology_timing
from common.errors import ValidationError
from common.lifecycle import Side, Status
from common_web import schemas
from common_web.i18n import errors_by_field, pick
from commune_node.db import read_session, write_session
from commune_node.models import Dossier
from commune_node.services import dossiers, privacy, queries
from commune_node.services.dossiers import DossierFilter
from commune_node.web import admin, display, form_data, inputs, intake_page
from commune_node.web.auth import login_required
from commune_node.web.context import calendar, clock, current_actor, node_identity
from commune_node.web.proclog import log_processing

bp = Blueprint("pages", __name__)
bp.register_blueprint(intake_page.bp)
bp.register_blueprint(admin.bp)
display.init(bp)

PAGE_SIZE = 25
# After these actions the officer usually prints the form that goes with them.
PRINT_AFTER = {
    "supplement_requested": "02",
    "refused": "03",
    "apologised": "04",
    "stopped": "05",
}


class ListQuery(Schema):
    """Filters of the dossier list (all in the URL: none of them is personal data)."""

    class Meta:
        unknown = EXCLUDE

    status = fields.Integer(load_default=None, validate=validate.Range(1, 10))
    due = fields.String(load_default=None, validate=validate.OneOf(["today", "overdue", "soon"]))
    procedure = fields.String(load_default=None, validate=validate.Length(1, 64))
    page = fields.Integer(load_default=1, validate=validate.Range(1, 10**6))


@dataclass(frozen=True)
class DuePanel:
    """The dashboard's three lists of open dossiers by how close their due date is."""

    overdue: list[Dossier]
    today: list[Dossier]
    soon: list[Dossier]


def _due_panel(now: datetime, cal: WorkingCalendar) -> tuple[DuePanel, dict[str, str]]:
    with read_session() as db:

        def rows(due: str) -> list[Dossier]:
            found, _total = dossiers.list_dossiers(
                db, DossierFilter(due=due), now=now, calendar=cal, limit=100
            )
            return found

        overdue, today, soon = rows("overdue"), rows("today"), rows("soon")
        names = queries.procedure_names(db, {r.procedure_code for r in overdue + today + soon})
    seen = {r.code for r in overdue}
    today = [r for r in today if r.code not in seen]
    seen |= {r.code for r in today}
    return DuePanel(overdue, today, [r for r in soon if r.code not in seen]), names


@bp.get("/")
@login_required()
def home() -> Any:
    now, cal = clock()(), calendar()
    with read_session() as db:
        counts = queries.status_counts(db)
        waiting = dossiers.waiting_for(db, current_actor().username)
        waiting_names = queries.procedure_names(db, {r.procedure_code for r in waiting})
    panel, names = _due_panel(now, cal)
    names = {**waiting_names, **names}
    return render_template(
        "home.html",
        counts=counts,
        waiting=waiting,
        statuses=[s for s in Status if s is not Status.NEW],
        panel=panel,
        names=names,
        now=now,
        can_apologise=bool(current_actor().roles & lifecycle.ACTIONS["apologised"].roles),
        deadline=lambda due: apology_deadline(cal, due),
        today=now.astimezone(VN_TZ).date(),
    )


@bp.route("/dossiers", methods=["GET", "POST"])
@login_required()
def dossier_list() -> Any:
    args = {k: v for k, v in request.args.items() if v.strip()}
    flt = schemas.load(ListQuery(), args)
    if request.method == "POST":
        if request.form.get("clear"):
            session.pop("list_q", None)
            return redirect(url_for("pages.dossier_list"))
        # The search text may be a citizen's name: it goes in the session, never in a URL.
        session["list_q"] = request.form.get("q", "").strip()[:100]
        kept: dict[str, Any] = {
            k: v for k, v in request.form.items() if k in ("status", "due", "procedure") and v
        }
        return redirect(url_for("pages.dossier_list", **kept))
    query = session.get("list_q") or None
    now, cal = clock()(), calendar()
    page = flt.pop("page")
    with read_session() as db:
        rows, total = dossiers.list_dossiers(
            db,
            DossierFilter(query=query, **flt),
            now=now,
            calendar=cal,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
        procedures = queries.procedure_names(db)
    return render_template(
        "dossiers.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        flt=flt,
        query=query or "",
        procedures=procedures,
        statuses=[s for s in Status if s is not Status.NEW],
        now=now,
        open_statuses={int(s) for s in lifecycle.OPEN},
    )


def _dossier_page(
    code: str,
    *,
    failed: str | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Any:
    now = clock()()
    with read_session() as db:
        row = dossiers.get(db, code)
        events = form_data.scrub(row, queries.history(db, code))
        names = queries.officer_names(db, {e.actor for e in events})
        procedure = queries.procedure(db, row.procedure_code)
        handed_to = [(o.username, o.full_name, "leader" in o.role_set)
                     for o in dossiers.recipients(db)]  # fmt: skip
        if row.state.get("holder"):
            names.update(queries.officer_names(db, {row.state["holder"]}))
    state = lifecycle.state_from_dict(row.state)
    actions = lifecycle.likely_first(
        state, lifecycle.allowed_actions(state, side=Side.COMMUNE, roles=current_actor().roles)
    )
    facts = next((e.data for e in events if "applicant" in e.data), {})
    if row.personal_erased_at is not None:  # old records still hold it: not shown again
        facts = {}
    types = {e.type for e in events}
    forms = [("06", _("Processing-control slip (form 06)"))]
    if form_data.receipt(events) is not None:
        forms.insert(0, ("01", _("Receipt and appointment slip (form 01)")))
    for kind, event_type, label in (
        ("02", "dossier.supplement_requested", _("Request to supplement (form 02)")),
        ("03", "dossier.refused", _("Refusal (form 03)")),
        ("04", "dossier.apologised", _("Apology and new appointment (form 04)")),
        ("05", "dossier.stopped", _("Notice of stopping (form 05)")),
    ):
        if event_type in types:
            forms.append((kind, label))
    if row.ended_at is not None:
        timing = display.timeliness(row.ended_at, row.due_at)
    elif state.is_open and row.due_at is not None and now > row.due_at:
        timing = "late"
    else:
        timing = None
    return render_template(
        "dossier.html",
        row=row,
        state=state,
        procedure=procedure,
        facts=facts,
        events=events,
        names=names,
        actions=[(a, inputs.action_fields(a.name)) for a in actions],
        forms=forms,
        timing=timing,
        failed=failed,
        errors=errors or {},
        values=request.form if failed else {},
        ratings=schemas.RATINGS,
        recipients=handed_to,
        apology=apology_timing(calendar(), row.due_at, now) if row.due_at else None,
        destructive=lifecycle.DESTRUCTIVE,
        now=now,
    ), status


@bp.get("/dossiers/<code>")
@login_required()
def dossier_page(code: str) -> Any:
    page = _dossier_page(code)
    log_processing(privacy.VIEW, code, "dossier page")
    return page


@bp.post("/dossiers/<code>/actions/<action>")
@login_required()
def dossier_action(code: str, action: str) -> Any:
    if action not in schemas.ACTION_NAMES:
        abort(404)
    with read_session() as db:
        procedure = queries.procedure(db, dossiers.get(db, code).procedure_code)
    doc_ids = [d.id for d in procedure.documents] if procedure else []
    payload = inputs.action_payload(action, request.form, doc_ids)
    try:
        form = schemas.load(schemas.action_schema(action), payload)
        with write_session() as db:
            dossiers.act(
                db,
                code,
                action,
                form,
                identity=node_identity(db),
                clock=clock(),
                actor=current_actor(),
                calendar=calendar(),
            )
    except ValidationError as exc:
        return _dossier_page(code, failed=action, errors=errors_by_field(exc.problems), status=422)
    done = lifecycle.ACTIONS[action]
    flash(_("Done: %(action)s.", action=pick(done.vi, done.en)), "success")
    if action in PRINT_AFTER:
        return redirect(url_for("printing.form", kind=PRINT_AFTER[action], code=code))
    return redirect(url_for("pages.dossier_page", code=code))
