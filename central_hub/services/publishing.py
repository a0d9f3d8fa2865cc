"""What the hub publishes to nodes as signed records: catalogue, calendar, revocations."""

from __future__ import annotations

from sqlalchemy.orm import Session

from central_hub.models import Node
from central_hub.services import feed, nodes
from central_hub.services.identity import Clock, HubIdentity, set_setting
from common import record
from common.calendar import CalendarOverrides
from common.catalogue import Catalogue, load_sample_catalogue
from common.errors import NotFound


def publish_catalogue(
    session: Session, catalogue: Catalogue, *, hub: HubIdentity, clock: Clock, actor: str = "system"
) -> record.Record:
    set_setting(session, "catalogue_version", str(catalogue.version))
    return feed.publish(
        session,
        hub=hub,
        clock=clock,
        type="catalogue.published",
        data=catalogue.to_dict(),
        audience=feed.EVERYONE,
        actor=actor,
    )


def publish_calendar(
    session: Session,
    overrides: CalendarOverrides,
    *,
    hub: HubIdentity,
    clock: Clock,
    actor: str = "system",
) -> record.Record:
    return feed.publish(
        session,
        hub=hub,
        clock=clock,
        type="calendar.published",
        data=overrides.to_dict(),
        audience=feed.EVERYONE,
        actor=actor,
    )


def publish_sample(session: Session, *, hub: HubIdentity, clock: Clock) -> None:
    from common import calendar_data

    publish_catalogue(session, load_sample_catalogue(), hub=hub, clock=clock)
    publish_calendar(session, calendar_data.SAMPLE_OVERRIDES, hub=hub, clock=clock)


def revoke(
    session: Session,
    *,
    hub: HubIdentity,
    node_id: str,
    key_id: str | None,
    last_valid_seq: int,
    reason: str,
    clock: Clock,
    actor: str = "system",
) -> record.Record:
    """Revoke a node key and tell every node (the revoked node learns it at its next pull)."""
    node = session.get(Node, node_id)
    if node is None:
        raise NotFound(f"no node {node_id}", vi=f"Không có nút {node_id}")
    key = nodes.revoke_key(
        session,
        node_id=node_id,
        key_id=key_id or _current_key(session, node_id),
        last_valid_seq=last_valid_seq,
        reason=reason,
        clock=clock,
    )
    return feed.publish(
        session,
        hub=hub,
        clock=clock,
        type="key.revoked",
        data={
            "key": key.key_id,
            "last_valid_seq": last_valid_seq,
            "node": node_id,
            "reason": reason[:300],
        },
        audience=feed.EVERYONE,
        actor=actor,
    )


def _current_key(session: Session, node_id: str) -> str:
    from sqlalchemy import select

    from central_hub.models import NodeKey

    row = session.scalars(
        select(NodeKey)
        .where(NodeKey.node_id == node_id)
        .order_by(NodeKey.first_seq.desc())
        .limit(1)
    ).first()
    if row is None:
        raise NotFound(f"node {node_id} has no key")
    return row.key_id
