"""Enrolment codes, enrolled nodes, their keys over time, revocation and quarantine."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_hub.models import Alert, EnrolCode, Node, NodeKey
from central_hub.services.identity import Clock
from common import keys, protocol
from common.errors import DossierError, NotFound, SignatureError

AGENCY_CODE = re.compile(r"\d{3}\.\d{2}\.\d{2}\.H\d{2}\Z")


class EnrolError(DossierError):
    code = "enrol_refused"
    status = 403
    vi = "Mã đăng ký không hợp lệ, đã dùng hoặc đã hết hạn."
    en = "The enrolment code is unknown, used or expired."


def code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def issue_code(
    session: Session, *, commune_name: str, agency_code: str, clock: Clock, hours: int = 72
) -> str:
    """A one-time code, shown once, valid for ``hours``: e.g. ``K7QF-9M2X-TR4D``."""
    if not AGENCY_CODE.match(agency_code):
        raise DossierError(
            "agency code must look like 000.00.12.H26", vi="Mã cơ quan phải có dạng 000.00.12.H26"
        )
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(12))
    code = "-".join(raw[i : i + 4] for i in range(0, 12, 4))
    now = clock()
    session.add(
        EnrolCode(
            code_hash=code_hash(code),
            commune_name=commune_name,
            agency_code=agency_code,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    return code


@dataclass(frozen=True)
class Enrolment:
    node: Node
    key: NodeKey


def enrol(
    session: Session,
    *,
    code: str,
    node_id: str,
    public_key_hex: str,
    proof: bytes,
    agency_code: str | None = None,
    clock: Clock,
) -> Enrolment:
    """Register a node's first key; the code is consumed in the same transaction."""
    now = clock()
    row = session.scalars(
        select(EnrolCode).where(EnrolCode.code_hash == code_hash(code)).with_for_update()
    ).first()
    if row is None:
        raise EnrolError("The enrolment code is unknown.", vi="Mã đăng ký không tồn tại.")
    if row.used_at is not None:
        raise EnrolError("The enrolment code has already been used.", vi="Mã đăng ký đã được dùng.")
    if row.expires_at <= now:
        raise EnrolError("The enrolment code has expired.", vi="Mã đăng ký đã hết hạn.")
    if agency_code is not None and agency_code != row.agency_code:
        raise EnrolError(
            f"The code was issued for agency {row.agency_code}; this node is {agency_code}.",
            vi=f"Mã đăng ký cấp cho cơ quan {row.agency_code}; nút này là {agency_code}.",
        )
    public = keys.public_from_hex(public_key_hex)
    if keys.key_id(public) != node_id:
        raise EnrolError(
            "The node id is not the id of the key presented.",
            vi="Mã nút không khớp với khoá công khai.",
        )
    try:
        keys.verify(public, proof, protocol.enrol_message(code, node_id, public_key_hex))
    except SignatureError as exc:
        raise EnrolError(
            "The node did not prove it holds the key.",
            vi="Nút không chứng minh được quyền giữ khoá.",
        ) from exc
    if row.replaces is not None:
        return _continue(session, row, node_id=node_id, public_key_hex=public_key_hex, now=now)
    if session.get(Node, node_id) is not None:
        raise EnrolError("This node is already enrolled.", vi="Nút này đã được đăng ký.")
    taken = session.scalar(select(Node).where(Node.agency_code == row.agency_code))
    if taken is not None:
        raise EnrolError(
            f"Agency code {row.agency_code} is already used by another node.",
            vi=f"Mã cơ quan {row.agency_code} đã thuộc nút khác.",
        )
    row.used_at = now
    row.node_id = node_id
    node = Node(
        node_id=node_id,
        commune_name=row.commune_name,
        agency_code=row.agency_code,
        enrolled_at=now,
        state="active",
        head_seq=0,
    )
    key = NodeKey(
        key_id=node_id, node_id=node_id, public_key=public_key_hex, first_seq=1, created_at=now
    )
    session.add_all([node, key])
    return Enrolment(node, key)


