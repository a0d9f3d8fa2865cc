"""The node's sync page: the link with the hub in plain words, "sync now", dead letters and
alarms."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from common.errors import DossierError
from common_web.i18n import pick
from commune_node.db import read_session, write_session
from commune_node.scheduler import run_sync
from commune_node.services import syncstatus
from commune_node.web.auth import login_required
from commune_node.web.context import clock

bp = Blueprint("syncpage", __name__, url_prefix="/sync")


@bp.get("/")
@login_required()
def show() -> Any:
    now = clock()()
    with read_session() as session:
        st = syncstatus.status(
            session, now=now, interval=int(current_app.config.get("SYNC_INTERVAL") or 60)
        )
    problem = current_app.extensions["sync_state"].storage_problem
    if problem is not None:  # the last sync found the disk full: not "Connected"
        st = replace(
            st, connected=False, error_code=problem.code, error_vi=problem.vi, error_en=problem.en
        )
    return render_template("sync.html", st=st, now=now)


@bp.post("/now")
@login_required()
def sync_now() -> Any:
    try:
        result = run_sync(current_app._get_current_object(), wait=False)  # type: ignore[attr-defined]
    except DossierError as exc:
        vi, en = syncstatus.ADVICE.get(exc.code, (exc.vi, exc.en))
        flash(pick(vi, en), "error")
        return redirect(url_for("syncpage.show"))
    if result is None:
        flash(_("A sync is already running; look again in a moment."), "info")
    else:
        flash(
            _(
                "Sync done: %(pushed)s records sent, %(pulled)s received from the hub.",
                pushed=result.pushed,
                pulled=result.pulled,
            ),
            "ok",
        )
    return redirect(url_for("syncpage.show"))


@bp.post("/alarms/<int:alarm_id>/ack")
@login_required("admin", "leader")
def acknowledge(alarm_id: int) -> Any:
    with write_session() as session:
        syncstatus.acknowledge_alarm(session, alarm_id)
    return redirect(url_for("syncpage.show"))
