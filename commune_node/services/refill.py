"""Giving records back to a hub restored from an older backup.

The hub lost leaves this node had seen in its log. While it rebuilds the log (its status
answer carries ``recovery``), the node sends back, in bounded requests, what it holds of
the lost range (docs/sync-protocol.md, "Refill"):

* its own records whose receipt kept the proof of where they sit in the log (the log's
  frontier there and the hub-signed checkpoint): the hub checks each range and puts its
  records back at their leaves;
* its own records after those, which the hub may have stored without this node ever
  getting the receipt, and the hub records it pulled after the hub's own chain head: the
  hub places those only where the roots the communes witnessed confirm them;
* the newest checkpoint it verified, whose root the rebuilt log must reach.

Nothing here changes the node's own data: giving back is read-only on this side, and
safe to repeat.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import protocol
from common_io.database import Database
from commune_node.models import Alarm, Event, Inbound, Receipt
from commune_node.services import inbound
from commune_node.services.identity import get_setting

if TYPE_CHECKING:
    from commune_node.services.hublink import Client

REQUEST_BYTES = 192 * 1024  # one refill request, before JSON and base64
MAX_LOOSE = 200  # unpinned records of each kind offered per run


@dataclass
class Range:
    checkpoint: bytes
    first_leaf: int
    frontier: list[str]
    records: list[bytes]
    last_seq: int  # the seq of our last record in it

    @property
    def size(self) -> int:
        return sum(len(r) for r in self.records)

    def to_json(self) -> dict[str, Any]:
        return {
            "checkpoint": protocol.b64(self.checkpoint),
            "first_leaf": self.first_leaf,
            "frontier": self.frontier,
            "records": [protocol.b64(r) for r in self.records],
        }


def pinned_ranges(session: Session, *, from_leaf: int) -> Iterator[Range]:
    """Our records the receipts pin to leaves at or after ``from_leaf``, in log order."""
    receipts = session.scalars(
        select(Receipt)
        .where(Receipt.first_leaf.is_not(None), Receipt.first_seq.is_not(None))
        .order_by(Receipt.first_leaf)
    )
    for rc in receipts:
        assert rc.first_leaf is not None and rc.first_seq is not None
        count = rc.seq - rc.first_seq + 1
        if count <= 0 or rc.first_leaf + count <= from_leaf or not rc.checkpoint:
            continue
        raws = list(
            session.scalars(
                select(Event.record)
                .where(Event.seq >= rc.first_seq, Event.seq <= rc.seq)
                .order_by(Event.seq)
            )
        )
        if len(raws) == count:
            yield Range(rc.checkpoint, rc.first_leaf, json.loads(rc.frontier or "[]"), raws, rc.seq)


def loose_records(
    session: Session, *, after_own: int, pinned: set[int], after_hub: int
) -> list[bytes]:
    """Our records after ``after_own`` that no receipt pins (the hub may hold them without
    our knowing where), and the hub records we pulled after ``after_hub``."""
    own = session.execute(
        select(Event.seq, Event.record).where(Event.seq > after_own).order_by(Event.seq)
    )
    mine: list[bytes] = []
    for seq, raw in own:  # read lazily: stop at the bound
        if seq not in pinned:
            mine.append(raw)
            if len(mine) == MAX_LOOSE:
                break
    hub = session.scalars(
        select(Inbound.raw)
        .where(Inbound.hub_seq > after_hub)
        .order_by(Inbound.hub_seq)
        .limit(MAX_LOOSE)
    )
    return [*mine, *hub]


def give_back(db: Database, client: Client, info: dict[str, Any], *, head_seq: int) -> int:
    """Send what we hold of the lost range; returns how many requests were made. Stops as
    soon as the hub says it is no longer recovering."""
    from_leaf = int(info.get("size", 0))
    staged = int(info.get("staged_seq", 0))  # the hub holds ours up to there already
    hub_seq = max(int(info.get("hub_seq", 0)), int(info.get("staged_hub_seq", 0)))
    with db.read() as session:
        anchor = get_setting(session, "anchor_checkpoint") or None
        ranges = [r for r in pinned_ranges(session, from_leaf=from_leaf) if r.last_seq > staged]
        pinned = {
            seq
            for first, last in session.execute(
                select(Receipt.first_seq, Receipt.seq).where(Receipt.first_seq.is_not(None))
            )
            for seq in range(first or 0, last + 1)
        }
        loose = loose_records(
            session, after_own=max(head_seq, staged), pinned=pinned, after_hub=hub_seq
        )
    requests = 0
    for chunk, last in _chunks(ranges):
        body: dict[str, Any] = {"ranges": [r.to_json() for r in chunk]}
        if anchor:
            body["anchor"] = anchor
        if last:
            body["records"] = [protocol.b64(r) for r in loose]
        resp = client.call(
            "POST",
            "/sync/v1/refill",
            json.dumps(body).encode(),
            content_type="application/json",
        )
        requests += 1
        if not resp.json().get("recovering"):
            break
    return requests


def _chunks(ranges: list[Range]) -> Iterator[tuple[list[Range], bool]]:
    """Ranges in requests of about REQUEST_BYTES (the last one also carries the loose
    records); at least one request, even with no range, so the anchor reaches the hub."""
    chunk: list[Range] = []
    size = 0
    out: list[list[Range]] = []
    for r in ranges:
        if chunk and size + r.size > REQUEST_BYTES:
            out.append(chunk)
            chunk, size = [], 0
        chunk.append(r)
        size += r.size
    out.append(chunk)
    for i, c in enumerate(out):
        yield c, i == len(out) - 1


def recovery_refusal() -> dict[str, Any]:
    return {
        "code": "log_recovering",
        "message": "the hub is rebuilding its log after a restore; this node's records wait "
        "for other communes' records before them",
        "message_vi": "Cấp trên đang dựng lại nhật ký sau khi khôi phục; hồ sơ của xã chờ dữ "
        "liệu của các xã khác.",
        "retryable": True,
    }


def give_back_after_restore(
    db: Database, client: Client, info: dict[str, Any], *, head_seq: int
) -> None:
    """The hub was restored from a backup and is rebuilding its log: say so once, and give
    back what we hold of what it lost."""
    with db.write() as session:
        if not _open_alarm(session, "hub_restored"):
            inbound.alarm(
                session,
                "hub_restored",
                "The hub's database was put back from a backup and the hub is rebuilding its "
                f"log from the communes' copies (it holds {info.get('size')} of "
                f"{info.get('target')} records). This node is giving back what it holds; new "
                "records wait here until the hub's log is whole again. Nothing to do.",
                "Cấp trên đã khôi phục cơ sở dữ liệu từ bản sao lưu và đang dựng lại nhật ký từ "
                f"dữ liệu các xã (hiện có {info.get('size')}/{info.get('target')} bản ghi). Máy "
                "đang gửi lại dữ liệu; hồ sơ mới được giữ trên máy cho tới khi nhật ký của cấp "
                "trên đầy đủ. Không cần làm gì.",
                client.clock(),
            )
    give_back(db, client, info, head_seq=head_seq)


def _open_alarm(session: Session, kind: str) -> bool:
    return (
        session.scalar(
            select(Alarm.id).where(Alarm.kind == kind, Alarm.acknowledged.is_(False)).limit(1)
        )
        is not None
    )
