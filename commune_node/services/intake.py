"""Taking a dossier in at the desk: check it against the published catalogue, issue its code,
set its legal due date, and write the state and its signed event in one transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from common import lifecycle, validators
from common.calendar import VN_TZ, WorkingCalendar, appointment
from common.catalogue import Procedure as CatalogueProcedure
from common.errors import ErrorList
from common.lifecycle import Side
from commune_node.models import DayCounter, Dossier, Procedure
from commune_node.services import idempotency, projection
from commune_node.services.backup import RESTORED_SERIAL_FROM
from commune_node.services.identity import Clock, NodeIdentity, get_setting
from commune_node.services.officers import Actor

OUTCOME_ACTION = {
    "receive": "received",
    "register": "registered",
    "supplement": "supplement_requested",
    "refuse": "refused",
}


def _limit(procedure: CatalogueProcedure) -> dict[str, int]:
    """The legal limit the intake record carries: ``limit_days``, or ``limit_hours`` for a
    procedure limited in working hours (docs/records.md)."""
    if procedure.limit_hours is not None:
        return {"limit_hours": procedure.limit_hours}
    assert procedure.limit_days is not None
    return {"limit_days": procedure.limit_days}


def next_code(session: Session, *, agency_code: str, day: str) -> str:
    """``<agency>-<yymmdd>-<NNNN>``: per agency and day, gap-free (same transaction).

    A node put back from a backup and not yet reconciled with its hub numbers from
    ``RESTORED_SERIAL_FROM`` up: the lost copy may have given out the numbers after the
    backup's, and no code is ever held by two citizens."""
    counter = session.get(DayCounter, (agency_code, day))
    if counter is None:
        counter = DayCounter(agency_code=agency_code, day=day, last=0)
        session.add(counter)
    if get_setting(session, "restored"):
        counter.last = max(counter.last, RESTORED_SERIAL_FROM - 1)
    counter.last += 1
    return f"{agency_code}-{day}-{counter.last:04d}"


def _check_person(form: dict[str, Any], *, today: Any) -> dict[str, str]:
    errors = ErrorList()
    errors.problems.extend(validators.validate_name(form["applicant_name"], field="applicant_name"))
    id_type = form.get("id_type", "cccd")
    errors.problems.extend(
        validators.validate_id_document(id_type, form["id_number"], field="id_number", today=today)
    )
    phone = ""
    if form.get("phone"):
        problems = validators.validate_phone(form["phone"], field="phone")
        errors.problems.extend(problems)
        if not problems:
            phone = validators.normalise_phone(form["phone"])
    if form.get("email"):
        errors.problems.extend(validators.validate_email(form["email"], field="email"))
    if form["notify"] in ("sms", "zalo") and not form.get("phone"):
        errors.add(
            "phone",
            "required_for_notify",
            "Cần số điện thoại để gửi thông báo qua SMS/Zalo.",
            "A phone number is needed to notify by SMS or Zalo.",
        )
    if form["notify"] == "email" and not form.get("email"):
        errors.add(
            "email",
            "required_for_notify",
            "Cần địa chỉ thư điện tử để gửi thông báo qua email.",
            "An e-mail address is needed to notify by e-mail.",
        )
    errors.raise_if_any()
    person = {
        "name": form["applicant_name"],
        "id_number": validators.normalise_id(id_type, form["id_number"]),
        "phone": phone,
        "email": form.get("email", ""),
        "address": form["address"],
    }
    if id_type != "cccd":  # a CCCD is the default and is not written, as before
        person["id_type"] = id_type
    return person


def take_in(
    session: Session,
    form: dict[str, Any],
    *,
    identity: NodeIdentity,
    clock: Clock,
    actor: Actor,
    calendar: WorkingCalendar,
    key: str | None = None,
    key_field: str = "intake_key",
) -> Dossier:
    """Create a dossier from a validated intake form (``schemas.IntakeSchema``). With an
    idempotency ``key`` (named ``key_field`` in errors), a request already taken in gives
    the dossier it made instead of a second one (services/idempotency.py)."""
    if key is not None:
        earlier = idempotency.replayed(session, key, form, field=key_field)
        if earlier is not None:
            return earlier
    now = clock()
    errors = ErrorList()
    row = session.get(Procedure, form["procedure"])
    if row is None:
        errors.add(
            "procedure",
            "unknown_procedure",
            "Thủ tục không có trong danh mục đã công bố.",
            "The procedure is not in the published catalogue.",
        )
        errors.raise_if_any()
    assert row is not None
    procedure = CatalogueProcedure.from_dict(row.definition)
    person = _check_person(form, today=now.astimezone(VN_TZ).date())

    documents = {doc_id: dict(counts) for doc_id, counts in form["documents"].items()}
    outcome = form["outcome"]
    check = procedure.check_documents({doc_id: sum(c.values()) for doc_id, c in documents.items()})
    for doc_id in check.unknown:
        errors.add(
            f"documents.{doc_id}",
            "not_in_catalogue",
            "Giấy tờ này không có trong danh mục của thủ tục; không được yêu cầu thêm.",
            "This document is not listed for the procedure; it may not be required.",
        )
    for doc_id in form["missing"]:
        if doc_id not in {d.id for d in procedure.documents}:
            errors.add(
                f"missing.{doc_id}",
                "not_in_catalogue",
                "Giấy tờ này không có trong danh mục của thủ tục.",
                "This document is not listed for the procedure.",
            )
    if outcome in ("receive", "register") and check.missing:
        names = ", ".join(d.name for d in procedure.documents if d.id in check.missing)
        errors.add(
            "documents",
            "incomplete",
            f"Hồ sơ còn thiếu: {names}. Hãy lập phiếu yêu cầu bổ sung (mẫu 02).",
            f"The dossier lacks: {', '.join(check.missing)}. Issue a supplement request (form 02).",
        )
    if outcome == "supplement" and not form["missing"]:
        errors.add("missing", "required", "Liệt kê giấy tờ còn thiếu.", "List what is missing.")
    if outcome in ("supplement", "refuse") and not form["reason"]:
        errors.add("reason", "required", "Ghi rõ lý do.", "Give the reason.")
    if outcome == "register" and form["channel"] != lifecycle.Channel.ONLINE:
        errors.add(
            "channel",
            "register_online_only",
            "Chỉ hồ sơ trực tuyến mới ở trạng thái «Mới đăng ký».",
            "Only online submissions are registered before acceptance.",
        )
    errors.raise_if_any()

    action = OUTCOME_ACTION[outcome]
    day = now.astimezone(VN_TZ).strftime("%y%m%d")
    code = next_code(session, agency_code=identity.agency_code, day=day)
    data: dict[str, Any] = {
        "procedure": procedure.code,
        "procedure_name": procedure.name,
        "level": procedure.level,
        **_limit(procedure),
        "channel": form["channel"],
        "applicant": person,
        "request": form["request"],
        "documents": documents,
        "sets": form["sets"],
        "notify": form["notify"],
        "receiver": actor.full_name,
    }
    if action == "received":
        data["due"] = appointment(
            calendar, now, limit_days=procedure.limit_days, limit_hours=procedure.limit_hours
        ).isoformat()
        data["fee"] = procedure.fee
    if outcome == "supplement":
        data["missing"] = list(form["missing"])
    if outcome in ("supplement", "refuse"):
        data["reason"] = form["reason"]
    made = projection.record_event(
        session,
        None,
        code=code,
        action=action,
        data=data,
        identity=identity,
        actor=actor,
        side=Side.COMMUNE,
        now=now,
    )
    if key is not None:
        idempotency.remember(session, key, form, code=made.code, now=now)
    return made
