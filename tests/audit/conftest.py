"""Audit test fixtures: a real hub (SQLite, and PostgreSQL where marked) driven through its
own services — enrolment, ingest of pushed batches, revocation, publication — by communes
whose keys the test holds, so it can also make them misbehave (back-date, forge anchors)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from central_hub.services import export, ingest, nodes, publishing
from common import keys, protocol, record
from tests.hub.fixtures import Hub, make_hub
from tests.support import VN, MovableClock
from tests.sync.conftest import site  # noqa: F401  (real nodes syncing over loopback)

DAY0 = datetime(2026, 11, 23, 9, 0, tzinfo=VN)
DAY1 = datetime(2026, 11, 24, 0, 0, tzinfo=VN)
DAY2 = datetime(2026, 11, 25, 0, 0, tzinfo=VN)


@dataclass
class Commune:
    key: keys.PrivateKey
    node_id: str
    agency: str
    name: str
    seq: int = 0
    prev: str | None = None
    anchor: record.Anchor | None = None


class Desk:
    """Communes that write signed records and push them into a real hub's ingest."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.clock = hub.clock

    def enrol(self, agency: str, name: str) -> Commune:
        key = keys.generate()
        node_id, public = keys.key_id(key), keys.public_bytes(key).hex()
        with self.hub.db.write() as s:
            code = nodes.issue_code(s, commune_name=name, agency_code=agency, clock=self.clock)
        with self.hub.db.write() as s:
            proof = keys.sign(key, protocol.enrol_message(code, node_id, public))
            nodes.enrol(
                s, code=code, node_id=node_id, public_key_hex=public, proof=proof, clock=self.clock
            )
        return Commune(key, node_id, agency, name)

    def write(
        self,
        c: Commune,
        *,
        type: str = "checkpoint.cosigned",
        data: dict[str, Any] | None = None,
        at: datetime | None = None,
        anchor: Any = "current",
    ) -> record.Record:
        rec = record.make(
            private_key=c.key,
            node=c.node_id,
            seq=c.seq + 1,
            prev=c.prev,
            at=at or self.clock(),
            anchor=c.anchor if anchor == "current" else anchor,
            dossier=None,
            type=type,
            actor="system",
            data=data if data is not None else {"n": c.seq + 1},
        )
        c.seq, c.prev = rec.seq, rec.id
        return rec

    def push(self, c: Commune, recs: list[record.Record]) -> ingest.PushOutcome:
        with self.hub.db.read() as s:
            ring = ingest.keyring(s, c.node_id)
        checked, stop = ingest.verify_batch([r.raw for r in recs], node_id=c.node_id, ring=ring)
        with self.hub.db.write() as s:
            out = ingest.accept_batch(
                s, c.node_id, checked, hub=self.hub.identity, clock=self.clock, stopped_by=stop
            )
            if out.checkpoint is not None:
                c.anchor = record.Anchor(out.checkpoint.size, out.checkpoint.root)
        assert out.error is None, out.error.en
        return out

    def act(self, c: Commune, count: int = 1, **kw: Any) -> list[record.Record]:
        recs = [self.write(c, **kw) for _ in range(count)]
        self.push(c, recs)
        self.clock.advance(minutes=20)
        return recs

    def rotate(self, c: Commune) -> record.Record:
        new = keys.generate()
        proof = keys.sign(new, protocol.rotation_message(c.node_id, keys.key_id(c.key), c.seq + 1))
        data = {"new_key": keys.public_bytes(new).hex(), "proof": proof.hex()}
        (rec,) = self.act(c, 1, type="key.rotated", data=data)
        c.key = new
        return rec

    def revoke(self, c: Commune, last_valid_seq: int) -> record.Record:
        with self.hub.db.write() as s:
            rec = publishing.revoke(
                s,
                hub=self.hub.identity,
                node_id=c.node_id,
                key_id=keys.key_id(c.key),
                last_valid_seq=last_valid_seq,
                reason="laptop stolen",
                clock=self.clock,
            )
        self.clock.advance(minutes=5)
        return rec

    def export(
        self,
        communes: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        sizes: tuple[int, ...] = (),
    ) -> list[bytes]:
        buf = io.BytesIO()
        with self.hub.db.read() as s:
            export.export_bundle(
                s,
                buf,
                hub=self.hub.identity,
                communes=communes,
                since=since,
                until=until,
                checkpoint_sizes=sizes,
                clock=self.clock,
            )
        return buf.getvalue().splitlines(keepends=True)

    def hub_key(self) -> bytes:
        return keys.public_bytes(self.hub.identity.key)


def scenario(desk: Desk) -> tuple[Commune, Commune]:
    """Two communes over three days: day 0 before the period, day 1 the period (with a key
    rotation and a hub publication), day 2 after it."""
    a = desk.enrol("000.00.12.H26", "Xã Đăk Pxi")
    b = desk.enrol("000.00.13.H26", "Xã Đăk Pne")
    desk.act(a, 3)
    desk.act(b, 2)
    desk.act(a, 1)
    desk.clock.set(DAY1 + timedelta(hours=8))
    desk.act(a, 2)
    desk.act(b, 1)
    desk.act(b, 2)
    desk.rotate(a)
    desk.act(a, 2)
    with desk.hub.db.write() as s:
        publishing.publish_sample(s, hub=desk.hub.identity, clock=desk.clock)
    desk.act(b, 1)
    desk.act(a, 1)
    desk.clock.set(DAY2 + timedelta(hours=8))
    desk.act(a, 2)
    desk.act(b, 1)
    return a, b


@pytest.fixture
def desk(hub: Hub) -> Desk:
    """A desk on the ``hub`` fixture: SQLite, and PostgreSQL when it is reachable."""
    return Desk(hub)


@pytest.fixture
def sqlite_desk(tmp_path: Path) -> Iterator[Desk]:
    h = make_hub(tmp_path / "hub", MovableClock(DAY0))
    yield Desk(h)
    h.db.engine.dispose()
