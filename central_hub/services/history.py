"""A commune's records given back to it: ``GET /sync/v1/history``.

* A node put back from an older copy of its instance folder holds less of its own chain
  than the hub does: it takes the rest back (docs/sync-protocol.md, "A node restored from an
  older copy"). The hub raises one ``node_restored`` alert for the administrator.
* A new laptop enrolled to replace a lost one (``central-hub node replace``) continues the
  commune's chain with a new key: it takes the whole chain back, from its first record.

The records are the nodes' own signed bytes: the hub can withhold them but not change them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_hub.models import LogRecord, Node
from central_hub.services import nodes
from central_hub.services.identity import Clock

MAX_RECORDS = 2000


def records(
    session: Session, writer: str, *, after: int, max_bytes: int
) -> tuple[list[bytes], int]:
    """``writer``'s stored records after seq ``after`` (bounded), and its head seq."""
    head = session.get(Node, writer)
    rows = session.scalars(
        select(LogRecord.raw)
        .where(LogRecord.node_id == writer, LogRecord.seq > after)
        .order_by(LogRecord.seq)
        .limit(MAX_RECORDS)
    )
    out: list[bytes] = []
    total = 0
    for raw in rows:
        if out and total + len(raw) > max_bytes:
            break
        out.append(raw)
        total += len(raw)
    return out, head.head_seq if head else 0


def note_taken_back(session: Session, node: Node, *, after: int, key_id: str, clock: Clock) -> None:
    """The node asks back its own records: it was put back from an older copy (a new laptop
    replacing a lost one does so too; its enrolment raised its own alert)."""
    if after >= node.head_seq or nodes.replaced_keys(session, node.node_id, key_id):
        return
    nodes.alert_once(
        session,
        "node_restored",
        node.node_id,
        f"{node.commune_name} ({node.agency_code}) was put back from an older copy: it holds "
        f"its records only up to {after} and takes back {after + 1}..{node.head_seq} from the "
        "hub. It goes on by itself; its officers see a node_restored alarm. Nothing to do "
        "unless a code_collision alert follows.",
        clock(),
    )
