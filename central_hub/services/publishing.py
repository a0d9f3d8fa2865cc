"""What the hub publishes to nodes as signed records: catalogue, calendar, revocations."""

from __future__ import annotations

from sqlalchemy.orm import Session

from central_hub.models import Node
from central_hub.services import feed, nodes
from central_hub.services.identity import Clock, HubIdentity, set_setting
from common import record
from common.calendar import CalendarOverrides
from common.catalogue import Catalogue, load_sample_catalogue
from common.errors import DossierError, NotFound


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
    """Revoke one key of a node (``key_id``), or every key of it (None), after
    ``last_valid_seq``; returns the last ``key.revoked`` record published."""
    return revoke_node(
        session, hub=hub, node_id=node_id, key_id=key_id, last_valid_seq=last_valid_seq,
        reason=reason, clock=clock, actor=actor,
    )[-1]  # fmt: skip


def revoke_node(
    session: Session,
    *,
    hub: HubIdentity,
    node_id: str,
    last_valid_seq: int,
    reason: str,
    clock: Clock,
    key_id: str | None = None,
    actor: str = "system",
) -> list[record.Record]:
    """Revoke every key of a node (a stolen laptop holds them all), or only ``key_id``: no
    record after ``last_valid_seq`` (or the key's own earlier end), no request, no
    cosignature. One ``key.revoked`` hub record per key, to every node."""
    if session.get(Node, node_id) is None:
        raise NotFound(f"no node {node_id}", vi=f"Không có nút {node_id}")
    ends = nodes.revocation_ends(session, node_id, last_valid_seq, key_id=key_id)
    if not ends:
        raise DossierError(
            f"every key of node {node_id} is already revoked",
            vi=f"Mọi khoá của nút {node_id} đã bị thu hồi",
        )
    return revoke_keys(
        session, hub=hub, node_id=node_id, ends=ends, reason=reason, clock=clock, actor=actor
    )


def announce_replacement(
    session: Session,
    *,
    hub: HubIdentity,
    node_id: str,
    key_id: str,
    public_key: str,
    first_seq: int,
    replaces: list[str],
    clock: Clock,
) -> record.Record:
    """The hub's signed evidence that a new laptop's key signs the commune's chain from
    ``first_seq`` (``central-hub node replace``): what a ``key.rotated`` record is for a
    rotation, for a key the old laptop could not hand over. To every node."""
    return feed.publish(
        session,
        hub=hub,
        clock=clock,
        type="key.replaced",
        data={
            "first_seq": first_seq,
            "key": key_id,
            "node": node_id,
            "public_key": public_key,
            "replaces": sorted(replaces),
        },
        audience=feed.EVERYONE,
        actor="system",
    )


def revoke_keys(
    session: Session,
    *,
    hub: HubIdentity,
    node_id: str,
    ends: dict[str, int],
    reason: str,
    clock: Clock,
    actor: str = "system",
) -> list[record.Record]:
    """Revoke each key in ``ends`` after its own last valid seq and tell every node (the
    revoked node learns it at its next pull, if it still can)."""
    if session.get(Node, node_id) is None:
        raise NotFound(f"no node {node_id}", vi=f"Không có nút {node_id}")
    published = []
    for key_id, last in ends.items():
        key = nodes.revoke_key(
            session, node_id=node_id, key_id=key_id, last_valid_seq=last, reason=reason,
            clock=clock,
        )  # fmt: skip
        published.append(
            feed.publish(
                session,
                hub=hub,
                clock=clock,
                type="key.revoked",
                data={
                    "key": key.key_id,
                    "last_valid_seq": key.last_valid_seq,
                    "node": node_id,
                    "reason": reason[:300],
                },
                audience=feed.EVERYONE,
                actor=actor,
            )
        )
    return published
