"""Nodes as witnesses of the hub's log: every push is proved to be in the signed log, every
new checkpoint is checked for consistency, then cosigned; a failed proof is an alarm."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from central_hub.models import Cosignature
from commune_node import db as node_db
from commune_node.models import Alarm, Event
from commune_node.services.hublink import SyncRefused
from commune_node.services.identity import get_setting
from commune_node.transport import HttpTransport, Response
from tests.sync.conftest import Site, sync
from tests.sync.helpers import take_in


def test_records_are_anchored_and_checkpoints_cosigned(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)
    with node_db.read_session(a.app) as s:
        size = int(get_setting(s, "anchor_size") or 0)
    assert size > 0
    take_in(a)  # the next record commits to the checkpoint the node verified
    with node_db.read_session(a.app) as s:
        last = s.scalars(select(Event).order_by(Event.seq.desc())).first()
    from common import record

    assert last is not None and record.parse(last.record).anchor is not None
    assert record.parse(last.record).anchor.size == size  # type: ignore[union-attr]
    sync(a)  # carries the cosignature of the checkpoint it verified
    with site.hub.db.read() as s:
        cosigs = list(s.scalars(select(Cosignature)))
    assert cosigs and {c.size for c in cosigs} >= {size}


@dataclass
class LyingHub:
    """Passes requests to the real hub and alters the proof in push answers."""

    inner: HttpTransport
    field: str

    def request(
        self, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Response:
        resp = self.inner.request(method, path, body=body, headers=headers)
        if path.startswith("/sync/v1/push") and resp.status == 200:
            answer: dict[str, Any] = json.loads(resp.body)
            proof = answer.get("proof")
            if proof and self.field == "frontier" and proof["frontier"]:
                proof["frontier"][0] = "00" * 32
            if proof and self.field == "first_leaf":
                proof["first_leaf"] += 1
            resp = Response(resp.status, resp.headers, json.dumps(answer).encode())
        return resp


@pytest.mark.parametrize("field", ["frontier", "first_leaf"])
def test_a_false_proof_raises_an_alarm_and_stops(site: Site, field: str) -> None:
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)  # the log now has records, so the frontier is not empty
    take_in(a)
    a.app.config["SYNC_TRANSPORT"] = lambda: LyingHub(HttpTransport(site.url), field)
    with pytest.raises(SyncRefused) as info:
        sync(a)
    assert info.value.code == "bad_proof"
    with node_db.read_session(a.app) as s:
        alarms = [x.kind for x in s.scalars(select(Alarm))]
    assert "proof_failed" in alarms


@dataclass
class ForkingHub:
    """A hub that signs with its real key but rewrites the log behind the node's checkpoint:
    it sends another frontier at the same size and a checkpoint it signs over the root that
    frontier and the node's records make. Inclusion of the batch then verifies; only the
    consistency of the frontier with the node's old checkpoint can catch it."""

    inner: HttpTransport
    hub: Any  # tests.hub.fixtures.Hub
    a: Any  # the node, whose records the forged tree ends with

    def request(
        self, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Response:
        from central_hub.services import translog
        from common import merkle, protocol

        resp = self.inner.request(method, path, body=body, headers=headers)
        if not (path.startswith("/sync/v1/push") and resp.status == 200):
            return resp
        answer: dict[str, Any] = json.loads(resp.body)
        proof = answer["proof"]
        assert proof["consistency"] == [] and proof["from_size"] == proof["first_leaf"]
        forged = [bytes.fromhex("11" * 32) for _ in proof["frontier"]]
        tree = merkle.CompactRange.from_nodes(
            proof["first_leaf"],
            merkle.MemoryNodes(
                dict(zip(merkle.root_keys(proof["first_leaf"]), forged, strict=True))
            ),
        )
        with node_db.read_session(self.a.app) as s:
            head = answer["head"]["seq"]
            raws = s.scalars(
                select(Event.record)
                .where(Event.seq > head - answer["stored"], Event.seq <= head)
                .order_by(Event.seq)
            )
            for raw in raws:
                tree.append(merkle.leaf_hash(raw))
        identity = self.hub.identity
        signed = protocol.sign_statement(
            protocol.CHECKPOINT_PREFIX,
            translog.checkpoint_body(
                origin=identity.origin, size=tree.size, root=tree.root(), now=self.hub.clock()
            ),
            identity.key,
        )
        proof["frontier"] = [h.hex() for h in forged]
        answer["checkpoint"] = {
            "size": tree.size,
            "root": tree.root().hex(),
            "signed": protocol.b64(signed),
        }
        return Response(resp.status, resp.headers, json.dumps(answer).encode())


def test_a_rewritten_log_behind_the_nodes_checkpoint_is_caught_by_the_frontier(
    site: Site,
) -> None:
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)  # the node verified a checkpoint; its next records start exactly there
    take_in(a)
    a.app.config["SYNC_TRANSPORT"] = lambda: ForkingHub(HttpTransport(site.url), site.hub, a)
    with pytest.raises(SyncRefused) as info:
        sync(a)
    assert info.value.code == "bad_proof"
    with node_db.read_session(a.app) as s:
        alarms = [x.kind for x in s.scalars(select(Alarm))]
        anchor = get_setting(s, "anchor_size")
    assert "proof_failed" in alarms and anchor != "0"
