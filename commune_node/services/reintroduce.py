"""This node and a hub that no longer knows it (``unknown_node``): the hub's database was
put back from a backup older than this node's enrolment. The node presents the enrolment
the hub signed (kept since enrolment, or fetched once from the hub by nodes enrolled
before it was given), with its key's proof; the hub re-creates it, and the sync goes on —
the hub's head for this node is then 0, so everything is given back (push, or refill while
the hub rebuilds its log). One alarm tells the officers."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import keys, protocol, record
from common.errors import DossierError
from common_io.database import Database
from commune_node.models import Event, Inbound
from commune_node.services import inbound
from commune_node.services.enrolment import keep_statement
from commune_node.services.hublink import Client, HubLink, SyncRefused
from commune_node.services.identity import get_setting

MAX_EVIDENCE = 20  # records the hub reads from a re-introduction


def ensure_statement(db: Database, client: Client, link: HubLink) -> None:
    """Fetch the hub's signed enrolment once, for a node enrolled before it was given."""
    with db.read() as session:
        if get_setting(session, "enrolment"):
            return
    try:
        answer = client.call("GET", "/sync/v1/enrolment").json()
    except SyncRefused:
        return  # an older hub: nothing to keep yet
    with db.write() as session:
        keep_statement(session, link.public, answer, origin=link.origin)


def evidence(session: Session, node_id: str) -> list[str]:
    """What proves the key this node signs with now, from the key its enrolment names
    (base64 records, oldest first): the hub's ``key.replaced`` records of this commune's
    new laptops, and the rotation records after the newest of them."""
    since = 0
    replaced = []
    for raw in session.scalars(
        select(Inbound.raw).where(Inbound.type == "key.replaced").order_by(Inbound.feed_id)
    ):
        rec = record.parse(raw)
        if rec.data.get("node") == node_id:
            replaced.append(raw)
            since = max(since, int(rec.data.get("first_seq", 0)))
    rotated = list(
        session.scalars(
            select(Event.record)
            .where(Event.type == "key.rotated", Event.seq >= since)
            .order_by(Event.seq)
        )
    )
    room = MAX_EVIDENCE - len(replaced[-4:])
    shown = replaced[-4:] + rotated[:room]
    return [protocol.b64(raw) for raw in shown]


def replaced(db: Database) -> bool:
    """Whether this laptop replaced a lost one (``central-hub node replace``)."""
    with db.read() as session:
        return bool(get_setting(session, "replacement"))


def reintroduce(db: Database, client: Client, *, alarm: bool = True) -> bool:
    """Present our enrolment to a hub that answered ``unknown_node`` (or, with ``alarm``
    False, ``unknown_key`` to a new laptop: a hub put back from before the replacement),
    with the evidence of the key that signs the proof, our current one. Returns whether the
    hub knows us again; without a kept enrolment there is nothing to present."""
    with db.read() as session:
        kept = get_setting(session, "enrolment") or ""
        shown = evidence(session, client.identity.node_id)
    if not kept:
        return False
    raw = protocol.unb64(kept, "enrolment")
    proof = keys.sign(client.current().key, protocol.reintroduce_message(raw))
    body = json.dumps({"enrolment": kept, "proof": protocol.b64(proof), "evidence": shown}).encode()
    resp = client.transport.request(
        "POST", "/sync/v1/reintroduce", body=body, headers={"Content-Type": "application/json"}
    )
    if resp.status != 200:
        return False
    try:
        known = resp.json().get("node_id") == client.identity.node_id
    except (ValueError, AttributeError, DossierError):
        return False
    if known and alarm:
        with db.write() as session:
            inbound.alarm(
                session,
                "hub_reintroduced",
                "The hub did not know this node any more: its database was put back from a "
                "backup older than this node's enrolment. The node showed the enrolment the "
                "hub had signed and the hub took it back; this node's records are being given "
                "back to it now. Nothing is lost and nothing to do: sync goes on. Tell the hub "
                "administrator if this is unexpected.",
                "Cấp trên không còn nhận ra máy này: cơ sở dữ liệu của cấp trên được khôi phục "
                "từ bản sao lưu cũ hơn lần đăng ký. Máy đã xuất trình bản đăng ký có chữ ký của "
                "cấp trên và được nhận lại; các bản ghi đang được gửi lại. Không mất dữ liệu, "
                "không cần thao tác: đồng bộ tiếp tục.",
                client.clock(),
            )
    return known
