"""Attacks on the hub's log recovery by a hostile commune, one test per attack.

Every enrolled commune can sign requests, so everything it reports is a claim. The log
recovery (central_hub/services/recovery.py) stops every commune's pushes and every hub
officer's actions while it is open: it must open only on evidence the hub's own key signed
(docs/threat-model.md, "A commune claims a checkpoint the hub never signed"). Each test's
docstring says what the attacker does and what must hold."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from central_hub.models import Alert
from central_hub.services import recovery, translog
from common import canonical, protocol
from commune_node import db as node_db
from commune_node.services.hublink import Client, SyncRefused
from commune_node.services.identity import get_setting
from commune_node.web.context import node_identity
from tests.node.conftest import Node
from tests.sync.conftest import Site, sync
from tests.sync.helpers import take_in

HUGE = 2**53  # the largest `known` the hub accepts at all


def _client(site: Site, n: Node) -> Client:
    with n.app.app_context():
        ident = node_identity()
    return Client(node_db.database(n.app), ident, n.app.config["SYNC_TRANSPORT"](), site.clock)


def _status(site: Site, n: Node, known: int, evidence: bytes | None = None) -> Any:
    headers = {protocol.KNOWN_CHECKPOINT_HEADER: protocol.b64(evidence)} if evidence else None
    resp = _client(site, n).call(
        "GET", f"/sync/v1/status?waiting=0&oldest=0&known={known}", headers=headers
    )
    return resp.json()


def _recovering(site: Site) -> bool:
    with site.hub.db.read() as s:
        return recovery.current(s) is not None


def _alerts(site: Site, kind: str) -> list[Alert]:
    with site.hub.db.read() as s:
        return list(s.scalars(select(Alert).where(Alert.kind == kind)))


def _two_communes(site: Site) -> tuple[Node, Node]:
    honest = site.node("a", "000.00.12.H26")
    attacker = site.node("m", "000.00.13.H26")
    take_in(honest)
    sync(honest)
    sync(attacker)
    return honest, attacker


def _assert_hub_unharmed(site: Site, honest: Node) -> None:
    assert not _recovering(site)
    take_in(honest)
    assert sync(honest).pushed == 1  # the other communes go on as before


def _anchor(n: Node) -> bytes:
    with node_db.read_session(n.app) as s:
        return protocol.unb64(get_setting(s, "anchor_checkpoint"), "checkpoint")


def test_a_bare_claim_of_a_huge_checkpoint_opens_no_recovery(site: Site) -> None:
    """Attack: a commune signs ``GET /sync/v1/status?known=9007199254740992`` (no evidence,
    as an old node would send), again and again, to make the hub stop every commune's
    pushes and every officer's action with ``log_recovering``.

    Must hold: no recovery opens; the other communes push as before; the administrator gets
    ONE alert naming that node, not one per request."""
    honest, attacker = _two_communes(site)
    for _ in range(5):
        answer = _status(site, attacker, HUGE)
        assert answer["recovery"] is None
    _assert_hub_unharmed(site, honest)
    alerts = _alerts(site, "unproven_witness")
    assert [a.node_id for a in alerts] == [node_id(attacker)]
    assert "9007199254740992" in alerts[0].message
    assert not _alerts(site, "log_recovery") and not _alerts(site, "log_behind_witness")


def test_a_checkpoint_signed_by_another_key_is_no_evidence(site: Site) -> None:
    """Attack: the commune makes its own "checkpoint" of a huge size, well formed and
    signed — by its own node key, not the hub's — and sends it as evidence.

    Must hold: the hub checks its own key's signature; no recovery, one alert."""
    honest, attacker = _two_communes(site)
    body = {"origin": site.hub.identity.origin, "root": "ab" * 32, "size": 10**6,
            "time": "2026-12-01T00:00:00Z"}  # fmt: skip
    with attacker.app.app_context():
        forged = protocol.sign_statement(protocol.CHECKPOINT_PREFIX, body, node_identity().key)
    for _ in range(3):
        assert _status(site, attacker, 10**6, forged)["recovery"] is None
    _assert_hub_unharmed(site, honest)
    assert len(_alerts(site, "unproven_witness")) == 1


def test_a_genuine_checkpoint_altered_to_a_larger_size_is_no_evidence(site: Site) -> None:
    """Attack: the commune takes a genuine hub checkpoint it verified and edits its size
    (keeping the hub's signature bytes).

    Must hold: the signature no longer verifies: no recovery, one alert."""
    honest, attacker = _two_communes(site)
    genuine = _anchor(attacker)
    head = genuine[len(protocol.CHECKPOINT_PREFIX) : -64]
    body = canonical.decode(head)
    assert isinstance(body, dict)
    body["size"] = int(body["size"]) + 1000
    altered = protocol.CHECKPOINT_PREFIX + canonical.encode(body) + genuine[-64:]
    assert _status(site, attacker, body["size"], altered)["recovery"] is None
    _assert_hub_unharmed(site, honest)
    assert len(_alerts(site, "unproven_witness")) == 1


def test_a_genuine_small_checkpoint_cannot_prove_a_larger_claim(site: Site) -> None:
    """Attack: the commune sends a genuine hub checkpoint (size 1) as the "evidence" for a
    claim of a much larger size.

    Must hold: the evidence proves only its own size: no recovery, one alert."""
    honest, attacker = _two_communes(site)
    genuine = _anchor(attacker)
    assert _status(site, attacker, HUGE, genuine)["recovery"] is None
    _assert_hub_unharmed(site, honest)
    assert len(_alerts(site, "unproven_witness")) == 1


def test_a_checkpoint_of_another_log_is_no_evidence(site: Site) -> None:
    """Attack: a checkpoint signed by the hub's key, but for another log (another origin,
    e.g. a test hub run with the same key), larger than this log.

    Must hold: the origin is part of what the hub checks: no recovery, one alert."""
    honest, attacker = _two_communes(site)
    body = {"origin": "another-log", "root": "cd" * 32, "size": 500,
            "time": "2026-12-01T00:00:00Z"}  # fmt: skip
    other = protocol.sign_statement(protocol.CHECKPOINT_PREFIX, body, site.hub.identity.key)
    assert _status(site, attacker, 500, other)["recovery"] is None
    _assert_hub_unharmed(site, honest)
    assert len(_alerts(site, "unproven_witness")) == 1


def test_evidence_the_hub_really_signed_still_opens_a_recovery(site: Site) -> None:
    """Not an attack, the control: a checkpoint of that size, with its root, that the hub's
    key signed for this log and that the database no longer holds (it was put back from
    a backup) opens the recovery, with that root as what the rebuilt log must reach."""
    honest, attacker = _two_communes(site)
    with site.hub.db.read() as s:
        size = translog.current_size(s)
    body = {"origin": site.hub.identity.origin, "root": "ef" * 32, "size": size + 3,
            "time": "2026-12-01T00:00:00Z"}  # fmt: skip
    lost = protocol.sign_statement(protocol.CHECKPOINT_PREFIX, body, site.hub.identity.key)
    answer = _status(site, honest, size + 3, lost)
    assert answer["recovery"] is not None and answer["recovery"]["target"] == size + 3
    assert not _alerts(site, "unproven_witness")
    with pytest.raises(SyncRefused) as info:
        take_in(attacker)
        sync(attacker)
    assert info.value.code == "log_recovering"


def node_id(n: Node) -> str:
    with n.app.app_context():
        return node_identity().node_id
