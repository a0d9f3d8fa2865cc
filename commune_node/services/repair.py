"""Repairing the node's own chain with the hub's help (``commune-node repair``, and the
sync when the hub refuses a record whose signature no longer verifies).

The hub's head for this node (``status``) splits the damaged records :mod:`damage` finds:
those at or below it are fetched back from the hub and checked before they are put back;
those above it never reached the hub, and are declared lost with a signed break. Nothing is
declared lost without asking the hub first: a record whose receipt was lost on the way may
be at the hub after all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from common import protocol
from common_io.database import Database
from commune_node.services import backlog, damage
from commune_node.services.hublink import Client


@dataclass
class RepairReport:
    checked: int = 0
    restored: list[int] = field(default_factory=list)
    lost: list[tuple[int, int]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # what could not be repaired, and why
    links: list[damage.Damage] = field(default_factory=list)


def hub_head(client: Client) -> int:
    """How far the hub holds this node's chain."""
    resp = client.call("GET", f"/sync/v1/status?{backlog.report_query(client.db)}")
    return int(resp.json()["head_seq"])


def fetch(client: Client, first: int, last: int) -> dict[int, bytes]:
    """The hub's copies of this node's records ``first..last``, by seq (unchecked)."""
    from common import record

    out: dict[int, bytes] = {}
    while first <= last:
        resp = client.call("GET", f"/sync/v1/records?first={first}&last={last}")
        raws = protocol.decode_batch(resp.body)
        if not raws:
            break
        for raw in raws:
            try:
                out[record.parse(raw).seq] = raw
            except Exception:
                continue
        first = max(out, default=first) + 1
    return out


def repair(
    db: Database,
    client: Client,
    *,
    instance: Path,
    actor: str = "system",
    after: int = 0,
    head: int | None = None,
) -> RepairReport:
    """Find every damaged record after ``after`` and repair what can be (module docstring).
    ``head``: the hub's head for this node when the caller just learned it."""
    report = RepairReport()
    with db.read() as session:
        found = damage.scan(session, instance, after=after)
    report.checked = found.checked
    report.links = list(found.links or [])
    damaged = {d.seq: d.problem for d in found.damaged or []}
    if not damaged:
        return report
    held = hub_head(client) if head is None else head
    synced = sorted(s for s in damaged if s <= held)
    for first, last in damage.runs(synced):
        copies = fetch(client, first, last)
        for seq in range(first, last + 1):
            raw = copies.get(seq)
            if raw is None:
                report.failed.append(f"seq {seq}: the hub sent no copy")
                continue
            with db.write() as session:
                wrong = damage.restore(
                    session, raw, seq=seq, instance=instance, problem=damaged[seq],
                    now=client.clock(),
                )  # fmt: skip
            if wrong:
                report.failed.append(wrong)
            else:
                report.restored.append(seq)
    for first, last in damage.runs(sorted(s for s in damaged if s > held)):
        with db.write() as session:
            damage.declare_lost(
                session, first, last, instance=instance, problems=damaged, actor=actor,
                now=client.clock(),
            )  # fmt: skip
        report.lost.append((first, last))
    return report
