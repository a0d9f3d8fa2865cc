"""Sync over real HTTP against a hub on a loopback port, on SQLite and on PostgreSQL."""

from __future__ import annotations

import gzip
import json
import secrets
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from central_hub.models import Alert, Equivocation, HubDossier, LogRecord
from central_hub.models import Node as HubNode
from central_hub.services import processing, publishing
from common import keys, protocol, record
from common.calendar import WorkingCalendar
from commune_node import db as node_db
from commune_node.models import DeadLetter, Event, Receipt
from commune_node.scheduler import run_sync
from commune_node.services import eventlog
from commune_node.services.backlog import acked_seq, queue_report
from commune_node.services.hublink import SyncRefused
from commune_node.transport import HttpTransport, LinkError
from commune_node.web.context import node_identity
from tests.sync.conftest import Site, sync
from tests.sync.helpers import CRIMINAL_RECORD, act, hub_count, hub_records, take_in


def test_intake_on_two_nodes_while_hub_is_down_then_convergence(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    b = site.node("b", "000.00.13.H26", commune="Xã Đăk Pne")
    dead = "http://127.0.0.1:9"  # nothing listens there: the link is down
    for n in (a, b):
        n.app.config["SYNC_TRANSPORT"] = lambda: HttpTransport(dead, connect_timeout=1)
    codes = {n: [take_in(n) for _ in range(3)] for n in (a, b)}
    act(a, codes[a][0], "processing")
    for n in (a, b):
        with pytest.raises(LinkError):
            run_sync(n.app)
        with node_db.read_session(n.app) as s:
            waiting, oldest = queue_report(s)
            assert waiting >= 3 and oldest is not None
    for n in (a, b):
        n.app.config["SYNC_TRANSPORT"] = lambda: HttpTransport(site.url)
        result = sync(n)
        assert result.duplicates == 0 and result.dead == 0
    for n, expected in ((a, 4), (b, 3)):
        ident = _ident(n)
        assert hub_count(site.hub, ident.node_id) == expected
        with node_db.read_session(n.app) as s:
            assert acked_seq(s) == expected
            assert queue_report(s) == (0, None)
            assert s.scalar(select(Receipt).order_by(Receipt.seq.desc())).seq == expected
    with site.hub.db.read() as s:
        states = {d.code: d.status for d in s.scalars(select(HubDossier))}
    assert states[codes[a][0]] == 4 and all(states[c] == 2 for c in codes[b])


def _ident(n):  # type: ignore[no-untyped-def]
    with n.app.app_context():
        return node_identity()


def test_dropped_response_is_retried_without_duplicates(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    for _ in range(5):
        take_in(a)
    ident = _ident(a)
    raws = _records(a)
    body = protocol.encode_batch(raws)
    path = "/sync/v1/push"
    headers = protocol.sign_request(
        ident.key,
        method="POST",
        path=path,
        body=body,
        timestamp=int(site.clock().timestamp()),
        nonce=secrets.token_hex(16),
        node=ident.node_id,
    )
    headers["Content-Type"] = protocol.BATCH_CONTENT_TYPE
    r = requests.post(site.url + path, data=body, headers=headers, timeout=10)
    assert r.status_code == 200 and r.json()["stored"] == 5
    # The node never saw that answer (the link dropped it). It syncs again: nothing twice.
    result = sync(a)
    assert result.pushed == 0 and result.duplicates == 1  # the head record alone, again
    assert hub_count(site.hub, ident.node_id) == 5
    with node_db.read_session(a.app) as s:
        # The records are sent again; the hub stores nothing twice but receipts them, and
        # only that receipt marks them synced on the node.
        assert acked_seq(s) == 5
    take_in(a)
    result = sync(a)
    assert result.pushed == 1
    with node_db.read_session(a.app) as s:
        assert acked_seq(s) == 6


def test_json_answers_are_gzipped_for_a_node_that_accepts_it(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    ident = _ident(a)
    raws = _records(a)
    zipped = _push(site, ident, raws, stream=True)  # requests asks for gzip by default
    on_the_wire = zipped.raw.read(decode_content=False)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert int(zipped.headers["Content-Length"]) == len(on_the_wire)
    plain = _push(site, ident, raws, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert len(on_the_wire) < 0.75 * len(plain.content)
    answer = json.loads(gzip.decompress(on_the_wire))
    assert answer["stored"] == 1 and plain.json()["duplicates"] == 1
    # The node's own transport reads it like any answer.
    take_in(a)
    assert sync(a).pushed == 1


def test_resending_the_same_batch_is_acknowledged_again(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)
    ident = _ident(a)
    raws = _records(a)
    r = _push(site, ident, raws)
    assert r.status_code == 200
    assert r.json()["duplicates"] == 1 and r.json()["stored"] == 0 and r.json()["error"] is None
    assert hub_count(site.hub, ident.node_id) == 1


def _records(n):  # type: ignore[no-untyped-def]
    """The node's whole chain, as the exact bytes it signed."""
    with node_db.read_session(n.app) as s:
        return [e.record for e in eventlog.read_after(s, 0)]


def _push(
    site: Site,
    ident,
    raws,
    *,
    nonce: str | None = None,
    ts: int | None = None,
    headers: dict[str, str] | None = None,
    stream: bool = False,
):  # type: ignore[no-untyped-def]
    body = protocol.encode_batch(raws)
    signed = protocol.sign_request(
        ident.key,
        method="POST",
        path="/sync/v1/push",
        body=body,
        timestamp=ts or int(site.clock().timestamp()),
        nonce=nonce or secrets.token_hex(16),
        node=ident.node_id,
    )
    signed["Content-Type"] = protocol.BATCH_CONTENT_TYPE
    return requests.post(
        site.url + "/sync/v1/push",
        data=body,
        headers={**signed, **(headers or {})},
        timeout=10,
        stream=stream,
    )


def test_equivocation_is_detected_and_quarantines_the_node(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)
    ident = _ident(a)
    forged = record.make(
        private_key=ident.key,
        node=ident.node_id,
        seq=1,
        prev=None,
        at=site.clock(),
        anchor=None,
        dossier=None,
        type="checkpoint.cosigned",
        actor="system",
        data={"x": 1},
    )
    r = _push(site, ident, [forged.raw])
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "equivocation"
    with site.hub.db.read() as s:
        node = s.get(HubNode, ident.node_id)
        assert node is not None and node.state == "quarantined"
        ev = s.scalars(select(Equivocation)).one()
        assert ev.seq == 1 and ev.other_raw == forged.raw and ev.stored_raw != forged.raw
        assert s.scalars(select(Alert).where(Alert.kind == "quarantine")).first() is not None
    take_in(a)
    with pytest.raises(SyncRefused) as info:
        sync(a)
    assert info.value.code == "node_quarantined"


def test_revoked_key_is_refused(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)
    ident = _ident(a)
    with site.hub.db.write() as s:
        publishing.revoke(
            s,
            hub=site.hub.identity,
            node_id=ident.node_id,
            key_id=None,
            last_valid_seq=1,
            reason="laptop stolen",
            clock=site.clock,
        )
    take_in(a)
    with pytest.raises(SyncRefused) as info:
        sync(a)
    assert info.value.code == "key_revoked"
    assert hub_count(site.hub, ident.node_id) == 1


def test_replayed_request_is_refused(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    ident = _ident(a)
    raws = _records(a)
    nonce = secrets.token_hex(16)
    assert _push(site, ident, raws, nonce=nonce).status_code == 200
    again = _push(site, ident, raws, nonce=nonce)
    assert again.status_code == 401 and again.json()["error"]["code"] == "replayed"


def test_stale_timestamp_bad_signature_and_unknown_node_have_distinct_codes(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    ident = _ident(a)
    raws = _records(a)
    old = int((site.clock() - timedelta(hours=1)).timestamp())
    r = _push(site, ident, raws, ts=old)
    assert r.status_code == 401 and r.json()["error"]["code"] == "stale_timestamp"
    body = protocol.encode_batch(raws)
    headers = protocol.sign_request(
        ident.key,
        method="POST",
        path="/sync/v1/push",
        body=b"x",
        timestamp=int(site.clock().timestamp()),
        nonce=secrets.token_hex(16),
        node=ident.node_id,
    )
    headers["Content-Type"] = protocol.BATCH_CONTENT_TYPE
    r = requests.post(site.url + "/sync/v1/push", data=body, headers=headers, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["code"] == "bad_request_signature"
    stranger = keys.generate()
    headers = protocol.sign_request(
        stranger,
        method="POST",
        path="/sync/v1/push",
        body=body,
        timestamp=int(site.clock().timestamp()),
        nonce=secrets.token_hex(16),
        node=keys.key_id(stranger),
    )
    r = requests.post(site.url + "/sync/v1/push", data=body, headers=headers, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unknown_node"
    r = requests.post(site.url + "/sync/v1/push", data=body, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["code"] == "missing_auth"


def test_node_clock_far_off_is_corrected_from_the_hub(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    # The node's clock runs a day ahead; the hub's does not.
    hub_clock = site.hub.app.extensions["clock"]
    site.hub.app.extensions["clock"] = lambda: hub_clock() - timedelta(days=1)
    try:
        result = sync(a)
    finally:
        site.hub.app.extensions["clock"] = hub_clock
    assert result.pushed == 1
    with node_db.read_session(a.app) as s:
        from commune_node.services.identity import get_setting

        assert int(get_setting(s, "clock_offset", "0") or 0) == -86400


def test_poison_event_goes_to_dead_letters_without_blocking(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    code = take_in(a)
    ident = _ident(a)
    with node_db.write_session(a.app) as s:  # records the hub's rules must refuse
        eventlog.append(
            s,
            identity=ident,
            clock=site.clock,
            dossier=code,
            type="dossier.result_returned",
            actor="hoa.le",
            data={},
        )
        eventlog.append(
            s,
            identity=ident,
            clock=site.clock,
            dossier="000.00.99.H99-261123-0001",
            type="dossier.processing",
            actor="hoa.le",
            data={},
        )
    take_in(a)
    result = sync(a)
    assert result.pushed == 4 and result.dead == 2
    with node_db.read_session(a.app) as s:
        assert acked_seq(s) == 4
        dead = {d.seq: d.code for d in s.scalars(select(DeadLetter))}
    assert dead == {2: "illegal_transition", 3: "illegal_transition"}
    recs = hub_records(site.hub, ident.node_id)
    assert [r.dead for r in recs] == [False, True, True, False]
    assert "not issued by this commune" in (recs[2].reason or "")


def test_forwarded_dossier_makes_the_full_round_trip(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    client = a.app.test_client()
    form = {
        "procedure": CRIMINAL_RECORD,
        "applicant_name": "Trần Thị Mai",
        "id_number": "062195004321",
        "phone": "0987654321",
        "address": "thôn 2",
        "documents": {"to_khai": {"original": 1}},
    }
    r = a.api(client, "POST", "/dossiers", json=form)
    assert r.status_code == 201, r.json
    code = r.json["dossier"]["code"]
    with pytest.raises(AssertionError):  # the commune may not decide it
        act(a, code, "resolved", who="leader", result="x")
    act(a, code, "forwarded")
    sync(a)
    cal = WorkingCalendar()
    note = "Đã xác minh với ông Trần Văn Bình"  # free text that names a person
    for action, form2 in (
        ("processing", {"note": note}),
        ("resolved", {"result": "Cấp Phiếu lý lịch tư pháp số 12/LLTP"}),
    ):
        with site.hub.db.write() as s:
            processing.act(
                s,
                code,
                action,
                form2,
                hub=site.hub.identity,
                clock=site.clock,
                actor="lan.pham",
                calendar=cal,
            )
    result = sync(a)
    assert result.pulled >= 2
    r = a.api(client, "GET", f"/dossiers/{code}")
    assert r.json["dossier"]["status"]["code"] == 9
    # the hub's record commits to the note; the node got the note itself, sealed to it
    with site.hub.db.read() as s:
        raws = s.scalars(select(LogRecord.raw).where(LogRecord.dossier_code == code)).all()
    assert raws and all(note.encode() not in raw for raw in raws)
    with node_db.read_session(a.app) as s:
        from commune_node.services import queries

        notes = [v.data.get("note") for v in queries.history(s, code) if v.from_hub]
    assert note in notes
    act(a, code, "result_returned")
    sync(a)
    with site.hub.db.read() as s:
        assert s.get(HubDossier, code).status == 10  # type: ignore[union-attr]
    with node_db.read_session(a.app) as s:
        assert s.scalar(select(Event).order_by(Event.seq.desc())).type == "dossier.result_returned"


def test_a_busy_desk_converges_with_the_hub_and_nothing_is_refused(site: Site) -> None:
    """Every kind of action the desk takes (sample data walks through them all) is accepted
    by the hub's rules, and the hub ends with the same state for every dossier."""
    from commune_node.models import Dossier
    from commune_node.sample import seed

    a = site.node("a", "000.00.12.H26")
    seed(a.app, count=60, password="sample password")
    result = sync(a)
    assert result.dead == 0
    with node_db.read_session(a.app) as s:
        local = {d.code: (d.status, d.due_at, d.state) for d in s.scalars(select(Dossier))}
    with site.hub.db.read() as s:
        remote = {d.code: (d.status, d.due_at, d.state) for d in s.scalars(select(HubDossier))}
    assert len(local) == 60
    assert remote == local
