"""The log recovery: the state a hub is in after its database was put back from an older
backup, from the moment the loss is known until the log is whole again.

The communes witnessed checkpoints the restored hub no longer holds. The hub must not sign
new leaves, hub records or feed items over the lost range: that would be two different logs
under one key. So, while a recovery is open:

1. It opens when the hub's own log head file is ahead of the database
   (:func:`check_log_head`, once per process) or when a node proves, with the hub's own
   signed checkpoint, that it verified a larger log (:func:`note_witness`); the largest
   size proven is the target the log must reach again. A bare claim opens nothing.
2. The hub refuses pushes and new records of its own with ``log_recovering`` (retryable):
   :func:`guard`. The nodes keep everything and send it once the log is whole again.
3. Nodes give back what they hold and the hub rebuilds the log from it (:mod:`refill`);
   the roots their proofs establish are kept (:func:`proven_root`).
4. It closes (:func:`maybe_close`) when the log has reached the target and every active
   node has reported since it opened; or when the administrator closes it
   (``central-hub log-recovery --close``, :func:`close_early`): what is given up is then
   declared in a signed log break (:mod:`logbreak`) that the communes and the auditor
   recognise, and the close sticks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from central_hub.models import Alert, HubSetting, LogBreak, Node, RefillRecord, RefillRoot
from central_hub.services import logbreak, nodes, translog
from central_hub.services.identity import Clock, HubIdentity
from common import keys, protocol
from common.errors import DossierError

SETTING = "log_recovery"


class LogRecovering(protocol.ProtocolError):
    code = "log_recovering"
    status = 409
    retryable = True
    en = (
        "The hub is rebuilding its log from the communes after a restore; records wait on "
        "the node and are sent when it is done."
    )
    vi = (
        "Cấp trên đang dựng lại nhật ký từ dữ liệu của các xã sau khi khôi phục; hồ sơ được "
        "giữ trên máy và sẽ tự gửi khi xong."
    )


@dataclass
class Recovery:
    opened_at: str
    target: int
    reported: dict[str, int] = field(default_factory=dict)


def current(session: Session, *, lock: bool = False) -> Recovery | None:
    stmt = select(HubSetting).where(HubSetting.key == SETTING)
    row = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if row is None or not row.value:
        return None
    raw = json.loads(row.value)
    return Recovery(str(raw["opened_at"]), int(raw["target"]), dict(raw.get("reported", {})))


def _save(session: Session, rec: Recovery | None) -> None:
    row = session.get(HubSetting, SETTING)
    if rec is None:
        if row is not None:
            session.delete(row)
        return
    value = json.dumps(rec.__dict__, sort_keys=True)
    if row is None:
        session.add(HubSetting(key=SETTING, value=value))
    else:
        row.value = value


def guard(session: Session) -> None:
    """Refuse a new leaf while the log is being rebuilt."""
    if current(session) is not None:
        raise LogRecovering()


def note_witness(
    session: Session, *, node_id: str, known: int, proven: tuple[int, bytes] | None, clock: Clock
) -> Recovery | None:
    """Every signed request: a node reports the newest checkpoint size it verified. Only a
    ``proven`` one (the hub's own signed checkpoint of that size and root, see
    :func:`central_hub.services.witness.weigh_known`) larger than the log opens a recovery
    or raises its target; during one, any node that reports counts as heard from."""
    size = translog.current_size(session)
    opens = proven is not None and proven[0] > size
    if not opens and current(session) is None:
        return None  # the common case: no lock, no write
    rec = current(session, lock=True)
    if rec is None:
        if proven is None or proven[0] <= size:
            return None
        rec = _open(
            session,
            proven[0],
            f"A commune has verified a checkpoint of {proven[0]} records signed by this hub, "
            f"but this hub's log holds {size}: the database is older than what communes "
            "witnessed (restored from a backup?).",
            clock,
        )
    if proven is not None and proven[0] > size:
        rec.target = max(rec.target, proven[0])
        proven_root(session, *proven)
    rec.reported[node_id] = max(min(known, rec.target), rec.reported.get(node_id, 0))
    _save(session, rec)
    return maybe_close(session, rec, clock=clock)


def check_log_head(session: Session, head: bytes | None, *, hub: HubIdentity, clock: Clock) -> None:
    """Compare the log head file (``central_hub/loghead.py``) with the database: a head
    ahead of the log means the database was put back from an older backup. Open the
    recovery now, before any new record can take a lost leaf; its root is the one the
    rebuilt log must reach."""
    if head is None:
        return
    try:
        cp = protocol.checkpoint_of(head, keys.public_from_hex(hub.public_hex), origin=hub.origin)
    except DossierError:
        return  # not this hub's (another key or origin): nothing to compare
    size, root = int(cp["size"]), str(cp["root"])
    if size <= translog.current_size(session):
        return
    rec = current(session, lock=True)
    if rec is None:
        rec = _open(
            session,
            size,
            f"This hub signed a checkpoint of {size} records, but its database holds "
            f"{translog.current_size(session)}: the database was put back from an older backup.",
            clock,
        )
    rec.target = max(rec.target, size)
    _save(session, rec)
    proven_root(session, size, bytes.fromhex(root))


def _open(session: Session, target: int, why: str, clock: Clock) -> Recovery:
    nodes.alert(
        session,
        "log_recovery",
        None,
        f"{why} The hub rebuilds the log from the communes' copies and accepts no new records "
        "until every active commune has reported. See `central-hub log-recovery` and "
        "docs/reliability.md (hub restored from a backup).",
        clock(),
    )
    return Recovery(opened_at=clock().isoformat(timespec="seconds"), target=target)


def waiting_for(session: Session, rec: Recovery) -> list[str]:
    """Active nodes that have not reported since the recovery opened."""
    active = session.scalars(select(Node.node_id).where(Node.state == "active"))
    return sorted(n for n in active if n not in rec.reported)


def unknown_communes(session: Session, rec: Recovery) -> list[str]:
    """What the administrator is told of communes this database does not know: those that
    re-introduced themselves since the recovery opened, and — when every known commune has
    reported but records are still missing — that one may still have to come back."""
    back = session.scalars(
        select(Alert.node_id).where(
            Alert.kind == "node_reintroduced",
            Alert.created_at >= datetime.fromisoformat(rec.opened_at),
        )
    ).all()
    out = [f"  re-introduced itself (unknown to this database): {n}" for n in back]
    if not waiting_for(session, rec) and translog.current_size(session) < rec.target:
        out.append(
            "  every commune this database knows has reported, yet records are still missing: "
            "a commune this database does not know (enrolled after the backup was taken) may "
            "still have to come back; it re-introduces itself at its next sync with the "
            "enrolment this hub signed (docs/operations.md)."
        )
    return out


def maybe_close(session: Session, rec: Recovery, *, clock: Clock) -> Recovery | None:
    if translog.current_size(session) < rec.target or waiting_for(session, rec):
        return rec
    close(session, clock=clock, why="every commune has reported and the log is whole again")
    return None


def close_early(
    session: Session, rec: Recovery, *, hub: HubIdentity, reason: str, by: str, clock: Clock
) -> LogBreak:
    """The administrator ends the recovery before the log is whole: what is given up is
    declared in a signed log break (:mod:`logbreak`), the recovery closes, and it stays
    closed — a commune's proof of a checkpoint the break gave up reopens nothing."""
    brk = logbreak.declare(session, hub=hub, target=rec.target, reason=reason, by=by, clock=clock)
    close(
        session,
        clock=clock,
        why=f"closed by the administrator {by}: {reason}. Checkpoints larger than "
        f"{brk.kept_size} signed before {brk.at.isoformat(timespec='seconds')} are given up "
        "(a declared log break, signed; communes that verified one are told and go on)",
    )
    return brk


def close(session: Session, *, clock: Clock, why: str) -> None:
    session.execute(delete(RefillRecord))
    session.execute(delete(RefillRoot))
    _save(session, None)
    size = translog.current_size(session)
    nodes.alert(
        session, "log_recovered", None, f"Log recovery closed at {size} records: {why}.", clock()
    )


def proven_root(session: Session, size: int, root: bytes) -> None:
    if size > translog.current_size(session) and session.get(RefillRoot, size) is None:
        session.add(RefillRoot(size=size, root=root.hex()))


def status(session: Session, rec: Recovery | None) -> dict[str, Any]:
    size = translog.current_size(session)
    if rec is None:
        return {"recovering": False, "size": size}
    return {
        "recovering": True,
        "size": size,
        "target": rec.target,
        "waiting_for": len(waiting_for(session, rec)),
        "staged": session.scalar(select(func.count()).select_from(RefillRecord)) or 0,
    }
