"""The administrator's pages: node health (auditors read it too), a node's keys, records,
dead letters and evidence, revocation and quarantine release, enrolment codes, publication
of the catalogue and calendar, and alerts."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from central_hub.models import WEB_SESSION, HubUser
from central_hub.services import health, portal_delivery, publishing, recovery
from central_hub.services import nodes as node_service
from central_hub.services import users as user_service
from central_hub.web.auth import login_required
from central_hub.web.context import clock, database, hub_identity
from common.calendar import CalendarOverrides
from common.catalogue import Catalogue
from common.errors import DossierError, ErrorList, FieldProblem, ValidationError
from common_io import accounts

bp = Blueprint("admin", __name__)
ADMIN, AUDITOR = "administrator", "auditor"
# Column headers of the node health table: (sort key, vi, en).
COLUMNS = (
    ("commune", "Xã", "Commune"),
    ("agency", "Mã cơ quan", "Agency code"),
    ("state", "Trạng thái", "State"),
    ("contact", "Liên lạc gần nhất", "Last contact"),
    ("push", "Gửi dữ liệu gần nhất", "Last push"),
    ("records", "Bản ghi đã lưu", "Records stored"),
    ("waiting", "Chờ gửi", "Waiting"),
    ("oldest", "Tuổi bản ghi chờ lâu nhất", "Oldest unsent"),
    ("dead", "Bị từ chối", "Dead letters"),
    ("error", "Lỗi gần nhất", "Last error"),
)
# What a header means, where its name alone could mislead.
TITLES = {
    "waiting": "Records the node reported unsent at its last sync, before that sync's push",
    "oldest": "Age of the node's oldest unsent record (by the node's clock), if it has any",
    "records": "Records of this node stored at the hub (its head sequence number)",
}


def _problems(problems: list[FieldProblem]) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for p in problems:
        out.setdefault(p.field, []).append((p.vi, p.en))
    return out


def _need_text(errors: ErrorList, name: str, value: str, most: int) -> None:
    if not value.strip():
        errors.add(name, "required", "Thiếu thông tin bắt buộc.", "Required.")
    elif len(value) > most:
        errors.add(name, "too_long", f"Tối đa {most} ký tự.", f"At most {most} characters.")


def _whole(errors: ErrorList, name: str, value: str, lo: int, hi: int) -> int:
    text = value.strip()
    if not text.isdigit() or not lo <= int(text) <= hi:
        errors.add(
            name, "not_number", f"Phải là số nguyên từ {lo} đến {hi}.", f"A number {lo}–{hi}."
        )
        return lo
    return int(text)


# ------------------------------------------------------------------------- node health


@bp.get("/nodes")
@login_required(ADMIN, AUDITOR)
def nodes() -> Any:
    sort = request.args.get("sort", "worst")
    sort = sort if sort in health.SORT_KEYS else "worst"
    reverse = request.args.get("rev") == "1"
    with database().read() as session:
        rows = health.node_health(session, now=clock()(), sort=sort, reverse=reverse)
        portal = portal_delivery.backlog(session)
        rec = recovery.current(session)
        log_recovery = (
            {**recovery.status(session, rec), "opened_at": rec.opened_at} if rec else None
        )
    return render_template(
        "nodes.html",
        rows=rows,
        portal=portal,
        portal_configured=bool(current_app.config.get("PORTAL_URL")),
        log_recovery=log_recovery,
        counts=health.health_counts(rows),
        columns=COLUMNS,
        titles=TITLES,
        sort=sort,
        reverse=reverse,
    )


def render_node(
    node_id: str, *, errors: dict[str, list[tuple[str, str]]] | None = None, status: int = 200
) -> Any:
    with database().read() as session:
        detail = health.node_detail(session, node_id, now=clock()())
    body = render_template(
        "node.html",
        d=detail,
        n=detail.health.node,
        errors=errors or {},
        values=request.form if errors else {},
    )
    return body, status


@bp.get("/nodes/<node_id>")
@login_required(ADMIN, AUDITOR)
def node(node_id: str) -> Any:
    return render_node(node_id)


@bp.post("/nodes/<node_id>/revoke")
@login_required(ADMIN)
def revoke(node_id: str) -> Any:
    form = request.form
    errors = ErrorList()
    key_id = form.get("key_id", "").strip()
    if not key_id:
        errors.add("key_id", "required", "Chọn khoá cần thu hồi.", "Choose the key to revoke.")
    last_valid = _whole(errors, "last_valid_seq", form.get("last_valid_seq", ""), 0, 2**53)
    reason = form.get("reason", "")
    _need_text(errors, "reason", reason, 300)
    try:
        errors.raise_if_any()
        with database().write() as session:
            publishing.revoke(
                session,
                hub=hub_identity(),
                node_id=node_id,
                key_id=key_id,
                last_valid_seq=last_valid,
                reason=reason.strip(),
                clock=clock(),
                actor=g.user.username,
            )
    except ValidationError as exc:
        return render_node(node_id, errors=_problems(exc.problems), status=exc.status)
    except DossierError as exc:  # an unknown node is a 404 from render_node itself
        return render_node(node_id, errors={"_": [(exc.vi, exc.en)]}, status=exc.status)
    flash("Đã thu hồi khoá và thông báo cho mọi nút. / Key revoked; every node is told.", "success")
    return redirect(url_for(".node", node_id=node_id))


@bp.post("/nodes/<node_id>/release")
@login_required(ADMIN)
def release(node_id: str) -> Any:
    with database().write() as session:
        health.release_quarantine(session, node_id, actor=g.user.username, clock=clock())
    flash("Đã gỡ cách ly nút. / Quarantine released.", "success")
    return redirect(url_for(".node", node_id=node_id))


# ---------------------------------------------------------------------------- enrolment


def _hub_url() -> str:
    configured: str | None = current_app.config.get("HUB_PUBLIC_URL")
    return (configured or request.url_root).rstrip("/")


def render_enrol(*, code: str | None = None, errors: Any = None, status: int = 200) -> Any:
    with database().read() as session:
        codes = health.enrol_codes(session)
    body = render_template(
        "enrol.html",
        code=code,
        hub_url=_hub_url(),
        codes=codes,
        errors=errors or {},
        values=request.form if errors else {},
    )
    return body, status, {"Cache-Control": "no-store"}


@bp.route("/enrol", methods=["GET", "POST"])
@login_required(ADMIN)
def enrol() -> Any:
    if request.method == "GET":
        return render_enrol()
    form = request.form
    errors = ErrorList()
    commune = form.get("commune_name", "").strip()
    _need_text(errors, "commune_name", commune, 200)
    agency = form.get("agency_code", "").strip()
    _need_text(errors, "agency_code", agency, 32)
    hours = _whole(errors, "hours", form.get("hours", "72"), 1, 720)
    try:
        errors.raise_if_any()
        with database().write() as session:
            code = node_service.issue_code(
                session, commune_name=commune, agency_code=agency, clock=clock(), hours=hours
            )
    except ValidationError as exc:
        return render_enrol(errors=_problems(exc.problems), status=exc.status)
    except DossierError as exc:
        return render_enrol(errors={"agency_code": [(exc.vi, exc.en)]}, status=422)
    return render_enrol(code=code, status=201)


# -------------------------------------------------------------------------- publication


def _dates(errors: ErrorList, name: str, text: str) -> list[date]:
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        item = line.strip()
        if not item:
            continue
        try:
            if len(item) != 10:
                raise ValueError(item)
            out.append(date.fromisoformat(item))
        except ValueError:
            errors.add(
                name,
                "bad_date",
                f"Dòng {n}: «{item[:20]}» không phải ngày dạng YYYY-MM-DD.",
                f"Line {n}: {item[:20]!r} is not a YYYY-MM-DD date.",
            )
    return out


def render_publish(
    *, errors: Any = None, pasted: str = "", calendar_form: Any = None, status: int = 200
) -> Any:
    hub = hub_identity()
    with database().read() as session:
        catalogue = health.last_published(session, hub.hub_id, "catalogue.published")
        calendar = health.last_published(session, hub.hub_id, "calendar.published")
        overrides = health.current_overrides(session, hub.hub_id)
    body = render_template(
        "publish.html",
        catalogue=catalogue,
        calendar=calendar,
        overrides=overrides,
        errors=errors or {},
        pasted=pasted,
        calendar_form=calendar_form,
    )
    return body, status


@bp.get("/publish")
@login_required(ADMIN)
def publish() -> Any:
    return render_publish()


@bp.post("/publish/catalogue")
@login_required(ADMIN)
def publish_catalogue() -> Any:
    upload = request.files.get("catalogue_file")
    data = upload.read() if upload and upload.filename else b""
    pasted = request.form.get("catalogue_json", "")
    text: str | bytes = data or pasted
    hub = hub_identity()
    try:
        if not text or (isinstance(text, str) and not text.strip()):
            raise ValidationError(
                [
                    FieldProblem(
                        "$",
                        "required",
                        "Chọn tệp hoặc dán danh mục JSON.",
                        "Upload or paste the catalogue JSON.",
                    )
                ]
            )
        catalogue = Catalogue.from_json(text)
        with database().write() as session:
            health.check_new_catalogue(session, hub.hub_id, catalogue)
            publishing.publish_catalogue(
                session, catalogue, hub=hub, clock=clock(), actor=g.user.username
            )
    except ValidationError as exc:
        return render_publish(errors={"catalogue": exc.problems}, pasted=pasted, status=422)
    flash(
        f"Đã ban hành danh mục phiên bản {catalogue.version}. / Catalogue "
        f"version {catalogue.version} published.",
        "success",
    )
    return redirect(url_for(".publish"))


@bp.post("/publish/calendar")
@login_required(ADMIN)
def publish_calendar() -> Any:
    form = request.form
    errors = ErrorList()
    days_off = _dates(errors, "days_off", form.get("days_off", ""))
    working = _dates(errors, "working_days", form.get("working_days", ""))
    try:
        errors.raise_if_any()
        overrides = CalendarOverrides(frozenset(days_off), frozenset(working))
        with database().write() as session:
            publishing.publish_calendar(
                session, overrides, hub=hub_identity(), clock=clock(), actor=g.user.username
            )
    except ValidationError as exc:
        return render_publish(
            errors={"calendar": exc.problems}, calendar_form=form, status=exc.status
        )
    except DossierError as exc:
        problem = FieldProblem("working_days", "conflict", exc.vi, exc.en)
        return render_publish(errors={"calendar": [problem]}, calendar_form=form, status=422)
    flash("Đã ban hành lịch làm việc. / Calendar overrides published.", "success")
    return redirect(url_for(".publish"))


# ------------------------------------------------------------------------------- alerts


@bp.get("/alerts")
@login_required(ADMIN)
def alerts() -> Any:
    show_all = request.args.get("all") == "1"
    with database().read() as session:
        rows = health.alerts(session, include_acknowledged=show_all)
        names = health.node_names(session)
    return render_template("alerts.html", rows=rows, names=names, show_all=show_all)


@bp.post("/alerts/<int:alert_id>/ack")
@login_required(ADMIN)
def acknowledge(alert_id: int) -> Any:
    with database().write() as session:
        health.acknowledge_alert(session, alert_id)
    flash("Đã xác nhận cảnh báo. / Alert acknowledged.", "success")
    return redirect(url_for(".alerts"))


# -------------------------------------------------------------------------------- users


def _users_page(
    errors: dict[str, list[tuple[str, str]]],
    failed: str | None,
    status: int,
    values: dict[str, Any] | None = None,
) -> Any:
    with database().read() as session:
        rows = list(session.scalars(select(HubUser).order_by(HubUser.username)))
    return render_template(
        "users.html",
        rows=rows,
        errors=errors,
        failed=failed,
        me=g.user.id,
        values=values or {},
        roles=user_service.HUB_ROLES,
    ), status


@bp.get("/users")
@login_required(ADMIN)
def users() -> Any:
    """The hub's user accounts: deactivate, activate again, reset a password."""
    return _users_page({}, None, 200)


