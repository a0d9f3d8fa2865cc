"""Applying verified hub records pulled from the feed: hub events on forwarded dossiers,
catalogue and calendar publications, key revocations."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session

from common import lifecycle, record
from common.calendar import CalendarOverrides
from common.catalogue import Catalogue
from common.errors import DossierError
from common.lifecycle import Side
from commune_node.models import Alarm, Dossier, Inbound
from commune_node.services import catalogue, outbox, personal_data, projection
from commune_node.services.identity import NodeIdentity, set_setting


def alarm(session: Session, kind: str, en: str, vi: str, now: datetime) -> None:
    session.add(Alarm(kind=kind, message=en[:1000], message_vi=vi[:1000], created_at=now))


def apply_hub_record(
    session: Session,
    rec: record.Record,
    *,
    feed_id: int,
    identity: NodeIdentity,
    now: datetime,
    later_alarm: bool = False,
) -> str | None:
    """Apply one hub record (already signature-checked); returns the problem, if any.
    With ``later_alarm`` the caller raises the alarm of a refused record itself
    (:func:`refused_alarm`), once it has folded the dossier in the hub's order."""
    problem: str | None = None
    try:
        with session.begin_nested():
            _apply(session, rec, identity=identity, now=now)
    except DossierError as exc:
        problem = f"{exc.code}: {exc.en}"
        if not later_alarm:
            refused_alarm(session, rec, exc.en, exc.vi, now)
    session.add(
        Inbound(
            feed_id=feed_id,
            hub_seq=rec.seq,
            record_id=rec.id,
            dossier_code=rec.dossier,
            type=rec.type,
            raw=rec.raw,
            received_at=now,
            problem=problem,
        )
    )
    return problem


def refused_alarm(session: Session, rec: record.Record, en: str, vi: str, now: datetime) -> None:
    alarm(
        session,
        "hub_record_refused",
        f"Hub record {rec.type} for {rec.dossier or '-'} could not be applied: {en}",
        f"Bản ghi {rec.type} của cấp trên cho hồ sơ {rec.dossier or '-'} không áp dụng được: {vi}",
        now,
    )


def _apply(session: Session, rec: record.Record, *, identity: NodeIdentity, now: datetime) -> None:
    if rec.type == "catalogue.published":
        catalogue.install(session, Catalogue.from_dict(rec.data))
    elif rec.type == "calendar.published":
        overrides = CalendarOverrides.from_dict(rec.data)
        set_setting(session, "calendar_overrides", json.dumps(overrides.to_dict(), sort_keys=True))
    elif rec.type == "key.revoked":
        if rec.data.get("node") == identity.node_id and rec.data.get("key") in (
            None,
            identity.key_id,
        ):  # not a key of a laptop this one replaced
            set_setting(session, "key_revoked", json.dumps(rec.data, sort_keys=True))
            alarm(
                session,
                "key_revoked",
                f"The hub revoked this node's key after record {rec.data.get('last_valid_seq')}. "
                "Ask the hub administrator for a new enrolment code.",
                "Cấp trên đã thu hồi khoá của nút sau bản ghi số "
                f"{rec.data.get('last_valid_seq')}. "
                "Hãy xin mã đăng ký mới từ quản trị viên cấp trên.",
                now,
            )
    elif rec.dossier is not None:
        row = session.get(Dossier, rec.dossier)
        if row is None:
            raise DossierError(
                f"no local dossier {rec.dossier}", vi=f"Không có hồ sơ {rec.dossier} tại xã"
            )
        data = personal_data.data_of(session, rec)  # free text kept apart, as written
        state = lifecycle.apply(
            lifecycle.state_from_dict(row.state),
            event_type=rec.type,
            data=data,
            at=rec.at_time,
            code=rec.dossier,
            side=Side.HUB,
        )
        projection.store_state(row, state)
        outbox.enqueue_for(session, row, rec.type, data, now, record_id=rec.id)
