"""The hub's encryption keys over time: which one is current, which nodes may still seal
personal data to an older one, and when an old private key can be destroyed.

Nodes seal the personal data of version 2 records to the hub's current encryption key
(X25519), which every status answer carries signed. After ``central-hub encryption-key
rotate`` a node keeps sealing to the old key until its next contact. Each request a node
makes says which key it seals to (``sealing=<kid>`` in the query, :func:`requests.touch`
keeps it in ``node.sealing_kid``), so the hub knows, node by node, who may still send a box
only an old key opens. A node that has not said so (software from before this) is taken to
seal to any key that had not been replaced yet when it last contacted the hub.

:func:`retire` marks an old key retired when no node may still seal to it (``force`` and a
reason to retire it all the same); the caller then destroys the private key file
(:func:`identity.destroy_encryption_key`). A box sealed to a retired key is refused with
``encryption_key_retired`` (:func:`refuse_retired`) and the node seals it again to the
current key, which it still can: it keeps the clear values in its own disclosure table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central_hub.models import EncryptionKeyRecord, HubDisclosure, Node
from common import personal, protocol
from common.errors import DossierError, NotFound

log = logging.getLogger("central_hub.encryption_keys")


class KeyInUse(DossierError):
    code = "encryption_key_in_use"
    status = 409
    en = "Nodes may still seal personal data to this encryption key."
    vi = "Còn nút có thể niêm phong dữ liệu cá nhân bằng khoá mã hoá này."


class CurrentKey(DossierError):
    code = "encryption_key_current"
    status = 409
    en = (
        "This is the hub's current encryption key; rotate first "
        "(central-hub encryption-key rotate)."
    )
    vi = "Đây là khoá mã hoá hiện hành của cấp trên; hãy đổi khoá trước."


@dataclass(frozen=True)
class KeyUse:
    """One encryption key: when it was current, whether it is retired, and who may still
    seal to it."""

    kid: str
    made_at: datetime
    current_until: datetime | None  # None: the current key
    retired_at: datetime | None
    retire_reason: str | None
    nodes: list[str] = field(default_factory=list)  # "agency_code (node_id)" of each node
    waiting: int = 0  # records those nodes last said were waiting (each may carry a box)
    kept: int = 0  # records whose values came in a box sealed to this key

    @property
    def current(self) -> bool:
        return self.current_until is None and self.retired_at is None


def note_ring(
    session: Session, made: Mapping[str, datetime], current: str, *, now: datetime
) -> None:
    """Give every key of the ring (kid → when its file was made) a row, and close the time
    as current of every key but ``current`` (keys made before this table existed)."""
    rows = {r.kid: r for r in session.scalars(select(EncryptionKeyRecord))}
    for kid, at in made.items():
        if kid not in rows:
            rows[kid] = EncryptionKeyRecord(kid=kid, made_at=at, forced=False)
            session.add(rows[kid])
    by_age = sorted(rows.values(), key=lambda r: r.made_at)
    for i, row in enumerate(by_age):
        if row.kid == current:
            row.current_until = None
        elif row.current_until is None:  # it was current until the next key was made
            row.current_until = by_age[i + 1].made_at if i + 1 < len(by_age) else now


def rotated(session: Session, old: str, new: str, *, now: datetime) -> None:
    """``new`` is the current key from ``now`` on; ``old`` stops being current then."""
    row = session.get(EncryptionKeyRecord, old)
    if row is not None and row.current_until is None:
        row.current_until = now
    if session.get(EncryptionKeyRecord, new) is None:
        session.add(EncryptionKeyRecord(kid=new, made_at=now, forced=False))


def _may_seal_to(node: Node, row: EncryptionKeyRecord, current: str) -> bool:
    if node.sealing_kid is not None:
        return node.sealing_kid == row.kid
    # no report: the key current when it last heard from the hub (its enrolment at least),
    # or, the times of keys made before this table being those of their files, any key not
    # yet replaced then: the safe side
    seen = node.last_contact or node.enrolled_at
    if row.kid == current:
        return True
    return row.current_until is None or seen < row.current_until


def usage(session: Session, current: str) -> list[KeyUse]:
    """Every key the hub has had, newest first, with the nodes that may still seal to it."""
    all_nodes = list(session.scalars(select(Node).order_by(Node.agency_code)))
    kept = dict(
        session.execute(
            select(HubDisclosure.sealed_kid, func.count(func.distinct(HubDisclosure.record_id)))
            .where(HubDisclosure.sealed_kid.is_not(None))
            .group_by(HubDisclosure.sealed_kid)
        ).all()
    )
    out = []
    for row in session.scalars(
        select(EncryptionKeyRecord).order_by(EncryptionKeyRecord.made_at.desc())
    ):
        users = [n for n in all_nodes if _may_seal_to(n, row, current)]
        out.append(
            KeyUse(
                kid=row.kid,
                made_at=row.made_at,
                current_until=None if row.kid == current else row.current_until or row.made_at,
                retired_at=row.retired_at,
                retire_reason=row.retire_reason,
                nodes=[f"{n.agency_code} ({n.node_id})" for n in users],
                waiting=sum(n.reported_waiting or 0 for n in users),
                kept=int(kept.get(row.kid, 0)),
            )
        )
    return out


def retire(
    session: Session,
    kid: str,
    *,
    current: str,
    actor: str,
    reason: str,
    force: bool,
    now: datetime,
) -> KeyUse:
    """Mark the old key ``kid`` retired (its private half is destroyed next, by the caller).
    Refused while a node may still seal to it, unless ``force`` (then ``reason`` is kept and
    logged). Returns what the key was used for."""
    if kid == current:
        raise CurrentKey()
    row = session.get(EncryptionKeyRecord, kid)
    if row is None:
        raise NotFound(
            f"this hub has no encryption key {kid}", vi=f"Cấp trên không có khoá mã hoá {kid}"
        )
    use = next(u for u in usage(session, current) if u.kid == kid)
    if row.retired_at is not None:
        return use
    if use.nodes and not force:
        names = ", ".join(use.nodes)
        raise KeyInUse(
            f"{len(use.nodes)} node(s) may still seal personal data to {kid}: {names}. "
            "Each learns the current key at its next sync; retire the key after they have "
            "synced (central-hub encryption-key list), or give --force with --reason.",
            vi=f"{len(use.nodes)} nút còn có thể dùng khoá {kid}: {names}. Mỗi nút nhận khoá "
            "mới ở lần đồng bộ tới; hãy chờ các nút đồng bộ rồi thử lại, hoặc dùng --force "
            "kèm --reason.",
            nodes=use.nodes,
        )
    if force and not reason.strip():
        raise DossierError("--force needs a --reason", vi="--force cần kèm --reason")
    row.retired_at = now
    row.retired_by = actor[:64]
    row.retire_reason = (reason or "no node may seal to it")[:500]
    row.forced = bool(force and use.nodes)
    if row.forced:
        log.warning(
            "encryption key %s retired by %s while %d node(s) may seal to it (%s): %s",
            kid,
            actor,
            len(use.nodes),
            ", ".join(use.nodes),
            reason,
        )
    else:
        log.info("encryption key %s retired by %s", kid, actor)
    return use


def retired_among(session: Session, kids: Iterable[str]) -> set[str]:
    wanted = set(kids)
    if not wanted:
        return set()
    return set(
        session.scalars(
            select(EncryptionKeyRecord.kid).where(
                EncryptionKeyRecord.kid.in_(sorted(wanted)),
                EncryptionKeyRecord.retired_at.is_not(None),
            )
        )
    )


def refuse_retired(session: Session, sealed: Mapping[str, bytes], *, statement: bytes) -> None:
    """Refuse a push whose boxes include one sealed to a retired key, before anything is
    stored; the refusal carries the hub's signed statement of its current key (``statement``,
    :func:`protocol.encryption_key_statement`), so the node seals again and sends again."""
    kids: dict[str, str] = {}
    for rid, box in sealed.items():
        try:
            kids.setdefault(personal.sealed_key_id(box), rid)
        except personal.DisclosureError:
            continue  # not a box: store_sealed alerts it, record by record
    gone = retired_among(session, kids)
    if gone:
        kid = sorted(gone)[0]
        raise personal.KeyRetired(
            f"personal data sealed to the retired encryption key {kid} (record "
            f"{kids[kid][:12]}); seal it again to the current key",
            kid=kid,
            encryption_key=protocol.b64(statement),
        )