@bp.post("/users")
@login_required(ADMIN)
def user_add() -> Any:
    """Add an account: user name, full name, roles and a first password."""
    username = request.form.get("username", "").strip().lower()
    full_name = request.form.get("full_name", "")
    roles = request.form.getlist("roles")
    password = request.form.get("password", "")
    values = {"username": username, "full_name": full_name, "roles": roles}
    if len(username) > 64 or len(password) > 200 or len(roles) > len(user_service.HUB_ROLES):
        errors = {"username": [("Dữ liệu quá dài.", "Too long.")]}
        return _users_page(errors, None, 422, values)
    try:
        with database().write() as session:
            user_service.create_user(
                session,
                username=username,
                full_name=full_name,
                roles=roles,
                password=password,
                clock=clock(),
            )
    except ValidationError as exc:
        return _users_page(_problems(exc.problems), None, 422, values)
    flash(f"Đã thêm tài khoản {username}. / Account {username} added.", "success")
    return redirect(url_for(".users"))


@bp.post("/users/<username>/<action>")
@login_required(ADMIN)
def user_manage(username: str, action: str) -> Any:
    if action not in accounts.ADMIN_ACTIONS:
        abort(404)
    try:
        with database().write() as session:
            user = user_service.by_username(session, username)
            if user is None:
                abort(404)
            vi, en = accounts.admin_action(
                session, WEB_SESSION, user, action=action, form=request.form, acting_id=g.user.id
            )
    except ValidationError as exc:
        return _users_page(_problems(exc.problems), username, 422)
    flash(f"{username}: {vi} / {en}", "success")
    return redirect(url_for(".users"))