def _continue(
    session: Session, code: EnrolCode, *, node_id: str, public_key_hex: str, now: datetime
) -> Enrolment:
    """A new laptop enrolled with a code of ``central-hub node replace``: it continues the
    retired laptop's chain (the commune's node id) with its own key from the next seq."""
    assert code.replaces is not None
    node = session.scalars(
        select(Node).where(Node.node_id == code.replaces).with_for_update()
    ).one()
    if session.get(NodeKey, node_id) is not None:
        raise EnrolError("This key is already enrolled.", vi="Khoá này đã được đăng ký.")
    code.used_at = now
    code.node_id = node.node_id
    key = NodeKey(
        key_id=node_id,
        node_id=node.node_id,
        public_key=public_key_hex,
        first_seq=node.head_seq + 1,
        created_at=now,
    )
    session.add(key)
    for old in session.scalars(select(NodeKey).where(NodeKey.node_id == node.node_id)):
        if old.key_id != node_id and old.replaced_by is None:
            old.replaced_by = node_id
    node.state = "active"
    alert(
        session,
        "node_replaced",
        node.node_id,
        f"A new laptop (key {node_id}) enrolled for {node.commune_name} ({node.agency_code}): "
        f"it takes back the commune's {node.head_seq} records and goes on from "
        f"{node.head_seq + 1}.",
        now,
    )
    return Enrolment(node, key)


def replaced_keys(session: Session, node_id: str, key_id: str) -> list[str]:
    """The keys of ``node_id`` that the new laptop's ``key_id`` replaced."""
    return list(
        session.scalars(
            select(NodeKey.key_id).where(NodeKey.node_id == node_id, NodeKey.replaced_by == key_id)
        )
    )


def get_node(session: Session, node_id: str) -> Node:
    node = session.get(Node, node_id)
    if node is None:
        raise NotFound(f"no node {node_id}", vi=f"Không có nút {node_id}")
    return node


def key_for(session: Session, node_id: str, key_id: str) -> NodeKey | None:
    row = session.get(NodeKey, key_id)
    return row if row is not None and row.node_id == node_id else None


def revoke_key(
    session: Session, *, node_id: str, key_id: str, last_valid_seq: int, reason: str, clock: Clock
) -> NodeKey:
    """Revoke a key: records it signed after ``last_valid_seq`` are refused from now on, and
    it signs no request or cosignature any more. A key a rotation already ended keeps the
    smaller of the two ends."""
    key = key_for(session, node_id, key_id)
    if key is None:
        raise NotFound(f"node {node_id} has no key {key_id}")
    if last_valid_seq < key.first_seq - 1:
        raise DossierError(
            f"last valid seq {last_valid_seq} is before key {key_id}'s first record "
            f"({key.first_seq})",
            vi=f"Số bản ghi hợp lệ cuối {last_valid_seq} đứng trước bản ghi đầu tiên của khoá",
        )
    if key.last_valid_seq is not None:
        last_valid_seq = min(last_valid_seq, key.last_valid_seq)
    key.last_valid_seq = last_valid_seq
    key.revoked_at = clock()
    key.reason = reason[:300]
    alert(
        session,
        "key_revoked",
        node_id,
        f"Key {key_id} revoked after seq {last_valid_seq}: {reason}",
        clock(),
    )
    return key


def revocation_ends(
    session: Session, node_id: str, last_valid_seq: int, *, key_id: str | None = None
) -> dict[str, int]:
    """The last valid seq of each key a revocation of the node after ``last_valid_seq``
    covers: every key not revoked yet (or only ``key_id``). A key a rotation ended keeps its
    own end if that is earlier; a key first used after ``last_valid_seq`` keeps nothing."""
    rows = session.scalars(
        select(NodeKey).where(NodeKey.node_id == node_id).order_by(NodeKey.first_seq)
    ).all()
    if key_id is not None:
        rows = [k for k in rows if k.key_id == key_id]
        if not rows:
            raise NotFound(f"node {node_id} has no key {key_id}", vi=f"Nút không có khoá {key_id}")
        if key_id is not None and last_valid_seq < rows[0].first_seq - 1:
            return {key_id: last_valid_seq}  # refused by revoke_key with the reason
    ends = {}
    for k in rows:
        if k.revoked_at is not None and key_id is None:
            continue
        end = last_valid_seq if k.last_valid_seq is None else min(k.last_valid_seq, last_valid_seq)
        ends[k.key_id] = max(end, k.first_seq - 1)
    return ends


