"""The node as a witness of the hub's transparency log: each checkpoint the hub shows is
verified — its signature, consistency with the one verified before (or the frontier that
proves it), and, after a push, that our records sit in it where the hub says — then adopted
as the anchor new records commit to, and cosigned. A proof that fails is an alarm for the
officers and stops the sync; it is never retried silently (docs/sync-protocol.md,
"Witnessing the log")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import merkle, protocol
from common.errors import DossierError
from common_io.database import Database
from commune_node.models import Event, Receipt
from commune_node.services import inbound
from commune_node.services.hublink import Client, HubLink, refused
from commune_node.services.identity import get_setting, head_setting, set_setting


def check_same_root(db: Database, client: Client, cp: dict[str, Any] | None) -> None:
    """A checkpoint of the very size we verified must have the very root we verified."""
    size, root = known_checkpoint(db)
    if cp and size and int(cp["size"]) == size and str(cp.get("root")) != root:
        _proof_failed(db, client.clock(), f"the hub's checkpoint at {size} has another root")


def known_checkpoint(db: Database) -> tuple[int, str]:
    """The newest checkpoint this node has verified: (size, root hex); (0, "") for none."""
    with db.read() as session:
        return (
            int(get_setting(session, "anchor_size", "0") or 0),
            get_setting(session, "anchor_root", "") or "",
        )


def witnessed_head(db: Database) -> tuple[int, str] | None:
    """Our newest record proven to be in a checkpoint we verified: (seq, record id)."""
    with db.read() as session:
        return head_setting(session)


def known_evidence(db: Database) -> dict[str, str]:
    """Version 2 of the ``known`` report: the hub-signed checkpoint we verified, which alone
    lets a hub restored from a backup know it is behind (a bare size proves nothing)."""
    with db.read() as session:
        anchor = get_setting(session, "anchor_checkpoint") or ""
    return {protocol.KNOWN_CHECKPOINT_HEADER: anchor} if anchor else {}


def unpin_given_up(session: Session, kept_size: int) -> None:
    """Our receipts' proofs against checkpoints a log break gave up (larger than the one
    the log goes on from) name leaves and roots of a log that is no more: kept, they would
    be given back to a later restored hub, which would wait for that lost log for ever. The
    receipts stay (the hub signed them); their records, if the hub loses them again, are
    given back as records no receipt pins."""
    for rc in session.scalars(select(Receipt).where(Receipt.first_leaf.is_not(None))):
        if int(rc.checkpoint_size or 0) > kept_size:
            rc.first_seq = rc.first_leaf = None
            rc.frontier = rc.checkpoint = None


def adopt_break(
    db: Database, client: Client, link: HubLink, answer: dict[str, Any], *, hub_head: int
) -> bool:
    """The hub says the checkpoint we verified was given up by a declared log break. Check
    the hub signed the break, that it covers our checkpoint, and the checkpoint the log
    goes on from; then adopt that one as our anchor (our pending cosignature of a given-up
    checkpoint is dropped) and raise one alarm. Returns whether we adopted it; a statement
    that does not verify stops the sync like any failed proof."""
    now = client.clock()
    try:
        signed = protocol.unb64(answer.get("statement"), "log_break.statement")
        brk = protocol.log_break_of(signed, link.public, origin=link.origin)
        kept_raw = protocol.unb64(answer.get("kept"), "log_break.kept")
        kept = protocol.checkpoint_of(kept_raw, link.public, origin=link.origin)
        if (kept["size"], kept["root"]) != (brk["kept"]["size"], brk["kept"]["root"]):
            raise merkle.ProofError("the kept checkpoint is not the one the break names")
    except (DossierError, ValueError, KeyError) as exc:
        _proof_failed(db, now, f"the hub's log break does not verify: {exc}", cause=exc)
    with db.read() as session:
        mine = get_setting(session, "anchor_checkpoint") or ""
    if not mine:
        return False
    ours = protocol.checkpoint_of(protocol.unb64(mine, "anchor"), link.public, origin=link.origin)
    if not protocol.break_covers(brk, ours):
        return False  # not ours to adopt: the usual checks decide
    with db.write() as session:
        set_setting(session, "anchor_size", str(kept["size"]))
        set_setting(session, "anchor_root", str(kept["root"]))
        set_setting(session, "anchor_checkpoint", protocol.b64(kept_raw))
        set_setting(session, "pending_cosignature", "")
        set_setting(session, "log_break", protocol.b64(signed))
        unpin_given_up(session, int(kept["size"]))
        acked = int(get_setting(session, "acked_seq", "0") or 0)
        resend = (
            f"its records {hub_head + 1} to {acked}, which the hub no longer holds, are sent "
            "again now; the ones before are safe at the hub"
            if hub_head < acked
            else "the hub holds every record this node has a receipt for"
        )
        resend_vi = (
            f"các bản ghi từ số {hub_head + 1} đến {acked} cấp trên không còn giữ được gửi "
            "lại ngay; các bản ghi trước đó vẫn an toàn"
            if hub_head < acked
            else "cấp trên còn giữ mọi bản ghi đã có biên nhận"
        )
        inbound.alarm(
            session,
            "log_break",
            f"The hub's administrator ({brk['by']}) closed the rebuilding of the hub's log on "
            f"{brk['time']} before it was whole, for this reason: {brk['reason']}. The "
            f"checkpoint this node had verified ({ours['size']} records) was given up: the "
            f"hub's log goes on from {kept['size']} records, and the hub signed that it did "
            f"so. Nothing of this node is lost: {resend}. Sync goes on; nothing to do at the "
            "desk. Keep this notice and tell the inspectorate: an audit shows this break as "
            "declared (declared_break).",
            f"Quản trị viên cấp trên ({brk['by']}) đã dừng việc dựng lại nhật ký lúc "
            f"{brk['time']} khi chưa đầy đủ, lý do: {brk['reason']}. Điểm kiểm tra máy này "
            f"đã xác nhận ({ours['size']} bản ghi) bị bỏ; nhật ký cấp trên tiếp tục từ "
            f"{kept['size']} bản ghi, có chữ ký của cấp trên. Không mất dữ liệu: {resend_vi}. "
            "Đồng bộ tiếp tục, không cần thao tác. Hãy lưu thông báo này và báo thanh tra.",
            now,
        )
    return True


def witness(
    db: Database,
    client: Client,
    link: HubLink,
    signed: bytes,
    known: int,
    consistency: list[str],
    *,
    batch: tuple[int, list[str], list[bytes]] | None = None,
    head: tuple[int, str] | None = None,
) -> None:
    """Verify a new checkpoint — the hub's signature, consistency with the one we knew, and
    (after a push) that our records sit in it — then adopt it as the anchor for new records
    and cosign it. Any failure is an alarm for the officers and stops the sync.

    ``head`` (seq, record id): the last of our records in ``batch``, proven in this
    checkpoint. The cosignature (version 2) commits to the newest head proven so far — our
    chain reaches at least that far in this log — so a hub that later shows our chain
    ending earlier is caught by an auditor holding the cosignature."""
    now = client.clock()
    old_size, old_root = known_checkpoint(db)
    try:
        cp = protocol.checkpoint_of(signed, link.public, origin=link.origin)
        size, root = int(cp["size"]), bytes.fromhex(str(cp["root"]))
        if size < old_size:
            raise merkle.ProofError(
                f"the hub's checkpoint shrank from {old_size} to {size}", reason="rollback"
            )
        if batch is not None and old_size and batch[0] == old_size and not consistency:
            # Our records start where our old checkpoint ended: the hub's frontier there
            # must fold to that checkpoint's root; extended by our records it must reach the
            # new root (checked below), which proves the new tree extends the old one.
            protocol.verify_frontier(
                size=old_size,
                frontier=[bytes.fromhex(h) for h in batch[1]],
                root=bytes.fromhex(old_root),
            )
        elif old_size and known == old_size:
            merkle.verify_consistency(
                old_size,
                size,
                bytes.fromhex(old_root),
                root,
                [bytes.fromhex(h) for h in consistency],
            )
        if batch is not None:
            first_leaf, frontier, leaves = batch
            protocol.verify_batch_inclusion(
                first_leaf=first_leaf,
                frontier=[bytes.fromhex(h) for h in frontier],
                leaves=leaves,
                root=root,
                size=size,
            )
    except (DossierError, ValueError) as exc:
        en = exc.en if isinstance(exc, DossierError) else str(exc)
        _proof_failed(db, now, en, cause=exc)
    if batch is None or head is None:
        head = witnessed_head(db)
    signer = client.current()  # the node's current key, even one the hub does not know yet
    cosig = protocol.sign_statement(
        protocol.COSIGNATURE_PREFIX,
        protocol.cosignature_body(cp, node=signer.node_id, key=signer.key_id, head=head),
        signer.key,
    )
    with db.write() as session:
        if head is not None:
            set_setting(session, "witnessed_head", f"{head[0]}:{head[1]}")
        set_setting(session, "anchor_size", str(size))
        set_setting(session, "anchor_root", root.hex())
        set_setting(session, "anchor_checkpoint", protocol.b64(signed))
        set_setting(session, "pending_cosignature", protocol.b64(cosig))


def _proof_failed(db: Database, now: datetime, en: str, *, cause: Exception | None = None) -> None:
    with db.write() as session:
        inbound.alarm(
            session,
            "proof_failed",
            f"The hub's log proof failed: {en}. Sync stopped; tell the hub "
            "administrator and the inspectorate.",
            "Bằng chứng nhật ký của cấp trên không hợp lệ; đồng bộ đã dừng. "
            "Hãy báo quản trị viên cấp trên và thanh tra.",
            now,
        )
    raise refused({"code": "bad_proof", "message": en}, 409) from cause


def stored_seqs(session: Session, answer: dict[str, Any]) -> tuple[int, int]:
    """The seqs of the records a push answer says it stored: the last ``stored`` of our
    records up to its head (duplicates, acknowledged again, come before them). Counted in
    records, not seqs: after a declared break the seqs it declared lost are absent."""
    head, stored = int(answer["head"]["seq"]), int(answer.get("stored", 0))
    if stored <= 0:
        return head + 1, head
    seqs = session.scalars(
        select(Event.seq).where(Event.seq <= head).order_by(Event.seq.desc()).limit(stored)
    ).all()
    return (min(seqs) if seqs else head - stored + 1), head


def check_evidence(
    db: Database, client: Client, link: HubLink, answer: dict[str, Any], known: int
) -> None:
    """The records this push stored must be in the signed log where the hub says."""
    proof, cp = answer.get("proof"), answer.get("checkpoint")
    if not proof or not cp:
        return
    with db.read() as session:
        first, last = stored_seqs(session, answer)
        rows = list(
            session.execute(
                select(Event.record, Event.seq, Event.record_id)
                .where(Event.seq >= first, Event.seq <= last)
                .order_by(Event.seq)
            )
        )
    leaves = [row[0] for row in rows]
    head = (int(rows[-1][1]), str(rows[-1][2])) if rows else None
    witness(
        db,
        client,
        link,
        protocol.unb64(cp["signed"], "checkpoint"),
        int(proof.get("from_size", 0)) or known,
        list(proof.get("consistency", [])),
        batch=(int(proof["first_leaf"]), list(proof["frontier"]), leaves),
        head=head,
    )
