"""Dossiers across communes, the hub officer's queue of forwarded (liên thông) dossiers, the
dossier page with its full signed history, and the hub officer's actions on it.

The action forms reuse the node's marshmallow schemas (``common_web.schemas``): the same
payloads, the same field names in the errors.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from marshmallow import fields
from werkzeug.datastructures import MultiDict

from central_hub.services import disclosures, health, portal_delivery, privacy, processing
from central_hub.web.auth import login_required
from central_hub.web.context import clock, database, hub_identity
from central_hub.web.privacy import log_processing
from common import lifecycle, personal
from common.calendar import classify
from common.errors import DossierError, FieldProblem, ValidationError
from common.lifecycle import Role, Side
from common_web import schemas

bp = Blueprint("dossiers", __name__)
ADMIN, OFFICER, AUDITOR = "administrator", "hub_officer", "auditor"

FIELD_LABELS = {
    "note": ("Ghi chú", "Note"),
    "reason": ("Lý do", "Reason"),
    "missing": ("Giấy tờ cần bổ sung", "Documents to supplement"),
    "amount": ("Số tiền (đồng)", "Amount (VND)"),
    "result": ("Kết quả giải quyết", "Result"),
    "electronic_result": ("Kết quả điện tử (có ký số)", "Electronic result (digitally signed)"),
    "result_no": ("Số văn bản kết quả", "Result document number"),
    "new_due": ("Ngày hẹn mới", "New appointment date"),
    "recipient": ("Chuyển cho cán bộ", "Hand to officer"),
}
_LONG = frozenset({"note", "reason", "result"})
# The order the hub officer meets them in: the usual path first, the exceptions after.
ACTION_ORDER = (
    "processing",
    "resolved",
    "supplement_requested",
    "payment_requested",
    "apologised",
    "stopped",
)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str  # text, textarea, int, bool, date, missing
    required: bool

    @property
    def label(self) -> tuple[str, str]:
        return FIELD_LABELS.get(self.name, (self.name, self.name))


def _kind(name: str, field: fields.Field) -> str:
    if name == "recipient":
        return "officer"
    if isinstance(field, fields.List):
        return "missing"
    if isinstance(field, fields.Boolean):
        return "bool"
    if isinstance(field, fields.Date):
        return "date"
    if isinstance(field, fields.Integer):
        return "int"
    return "textarea" if name in _LONG else "text"


def action_fields(action: str) -> list[FieldSpec]:
    """The inputs of one hub action's form, read from its schema (required first, note last)."""
    schema = schemas.action_schema(action)
    specs = [FieldSpec(n, _kind(n, f), bool(f.required)) for n, f in schema.fields.items()]
    return sorted(specs, key=lambda s: (not s.required, s.name == "note"))


def action_payload(action: str, form: MultiDict[str, str]) -> dict[str, Any]:
    """The dict the action's schema loads, from its HTML form (text normalised to NFC)."""
    out: dict[str, Any] = {}
    for spec in action_fields(action):
        raw = form.get(spec.name)
        if spec.kind == "missing":
            lines = [line for v in form.getlist(spec.name) for line in v.splitlines()]
            out[spec.name] = [s.strip() for s in lines if s.strip()]
        elif spec.kind == "bool":
            out[spec.name] = raw is not None
        elif raw is None or (raw.strip() == "" and not spec.required):
            continue
        elif spec.kind == "int":
            text = raw.strip().replace(".", "").replace(" ", "")
            out[spec.name] = int(text) if text.isdigit() and len(text) < 16 else raw
        else:
            out[spec.name] = unicodedata.normalize("NFC", raw)
    return out


def errors_by_field(problems: list[FieldProblem]) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for p in problems:
        out.setdefault(p.field.split(".")[0], []).append((p.vi, p.en))
    return out


