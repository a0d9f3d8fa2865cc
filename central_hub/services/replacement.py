"""Replacing a commune's laptop (stolen, burnt, dead): ``central-hub node replace``.

The commune keeps its node — its id, its chain, its dossiers at the hub, its feed. What
changes is the laptop: every key the old one ever had is revoked after the last record the
hub holds (``key.revoked`` hub records tell every node), and a one-time enrolment code is
issued for the same commune that names the node it continues (``EnrolCode.replaces``).
The new laptop enrols with it (:func:`nodes.enrol`: its key is registered from the next
seq), takes the commune's whole chain back (``GET /sync/v1/history``), folds the dossiers
from it, and continues the chain and the day counters where the hub's copy ends. The old
laptop, if it comes back, is refused ``node_replaced``, naming the new laptop's key.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from central_hub.models import EnrolCode, NodeKey
from central_hub.services import nodes, publishing
from central_hub.services.identity import Clock, HubIdentity
from common.errors import DossierError


@dataclass(frozen=True)
class Replacement:
    code: str
    node_id: str
    commune_name: str
    agency_code: str
    last_valid_seq: int
    revoked: list[str]


def replace(
    session: Session,
    *,
    hub: HubIdentity,
    node_id: str,
    reason: str,
    clock: Clock,
    hours: int = 72,
    actor: str = "system",
) -> Replacement:
    """Retire the laptop of node ``node_id`` and issue the code its replacement enrols with."""
    node = nodes.get_node(session, node_id)
    if not reason.strip():
        raise DossierError("give the reason (--reason)", vi="Cần ghi lý do (--reason)")
    ends = nodes.revocation_ends(session, node_id, node.head_seq)
    revoked = []
    if ends:
        for rec in publishing.revoke_keys(
            session,
            hub=hub,
            node_id=node_id,
            ends=ends,
            reason=f"laptop replaced: {reason}",
            clock=clock,
            actor=actor,
        ):
            revoked.append(str(rec.data["key"]))
    code = nodes.issue_code(
        session,
        commune_name=node.commune_name,
        agency_code=node.agency_code,
        clock=clock,
        hours=hours,
    )
    row = session.get(EnrolCode, nodes.code_hash(code))
    assert row is not None
    row.replaces = node_id
    nodes.alert(
        session,
        "node_retired",
        node_id,
        f"The laptop of {node.commune_name} ({node.agency_code}) was retired ({reason}): its "
        f"keys are revoked after record {node.head_seq}; a code was issued for the new laptop.",
        clock(),
    )
    return Replacement(code, node_id, node.commune_name, node.agency_code, node.head_seq, revoked)


def replaced_by(key: NodeKey) -> str | None:
    """The key of the laptop that replaced the one holding ``key`` (None: not replaced)."""
    return key.replaced_by
