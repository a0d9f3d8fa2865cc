"""The administrator's page of the national portal outbox: the backlog, the refused
messages (dead letters, with the portal's answer) and "resend after fixing"."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, url_for
from sqlalchemy import select

from central_hub.portal_models import REFUSED, PortalMessage
from central_hub.services import portal_delivery, portal_outbox
from central_hub.services.identity import get_setting
from central_hub.web.auth import login_required
from central_hub.web.context import clock, database, hub_identity
from common.errors import DossierError

bp = Blueprint("portal", __name__)
ADMIN, AUDITOR = "administrator", "auditor"


@bp.get("/portal")
@login_required(ADMIN, AUDITOR)
def outbox() -> Any:
    with database().read() as session:
        backlog = portal_delivery.backlog(session)
        refused = list(
            session.scalars(
                select(PortalMessage)
                .where(PortalMessage.state == REFUSED)
                .order_by(PortalMessage.updated_at.desc())
                .limit(200)
            )
        )
        agency = get_setting(session, portal_outbox.AGENCY_SETTING) or ""
    return render_template(
        "portal.html",
        backlog=backlog,
        refused=refused,
        agency=agency,
        configured=bool(current_app.config.get("PORTAL_URL")),
        can_resend=ADMIN in g.user.role_set,
    )


@bp.post("/portal/messages/<int:message_id>/resend")
@login_required(ADMIN)
def resend(message_id: int) -> Any:
    try:
        with database().write() as session:
            still = portal_outbox.resend(
                session, message_id, hub_id=hub_identity().hub_id, now=clock()()
            )
    except DossierError as exc:
        flash(f"{exc.vi} / {exc.en}", "error")
        return redirect(url_for(".outbox")), 303
    if still:
        flash("Tin vẫn chưa gửi được: " + "; ".join(still) + " / Still not sendable.", "error")
    else:
        flash("Đã đưa tin vào hàng gửi lại. / Queued to be sent again.", "success")
    return redirect(url_for(".outbox")), 303