def render_dossier(
    code: str,
    *,
    failed: str | None = None,
    errors: dict[str, list[tuple[str, str]]] | None = None,
    message: DossierError | None = None,
    status: int = 200,
) -> Any:
    hub = hub_identity()
    now = clock()()
    with database().read() as session:
        row, history = health.dossier_history(session, code)
        names = health.node_names(session)
        cal = health.current_calendar(session, hub.hub_id)
        procedure = health.current_catalogue(session, hub.hub_id).procedures.get(row.procedure_code)
        portal_messages = portal_delivery.of_dossier(session, code)
        applicant = disclosures.applicant(session, code, hub=hub)  # decrypted to be shown
        found = disclosures.disclosures_of(session, [e.rec.id for e in history], hub=hub)
        shown = {e.rec.id: personal.reveal(e.rec.data, found[e.rec.id])
                 for e in history if e.rec.id in found}  # fmt: skip
        recipients = processing.recipients(session)
    actions: list[tuple[lifecycle.Action, list[FieldSpec]]] = []
    if OFFICER in g.user.role_set:
        state = lifecycle.state_from_dict(row.state)
        allowed = lifecycle.allowed_actions(
            state, side=Side.HUB, roles=frozenset({Role.HUB_OFFICER})
        )
        mine = [a.name for a in allowed if a.name in processing.HUB_ACTIONS]
        mine.sort(key=lambda n: ACTION_ORDER.index(n) if n in ACTION_ORDER else len(ACTION_ORDER))
        actions = [(lifecycle.ACTIONS[n], action_fields(n)) for n in mine]
    body = render_template(
        "dossier.html",
        row=row,
        applicant=applicant,
        shown=shown,
        portal_messages=portal_messages,
        history=history,
        names=names,
        hub=hub,
        deadline=health.deadline_state(row, now, cal),
        timeliness=classify(row.ended_at, row.due_at) if row.ended_at and row.due_at else None,
        documents=procedure.documents if procedure else (),
        actions=actions,
        recipients=recipients,
        hub_apology=any(
            e.rec.type == "dossier.apologised" and e.rec.node == hub.hub_id for e in history
        ),
        failed=failed,
        errors=errors or {},
        values=request.form if failed else MultiDict(),
        message=message,
    )
    return body, status


@bp.get("/dossiers")
@login_required(ADMIN, OFFICER, AUDITOR)
def dossier_list() -> Any:
    args = request.args
    status = args.get("status", "")
    forwarded = args.get("forwarded", "")
    page = args.get("page", "1")
    f = health.DossierFilter(
        node_id=args.get("node") or None,
        status=int(status) if status.isdigit() else None,
        forwarded={"yes": True, "no": False}.get(forwarded),
        overdue=args.get("overdue") == "1",
    )
    now = clock()()
    with database().read() as session:
        rows, total = health.dossiers(session, f, now=now, page=int(page) if page.isdigit() else 1)
        names = health.node_names(session)
        cal = health.current_calendar(session, hub_identity().hub_id)
    return render_template(
        "dossiers.html",
        rows=[(r, health.deadline_state(r, now, cal)) for r in rows],
        total=total,
        names=names,
        f=f,
        page=int(page) if page.isdigit() else 1,
        page_size=health.PAGE_SIZE,
    )


@bp.get("/queue")
@login_required(OFFICER)
def queue() -> Any:
    now = clock()()
    with database().read() as session:
        rows = health.queue(session, now=now)
        names = health.node_names(session)
        cal = health.current_calendar(session, hub_identity().hub_id)
    me = g.user.username
    mine = [r for r in rows if (r.state or {}).get("holder") == me]
    return render_template(
        "queue.html",
        rows=[(r, health.deadline_state(r, now, cal)) for r in rows],
        mine=[(r, health.deadline_state(r, now, cal)) for r in mine],
        names=names,
    )


@bp.get("/dossiers/<code>")
@login_required(ADMIN, OFFICER, AUDITOR)
def dossier(code: str) -> Any:
    page = render_dossier(code)
    log_processing(privacy.VIEW, code, "dossier page")
    return page


@bp.post("/dossiers/<code>/actions/<action>")
@login_required(OFFICER)
def act(code: str, action: str) -> Any:
    if action not in processing.HUB_ACTIONS:
        abort(404)
    hub = hub_identity()
    try:
        form = schemas.load(schemas.action_schema(action), action_payload(action, request.form))
        with database().write() as session:
            processing.act(
                session,
                code,
                action,
                form,
                hub=hub,
                clock=clock(),
                actor=g.user.username,
                calendar=health.current_calendar(session, hub.hub_id),
            )
    except ValidationError as exc:
        return render_dossier(
            code, failed=action, errors=errors_by_field(exc.problems), status=exc.status
        )
    except DossierError as exc:
        if exc.status == 404:
            raise
        return render_dossier(code, failed=action, message=exc, status=exc.status)
    done = lifecycle.ACTIONS[action]
    flash(f"Đã thực hiện: {done.vi}. / Done: {done.en}.", "success")
    return redirect(url_for(".dossier", code=code))
