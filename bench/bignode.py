"""Benchmark 4 — a node with years of records: intake latency through the HTTP API with a
million events already in the node's database, and the dossier list queries at that size.

Building the node: the desk's own records (from :mod:`bench.wire`'s seeded node) are
replayed as years of work — copies of each dossier's history shifted back by whole weeks
(so weekdays stay weekdays), each with a new applicant (:func:`commune_node.sample._person`:
Vietnamese name, CCCD, phone, village) and a new gap-free dossier code for its day. Each
record is signed by :func:`common.record.make` as the next record of the node's chain, each
dossier's state is folded with :func:`common.lifecycle.apply` exactly as the desk does, and
the rows are inserted in bulk with SQLAlchemy Core. The finished instance is cached (it
takes minutes to build) and copied for each run.
"""

from __future__ import annotations

import json
import random
import shutil
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench import data
from common import lifecycle, validators
from common.calendar import VN_TZ
from common.lifecycle import DossierState, Side
from commune_node import db as node_db
from commune_node.models import DayCounter, Dossier, Event
from commune_node.sample import _person
from commune_node.services.identity import load_identity

VERSION = 1  # bump when the generated data changes shape
AGENCY = "000.00.12.H26"
COMMUNE = "Xã Đăk Pxi"
YEARS = 5
CHUNK = 20_000


def _shift_data(
    d: dict[str, Any], delta: timedelta, person: dict[str, str] | None
) -> dict[str, Any]:
    out = dict(d)
    for name in ("due", "new_due"):
        if isinstance(out.get(name), str):
            out[name] = (datetime.fromisoformat(out[name]) + delta).isoformat()
    if person is not None and isinstance(out.get("applicant"), dict):
        out["applicant"] = {
            **out["applicant"],
            "name": person["applicant_name"],
            "id_number": person["id_number"],
            "phone": person["phone"],
            "address": person["address"],
        }
    return out


def _histories(specs: list[data.Spec]) -> list[list[data.Spec]]:
    by_code: dict[str, list[data.Spec]] = defaultdict(list)
    for s in specs:
        if s.dossier is not None:
            by_code[s.dossier].append(s)
    return [h for h in by_code.values() if h[0].type in {"dossier.received", "dossier.registered"}]


def cached(cache: Path, events: int, specs: list[data.Spec], log: Any = print) -> Path:
    """The instance folder of a node holding ``events`` records, built once and kept."""
    folder = cache / f"bignode-v{VERSION}-{events}"
    if (folder / "complete").exists():
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    log(f"building a node with {events:,} records in {folder} (kept for later runs) …")
    build(folder, events, specs)
    (folder / "complete").write_text("ok\n")
    return folder


def build(folder: Path, events: int, specs: list[data.Spec]) -> None:
    app = data.make_node(folder, agency=AGENCY, commune=COMMUNE)
    db = node_db.database(app)
    with db.read() as session:
        ident = load_identity(session, folder)
    histories = _histories(specs)
    corpus = sum(len(h) for h in histories)
    replicas = -(-events // corpus)
    step = timedelta(days=7 * max(1, round(YEARS * 365 / replicas / 7)))
    order = sorted(
        (s.at - step * (replicas - 1 - k), k, h, i)
        for k in range(replicas)
        for h, hist in enumerate(histories)
        for i, s in enumerate(hist)
    )[:events]
    rng = random.Random(2026)
    chain = data.Chain(ident.key, AGENCY)
    codes: dict[tuple[int, int], str] = {}
    counters: dict[str, int] = defaultdict(int)
    states: dict[str, DossierState] = {}
    rows: dict[str, dict[str, Any]] = {}
    batch: list[dict[str, Any]] = []
    for at, k, h, i in order:
        spec = histories[h][i]
        delta = at - spec.at
        person = None
        if i == 0:
            day = at.astimezone(VN_TZ).strftime("%y%m%d")
            counters[day] += 1
            codes[(k, h)] = f"{AGENCY}-{day}-{counters[day]:04d}"
            person = _person(rng, COMMUNE)
        code = codes[(k, h)]
        payload = _shift_data(spec.data, delta, person)
        state = lifecycle.apply(
            states.get(code), event_type=spec.type, data=payload, at=at, code=code,
            side=Side.COMMUNE,
        )  # fmt: skip
        states[code] = state
        rec = chain.append(data.Spec(at, code, spec.type, spec.actor, payload), dossier=code)
        if i == 0:
            p = payload["applicant"]
            rows[code] = {
                "code": code,
                "procedure_code": payload["procedure"],
                "channel": payload["channel"],
                "applicant_name": p["name"],
                "applicant_search": validators.fold_diacritics(p["name"]),
                "id_number": p["id_number"],
                "phone": p["phone"],
                "email": p["email"],
                "address": p["address"],
                "created_at": at,
            }
        rows[code]["last_seq"] = rec.seq
        batch.append(
            {
                "seq": rec.seq,
                "record_id": rec.id,
                "dossier_code": code,
                "type": rec.type,
                "actor": rec.actor,
                "at": at,
                "record": rec.raw,
            }
        )
        if len(batch) >= CHUNK:
            with db.write() as session:
                session.execute(insert(Event), batch)
            batch = []
    dossiers = []
    for code, row in rows.items():
        st = states[code]
        dossiers.append(
            {
                **row,
                "status": int(st.status),
                "forwarded": st.forwarded,
                "received_at": st.received_at,
                "due_at": st.due_at,
                "ended_at": st.ended_at,
                "state": lifecycle.state_to_dict(st),
            }
        )
    with db.write() as session:
        if batch:
            session.execute(insert(Event), batch)
        for i in range(0, len(dossiers), CHUNK):
            session.execute(insert(Dossier), dossiers[i : i + CHUNK])
        session.execute(
            insert(DayCounter),
            [{"agency_code": AGENCY, "day": d, "last": n} for d, n in counters.items()],
        )
    db.engine.dispose()
    (folder / "summary.json").write_text(
        json.dumps({"events": len(order), "dossiers": len(rows), "replicas": replicas})
    )
