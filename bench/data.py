"""Realistic events for the benchmarks.

* :func:`make_node` / :func:`seed_node` — a real commune node, filled through the desk's own
  services (``commune_node.sample.seed``: ``intake.take_in`` and ``dossiers.act`` with
  Vietnamese names and addresses), so every record is exactly what a node writes.
* :func:`specs_of` / :func:`rechain` — the same actions re-signed (``common.record.make``)
  as the chain of another node: its key, its agency code in the dossier codes, its own
  ``seq``/``prev``/``anchor``. Used to give many simulated nodes a realistic backlog
  quickly; payloads keep the exact shapes the desk produced.
* :mod:`bench.bignode` builds a node with a million records from these specs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from common import keys, personal, record
from common.catalogue import load_sample_catalogue
from commune_node import create_app
from commune_node import db as node_db
from commune_node.models import Event
from commune_node.services import catalogue, officers, personal_data
from commune_node.services import identity as identity_service
from commune_node.services.identity import system_clock

PASSWORD = "mật khẩu benchmark 2026"
COMMUNES = ["Xã Đăk Pxi", "Xã Đăk Pne", "Xã Ngọc Réo", "Xã Hơ Moong", "Xã Sa Nhơn", "Xã Ia Tơi"]


def agency_code(i: int) -> str:
    """Distinct agency codes ``000.NN.NN.H26`` for simulated communes."""
    return f"000.{i // 100:02d}.{i % 100:02d}.H26"


@dataclass(frozen=True)
class Spec:
    """One desk action as it was recorded: everything but the chain fields."""

    at: datetime
    dossier: str | None
    type: str
    actor: str
    data: dict[str, Any]


def make_node(
    instance: Path, *, agency: str, commune: str, clock: Callable[[], datetime] | None = None
) -> Flask:
    """A node instance like ``commune-node init`` makes: key, database, catalogue, officers."""
    app = create_app(
        {"SECRET_KEY": "bench", "CLOCK": clock or system_clock}, instance_path=str(instance)
    )
    node_db.upgrade(app)
    with node_db.write_session(app) as session:
        identity_service.create_identity(
            session, instance, commune_name=commune, agency_code=agency
        )
        catalogue.install(session, load_sample_catalogue())
        officers.create_officer(
            session,
            username="admin",
            full_name="Quản trị nút",
            roles=["admin"],
            password=PASSWORD,
            clock=clock or system_clock,
        )
    return app


def event_count(app: Flask) -> int:
    with node_db.read_session(app) as session:
        return session.scalar(select(func.count()).select_from(Event)) or 0


def seed_node(app: Flask, events: int, *, seed_value: int = 7) -> int:
    """Fill a node with at least ``events`` records through the desk's services, in rounds of
    a few weeks of work each (``sample.seed`` fills the weeks before its clock), the last
    round ending now. Returns how many records the node holds."""
    from commune_node.sample import seed

    start = event_count(app)
    per_round = 600  # dossiers per round; about 3.5 records each
    rounds = max(1, -(-events // int(per_round * 3.4)))
    real_clock = app.extensions["clock"]
    end = real_clock()
    try:
        for r in range(rounds):
            if event_count(app) - start >= events:
                break
            when = end - timedelta(days=35 * (rounds - 1 - r))
            app.extensions["clock"] = lambda when=when: when
            remaining = events - (event_count(app) - start)
            count = max(1, min(per_round, int(remaining / 3.3) + 1))
            seed(app, count=count, password=PASSWORD, seed_value=seed_value + r)
    finally:
        app.extensions["clock"] = real_clock
    return event_count(app)


def raws_of(app: Flask, after: int = 0) -> list[bytes]:
    with node_db.read_session(app) as session:
        return list(
            session.scalars(select(Event.record).where(Event.seq > after).order_by(Event.seq))
        )


def specs_of(
    raws: Iterable[bytes], disclosed: Mapping[str, list[personal.Disclosure]] | None = None
) -> list[Spec]:
    """The desk actions of ``raws``, with the personal data put back (``disclosed``: the
    node's disclosure table): each is committed again, with fresh salts, when re-chained."""
    out = []
    for raw in raws:
        rec = record.parse(raw)
        data = personal_data.reveal(rec, disclosed or {})
        out.append(Spec(rec.at_time, rec.dossier, rec.type, rec.actor, data))
    return out


def disclosures_of_folder(instance: Path) -> dict[str, list[personal.Disclosure]]:
    """The disclosure table of the node whose instance folder this is."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    engine = create_engine(f"sqlite:///{instance / 'node.sqlite3'}")
    try:
        with Session(engine) as session:
            ids = list(session.scalars(select(Event.record_id)))
            return personal_data.disclosures_of(session, ids)
    finally:
        engine.dispose()


def recode(dossier: str | None, agency: str) -> str | None:
    """The same dossier code issued by another agency: ``<agency>-<yymmdd>-<NNNN>``."""
    if dossier is None:
        return None
    return agency + dossier[dossier.index("-") :]


@dataclass
class Chain:
    """Where a node's chain stands: the next record continues it."""

    key: keys.PrivateKey
    agency: str
    seq: int = 0
    prev: str | None = None
    anchor: record.Anchor | None = None
    # the personal data of each record made, by record id (sealed beside it in a push)
    shown: dict[str, tuple[personal.Disclosure, ...]] = field(default_factory=dict)

    @property
    def node_id(self) -> str:
        return keys.key_id(self.key)

    def append(self, spec: Spec, *, dossier: str | None = None) -> record.Record:
        data, shown = spec.data, ()
        if spec.dossier is not None and personal.COMMITMENTS not in data:
            data, shown = personal.conceal(data)  # as the desk writes a version 2 record
        rec = record.make(
            private_key=self.key,
            node=self.node_id,
            seq=self.seq + 1,
            prev=self.prev,
            at=spec.at,
            anchor=self.anchor,
            dossier=dossier if dossier is not None else recode(spec.dossier, self.agency),
            type=spec.type,
            actor=spec.actor,
            data=data,
        )
        self.seq, self.prev = rec.seq, rec.id
        if shown:
            self.shown[rec.id] = shown
        return rec


def rechain(specs: Iterable[Spec], chain: Chain) -> list[bytes]:
    """The specs as the next records of ``chain`` (its agency code in the dossier codes)."""
    return [chain.append(s).raw for s in specs]


def batches(raws: list[bytes], size: int) -> list[list[bytes]]:
    return [raws[i : i + size] for i in range(0, len(raws), size)]


def raws_of_folder(instance: Path) -> list[bytes]:
    """Every record of the node whose instance folder this is, in ``seq`` order."""
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{instance / 'node.sqlite3'}")
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(select(Event.record).order_by(Event.seq))]
    finally:
        engine.dispose()