def successor_of(session: Session, key: NodeKey) -> str | None:
    """The key a rotation put in place of ``key`` (None when it has none)."""
    if key.last_valid_seq is None:
        return None
    return session.scalars(
        select(NodeKey.key_id).where(
            NodeKey.node_id == key.node_id, NodeKey.first_seq == key.last_valid_seq + 1
        )
    ).first()


def add_rotated_key(
    session: Session, *, node_id: str, new_key_hex: str, first_seq: int, old: NodeKey, now: datetime
) -> NodeKey:
    """Register the key announced by a ``key.rotated`` record; the old key ends there. A
    rotation of a laptop already replaced (its record given back after a restore, the new
    laptop known again first) hands the replacement on: the new key is retired too."""
    new_id = keys.key_id(bytes.fromhex(new_key_hex))
    end, replaced = old.last_valid_seq, old.replaced_by is not None and old.revoked_at is not None
    old.last_valid_seq = first_seq - 1
    key = NodeKey(
        key_id=new_id, node_id=node_id, public_key=new_key_hex, first_seq=first_seq, created_at=now
    )
    if replaced:
        key.last_valid_seq = max(first_seq - 1, end or 0)
        key.revoked_at, key.reason, key.replaced_by = old.revoked_at, old.reason, old.replaced_by
    else:
        old.reason = f"rotated to {new_id}"
    session.add(key)
    return key


def quarantine(session: Session, node: Node, why: str, now: datetime) -> None:
    node.state = "quarantined"
    node.last_error = why[:500]
    node.last_error_at = now
    alert(session, "quarantine", node.node_id, why, now)


def alert(
    session: Session,
    kind: str,
    node_id: str | None,
    message: str,
    now: datetime,
    *,
    coalesce: bool = False,
) -> None:
    """Raise an alert. About a node, alerts of one kind are coalesced: while one waits to be
    acknowledged, another of that kind adds to its ``count`` and moves its ``last_seen`` (a
    node sending junk by the thousand raises one row, not a thousand); its message is the
    first one's. ``coalesce`` does the same for an alert about no node (one cause, such as a
    setting left empty, that every message of a push would otherwise raise again)."""
    if node_id is not None or coalesce:
        waiting = _waiting(session, kind, node_id)
        if waiting is not None:
            waiting.count += 1
            waiting.last_seen = now
            return
    row = Alert(kind=kind, node_id=node_id, message=message[:1000], created_at=now)
    row.count, row.last_seen = 1, now
    session.add(row)
    session.flush()


def _waiting(session: Session, kind: str, node_id: str | None) -> Alert | None:
    return session.scalars(
        select(Alert).where(
            Alert.kind == kind,
            Alert.node_id.is_(None) if node_id is None else Alert.node_id == node_id,
            Alert.acknowledged.is_(False),
        )
    ).first()


def alert_once(
    session: Session, kind: str, node_id: str | None, message: str, now: datetime
) -> None:
    """An alert, unless one of that kind for that node still waits to be acknowledged (a
    node retrying every minute raises one alert, not a thousand); a repeat is counted."""
    if node_id is not None or _waiting(session, kind, None) is None:
        alert(session, kind, node_id, message, now)


def refused_record(session: Session, node_id: str, code: str, message: str, now: datetime) -> None:
    """A pushed record the hub refused before storing anything (``bad_signature``, …): the
    node's ``last_error`` says so, and one alert waits for the administrator (a node that
    retries every minute raises one alert, not a thousand). Written in its own transaction
    by the caller, so it survives the refusal."""
    node = session.get(Node, node_id)
    if node is None:
        return
    node.last_error = f"{code}: {message}"[:500]
    node.last_error_at = now
    alert_once(session, "record_refused", node_id, f"{code}: {message}", now)
