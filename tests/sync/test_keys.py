"""Enrolment codes, key rotation and revocation, over real HTTP."""

from __future__ import annotations

import json

import pytest
import requests
from sqlalchemy import select

from central_hub.models import Alert, Cosignature, EnrolCode, NodeKey, Nonce
from central_hub.services import nodes as hub_nodes
from common import canonical, keys, protocol, record
from commune_node import db as node_db
from commune_node.models import Event
from commune_node.services import backlog
from commune_node.services.enrolment import EnrolFailed, enrol
from commune_node.transport import HttpTransport
from commune_node.web.context import node_identity
from tests.node.conftest import make_node
from tests.sync.conftest import Site, rotate, sync
from tests.sync.helpers import hub_count, take_in


def _code(site: Site, agency: str = "000.00.12.H26", hours: int = 72) -> str:
    with site.hub.db.write() as s:
        return hub_nodes.issue_code(
            s, commune_name="Xã Đăk Pxi", agency_code=agency, clock=site.clock, hours=hours
        )


def _fresh_node(site: Site, name: str, agency: str = "000.00.12.H26"):  # type: ignore[no-untyped-def]
    return make_node(site.tmp / name, site.clock, agency=agency)


def _enrol(site: Site, node, code: str) -> None:  # type: ignore[no-untyped-def]
    with node.app.app_context():
        enrol(
            node_db.database(node.app),
            identity=node_identity(),
            transport=HttpTransport(site.url),
            hub_url=site.url,
            code=code,
        )


def test_a_code_works_once_and_only_its_hash_is_kept(site: Site) -> None:
    code = _code(site)
    first = _fresh_node(site, "first")
    _enrol(site, first, code)
    with site.hub.db.read() as s:
        row = s.scalars(select(EnrolCode)).one()
        assert row.used_at is not None and code not in row.code_hash
    second = _fresh_node(site, "second", agency="000.00.13.H26")
    with pytest.raises(EnrolFailed) as info:
        _enrol(site, second, code)
    assert "already been used" in info.value.en


def test_expired_and_unknown_codes_and_wrong_agency_are_refused(site: Site) -> None:
    code = _code(site, hours=1)
    site.clock.advance(hours=2)
    n = _fresh_node(site, "n")
    with pytest.raises(EnrolFailed, match="expired"):
        _enrol(site, n, code)
    with pytest.raises(EnrolFailed, match="unknown"):
        _enrol(site, n, "AAAA-BBBB-CCCC")
    other = _code(site, agency="000.00.99.H26")
    with pytest.raises(EnrolFailed, match="issued for agency"):
        _enrol(site, n, other)
    with site.hub.db.read() as s:  # the refused attempt did not use the code up
        assert all(r.used_at is None for r in s.scalars(select(EnrolCode)))


def test_enrolment_needs_proof_of_the_key(site: Site) -> None:
    code = _code(site)
    victim = keys.generate()
    attacker = keys.generate()
    public = keys.public_bytes(victim).hex()
    body = {
        "code": code,
        "node_id": keys.key_id(victim),
        "public_key": public,
        "agency_code": "000.00.12.H26",
        "proof": protocol.b64(
            keys.sign(attacker, protocol.enrol_message(code, keys.key_id(victim), public))
        ),
    }
    r = requests.post(
        site.url + "/sync/v1/enrol",
        data=json.dumps(body),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "enrol_refused"


def test_key_rotation_continues_the_chain(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)
    old, new, rec = rotate(a)
    assert rec.seq == 2 and rec.key == old.key_id
    take_in(a)  # signed by the new key
    result = sync(a)
    assert result.pushed == 2 and result.dead == 0
    assert hub_count(site.hub, old.node_id) == 3
    with site.hub.db.read() as s:
        ks = {k.key_id: k for k in s.scalars(select(NodeKey).where(NodeKey.node_id == old.node_id))}
    assert ks[old.key_id].last_valid_seq == 2
    assert ks[new.key_id].first_seq == 3
    # A record the old key signs after the rotation is refused.
    with node_db.read_session(a.app) as s:
        head = s.scalars(select(Event).order_by(Event.seq.desc())).first()
    late = record.make(
        private_key=old.key,
        node=old.node_id,
        seq=head.seq + 1,
        prev=head.record_id,  # type: ignore[union-attr]
        at=site.clock(),
        anchor=None,
        dossier=None,
        type="checkpoint.cosigned",
        actor="system",
        data={},
    )
    body = protocol.encode_batch([late.raw])
    headers = protocol.sign_request(
        new.key,
        method="POST",
        path="/sync/v1/push",
        body=body,
        timestamp=int(site.clock().timestamp()),
        nonce="ab" * 16,
        node=new.node_id,
    )
    headers["Content-Type"] = protocol.BATCH_CONTENT_TYPE
    r = requests.post(site.url + "/sync/v1/push", data=body, headers=headers, timeout=10)
    assert r.status_code == 403 and r.json()["error"]["code"] == "key_revoked"


def _cosigner(signed: bytes) -> str:
    return str(canonical.decode(signed[len(protocol.COSIGNATURE_PREFIX) : -64])["key"])


@pytest.mark.parametrize("communes", [2, 3])
def test_rotation_after_another_commune_pushed_keeps_syncing(site: Site, communes: int) -> None:
    """u1 sync; u2 sync; u1 rotate-key; u1 sync: the log grew between u1's syncs, so u1
    cosigns a checkpoint with its new key before the hub has the rotation record."""
    agencies = ["000.00.12.H26", "000.00.13.H26", "000.00.14.H26"][:communes]
    nodes = [site.node(f"u{i + 1}", agency) for i, agency in enumerate(agencies)]
    for n in nodes:
        take_in(n)
        sync(n)
    u1 = nodes[0]
    with u1.app.app_context():
        old = node_identity()
    rotate(u1)
    for _ in range(3):
        take_in(u1)
        sync(u1)
        for other in nodes[1:]:
            take_in(other)
            sync(other)
    with u1.app.app_context():
        new = node_identity()
    assert new.key_id != old.key_id
    with node_db.read_session(u1.app) as s:
        head = s.scalars(select(Event).order_by(Event.seq.desc())).first()
        assert head is not None
        assert backlog.acked_seq(s) == head.seq
    assert hub_count(site.hub, old.node_id) == head.seq
    with site.hub.db.read() as s:
        signers = {c.node_id for c in s.scalars(select(Cosignature))}
        cosigned_by_new = [
            c
            for c in s.scalars(select(Cosignature).where(Cosignature.node_id == old.node_id))
            if _cosigner(c.signed) == new.key_id
        ]
        alerts = list(s.scalars(select(Alert).where(Alert.kind == "bad_cosignature")))
    assert len(signers) == communes
    assert cosigned_by_new, "the new key's cosignatures are kept"
    assert alerts == []


def test_seen_nonces_are_forgotten_after_the_window(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    sync(a)
    with site.hub.db.read() as s:
        first = set(s.scalars(select(Nonce.nonce)))
    assert first
    site.clock.advance(seconds=protocol.TIMESTAMP_WINDOW * 3)
    sync(a)
    with site.hub.db.read() as s:
        assert first.isdisjoint(set(s.scalars(select(Nonce.nonce))))
