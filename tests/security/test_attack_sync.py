"""Attacks on the sync API by an enrolled commune and by strangers: the SMS channel, the
server's connections and bodies, the permanent log and the alerts. One test per attack;
each docstring says what the attacker does and what must hold. A real hub serves on
loopback (SQLite and PostgreSQL); the attacker speaks the sync protocol with its own node
key, or plain HTTP without one (docs/threat-model.md)."""

from __future__ import annotations

import json
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from central_hub.models import Alert, LogRecord
from central_hub.notify_models import HubNotification
from central_hub.services import health
from common import protocol
from commune_node import db as node_db
from commune_node.notify_models import OutboxMessage
from commune_node.services import eventlog
from commune_node.services.hublink import SyncRefused
from commune_node.web.context import node_identity
from tests.node.conftest import Node
from tests.sync.conftest import Site, sync
from tests.sync.helpers import act, take_in
from tests.sync.receivers import webhook

PHISHING = "Ho so bi khoa. Mo khoa tai http://evil.example/vn trong 24h"


def _request(
    site: Site,
    n: Node,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    content_type: str = "",
) -> requests.Response:
    """A request signed with node ``n``'s own key, as a hostile commune would send it."""
    with n.app.app_context():
        ident = node_identity()
    headers = protocol.sign_request(
        ident.key,
        method=method,
        path=path,
        body=body,
        timestamp=int(site.clock().timestamp()),
        nonce=secrets.token_hex(16),
        node=ident.node_id,
    )
    if content_type:
        headers["Content-Type"] = content_type
    return requests.request(method, site.url + path, data=body, headers=headers, timeout=30)


def _v1_message(dossier: str, *, to: str = "0987654321", kind: str = "received") -> dict[str, Any]:
    """A message as version 1 of ``notify`` carried it: recipient and text chosen by the node."""
    return {"id": secrets.token_hex(8), "dossier": dossier, "kind": kind, "channel": "sms",
            "to": to, "subject": "", "text": PHISHING, "text_ascii": PHISHING}  # fmt: skip


def _notify(site: Site, n: Node, body: dict[str, Any]) -> requests.Response:
    return _request(site, n, "POST", "/sync/v1/notify", json.dumps(body).encode(),
                    content_type="application/json")  # fmt: skip


def _use_webhook(site: Site, url: str) -> None:
    site.hub.app.config["NOTIFY_WEBHOOK_URL"] = url
    site.hub.app.extensions.pop("notify_gateways", None)


def _alerts(site: Site, kind: str) -> list[Alert]:
    with site.hub.db.read() as s:
        return list(s.scalars(select(Alert).where(Alert.kind == kind)))


def _drop_outbox(n: Node) -> None:
    """The hostile node keeps its own notices back (it sends forged ones instead)."""
    with node_db.write_session(n.app) as s:
        for m in s.scalars(select(OutboxMessage)):
            s.delete(m)


def _two_communes(site: Site) -> tuple[Node, str, Node, str]:
    honest = site.node("a", "000.00.12.H26")
    attacker = site.node("m", "000.00.13.H26")
    honest_code = take_in(honest)
    own_code = take_in(attacker)
    _drop_outbox(honest)
    _drop_outbox(attacker)
    sync(honest)
    sync(attacker)
    return honest, honest_code, attacker, own_code


# ------------------------------------------------------------------ the SMS channel


def test_a_notice_for_another_communes_dossier_is_refused(site: Site) -> None:
    """Attack: a commune asks the hub to text the citizen of a dossier of another commune
    (a real one, its code seen on a receipt) — or of a dossier that does not exist.

    Must hold: nothing goes to the gateway; each message is answered ``refused`` naming the
    reason; nothing is stored to be sent later."""
    with webhook() as hook:
        _use_webhook(site, hook.url)
        _, honest_code, attacker, _ = _two_communes(site)
        body = {"messages": [_v1_message(honest_code), _v1_message("000.00.99.H26-991231-9999")]}
        r = _notify(site, attacker, body)
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert [x["status"] for x in results] == ["refused", "refused"]
        assert "not a dossier of this commune" in results[0]["error"]
        assert "no dossier" in results[1]["error"]
        assert hook.received == []
        with site.hub.db.read() as s:
            assert s.scalar(select(func.count()).select_from(HubNotification)) == 0


def test_the_hub_chooses_recipient_and_text_not_the_node(site: Site) -> None:
    """Attack: a commune sends a notice for its own real dossier, but to a number of its
    choosing, with a phishing link (version 1 of the message carried both).

    Must hold: the gateway gets the hub's own template text for that event, sent to the
    phone the citizen gave at intake (the hub's copy of the intake record); the node's
    number and text go nowhere."""
    with webhook() as hook:
        _use_webhook(site, hook.url)
        _, _, attacker, own_code = _two_communes(site)
        r = _notify(site, attacker, {"messages": [_v1_message(own_code)]})
        assert r.status_code == 200, r.text
        assert [x["status"] for x in r.json()["results"]] == ["delivered"]
        [sent] = hook.received
        assert sent["to"] == "0912345678"
        assert sent["text"].startswith(f"Da tiep nhan HS {own_code}. Hen tra ngay ")
        assert "evil" not in json.dumps(hook.received) and "0987654321" not in str(sent)


def test_a_notice_no_event_calls_for_is_refused(site: Site) -> None:
    """Attack: a commune sends "your result is ready" for its own dossier that has no
    result, and a second "received" for an intake the citizen was already told about.

    Must hold: both refused; only a recorded event (resolved, …) calls for its notice, and
    each event for one notice."""
    with webhook() as hook:
        _use_webhook(site, hook.url)
        _, _, attacker, own_code = _two_communes(site)
        first = _notify(site, attacker, {"version": 2, "messages": [
            {"id": secrets.token_hex(8), "dossier": own_code, "kind": "received"}]})  # fmt: skip
        assert [x["status"] for x in first.json()["results"]] == ["delivered"]
        again = _notify(site, attacker, {"version": 2, "messages": [
            {"id": secrets.token_hex(8), "dossier": own_code, "kind": "received"},
            {"id": secrets.token_hex(8), "dossier": own_code, "kind": "result"}]})  # fmt: skip
        results = again.json()["results"]
        assert [x["status"] for x in results] == ["refused", "refused"], results
        assert "already" in results[0]["error"] and "no result" in results[1]["error"]
        assert len(hook.received) == 1


def test_notices_per_node_per_hour_are_limited(site: Site) -> None:
    """Attack: a commune floods the SMS channel (the province pays per message) with as
    many genuine-looking notices as it can make.

    Must hold: at most ``NOTIFY_PER_NODE_HOUR`` messages of one node an hour are accepted;
    the rest are answered ``deferred`` and wait on the node (nothing is lost for an honest
    commune with a busy day); one alert names the node; an hour later the rest go."""
    site.hub.app.config["NOTIFY_PER_NODE_HOUR"] = 2
    with webhook() as hook:
        _use_webhook(site, hook.url)
        n = site.node("a", "000.00.12.H26")
        for _ in range(4):
            take_in(n)
        sync(n)
        assert len(hook.received) == 2
        with node_db.read_session(n.app) as s:
            states = sorted(m.state for m in s.scalars(select(OutboxMessage)))
        assert states == ["delivered", "delivered", "waiting", "waiting"]
        [alert] = _alerts(site, "notify_limit")
        assert alert.node_id == node_id(n)
        sync(n)
        assert len(hook.received) == 2 and len(_alerts(site, "notify_limit")) == 1
        site.clock.advance(minutes=61)
        sync(n)
        assert len(hook.received) == 4


def node_id(n: Node) -> str:
    with n.app.app_context():
        return node_identity().node_id


# ------------------------------------------------------------------ bodies


def test_a_push_over_the_documented_limit_is_refused_before_parsing(site: Site) -> None:
    """Attack: a commune pushes a 3 MiB batch (the protocol allows 2 MiB): today it reached
    record parsing, costing the hub CPU and memory for every such request.

    Must hold: ``413 request_entity_too_large`` naming the limit; nothing stored."""
    n = site.node("a", "000.00.12.H26")
    body = secrets.token_bytes(3 * 1024 * 1024)
    r = _request(site, n, "POST", "/sync/v1/push", body, content_type=protocol.BATCH_CONTENT_TYPE)
    assert r.status_code == 413, r.text
    error = r.json()["error"]
    assert error["code"] == "request_entity_too_large"
    assert "2 MiB" in error["message"] or "2097152" in error["message"]
    with site.hub.db.read() as s:
        mine = select(func.count()).select_from(LogRecord).where(LogRecord.node_id == node_id(n))
        assert s.scalar(mine) == 0


def test_an_unauthenticated_enrol_body_has_a_small_limit(site: Site) -> None:
    """Attack: a stranger posts large bodies to ``/sync/v1/enrol`` (no key needed).

    Must hold: anything over 16 KiB is refused with 413 before it is read as JSON."""
    body = b'{"code": "' + b"A" * (64 * 1024) + b'"}'
    r = requests.post(site.url + "/sync/v1/enrol", data=body, timeout=30,
                      headers={"Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "request_entity_too_large"


def test_enrolment_is_rate_limited_per_address(site: Site) -> None:
    """Attack: a stranger hammers ``/sync/v1/enrol`` (guessing codes, or just to load the
    hub's database).

    Must hold: at most ``ENROL_ATTEMPTS`` tries per address in ``ENROL_WINDOW`` seconds,
    then ``429 rate_limited`` with ``Retry-After``; another address is not affected."""
    site.hub.app.config["ENROL_ATTEMPTS"] = 5
    client = site.hub.app.test_client()
    body = {"code": "AAAA-BBBB-CCCC", "node_id": "0" * 32, "public_key": "0" * 64,
            "proof": protocol.b64(b"\0" * 64)}  # fmt: skip
    codes = []
    for _ in range(8):
        r = client.post("/sync/v1/enrol", json=body, environ_base={"REMOTE_ADDR": "203.0.113.9"})
        codes.append(r.status_code)
    assert codes[:5] == [403] * 5 and codes[5:] == [429] * 3, codes
    assert r.json is not None and r.json["error"]["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) > 0
    other = client.post("/sync/v1/enrol", json=body, environ_base={"REMOTE_ADDR": "203.0.113.10"})
    assert other.status_code == 403


# ------------------------------------------------------------------ the server itself


@contextmanager
def _served_hub(site: Site, **options: Any) -> Iterator[tuple[Any, int]]:
    """The hub app served the way ``central-hub run`` serves it (common_io/serving.py)."""
    import threading

    from common_io import serving

    server = serving.create_server(site.hub.app, host="127.0.0.1", port=0, threads=4,
                                   ident="central-hub", **options)  # fmt: skip
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield server, port
    finally:
        serving.stop(server)
        thread.join(5)


def _half_sent(port: int, source: str) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    s.sendall(b"GET /sync/v1/hello HTTP/1.1\r\nHost: hub\r\n")
    return s


def _hello(port: int, source: str = "127.0.0.1") -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=5,
                                  source_address=(source, 0)) as s:  # fmt: skip
        s.sendall(b"GET /sync/v1/hello HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n")
        first = s.recv(64)
    return int(first.split()[1])


def test_slowloris_does_not_starve_other_clients(site: Site) -> None:
    """Attack: a stranger opens many connections and sends each request's header a line at
    a time, never finishing (1,000 of them made the hub unreachable for 150 s).

    Must hold: connections from one address beyond ``per_address_limit`` are closed at
    once; a request whose header is not complete within ``header_timeout`` seconds is
    closed even while it trickles; other clients are served all along."""
    with _served_hub(site, connection_limit=40, header_timeout=2, per_address_limit=10) as (
        _,
        port,
    ):
        attack = [_half_sent(port, "127.0.0.2") for _ in range(60)]
        time.sleep(0.5)
        assert _hello(port) == 200  # another client, while the attack holds
        started = time.monotonic()
        while time.monotonic() - started < 4:  # trickle one header line a second
            for s in attack:
                with suppress(OSError):
                    s.sendall(b"X-Slow: 1\r\n")
            time.sleep(1)
        assert _hello(port) == 200
        closed = 0
        for s in attack:
            s.settimeout(2)
            try:
                closed += s.recv(1024) == b""  # the server ended it
            except TimeoutError:
                pass  # still open
            except OSError:
                closed += 1  # reset by the server
            s.close()
        assert closed == 60  # every half-sent request was ended by the server


def test_a_huge_declared_body_is_refused_before_it_is_spooled(site: Site) -> None:
    """Attack: a stranger declares a 900 MB body to ``/sync/v1/enrol`` (waitress's own
    default limit is 1 GiB: it spooled 5.4 GB to disk before the app saw the request).

    Must hold: the server answers 413 at once, before reading the body."""
    with _served_hub(site) as (_, port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"POST /sync/v1/enrol HTTP/1.1\r\nHost: hub\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 900000000\r\n\r\n{")  # fmt: skip
            first = s.recv(64)
        assert int(first.split()[1]) == 413


# ------------------------------------------------------------------ the log and the alerts


def _junk(n: Node, dossier: str, count: int) -> None:
    """Records a hostile commune signs with its own key: well formed, authentic, refused by
    the hub's rules (a dossier it did not issue) — dead letters."""
    with n.app.app_context():
        ident = node_identity()
    with node_db.write_session(n.app) as s:
        for i in range(count):
            eventlog.append(s, identity=ident, clock=n.clock, dossier=dossier,
                            type="dossier.received", actor="x",
                            data={"junk": "x" * 2000, "i": i})  # fmt: skip


def test_dead_letters_and_alerts_per_node_are_limited(site: Site) -> None:
    """Attack: a commune pushes hundreds of junk records (600 in 3 s added 35 MB to the
    permanent log and 600 alerts).

    Must hold: at most ``DEAD_LETTERS_PER_NODE_HOUR`` dead letters of a node an hour are
    stored; the push is then refused with ``dead_letter_limit`` (nothing more stored); the
    administrator sees ONE alert for the node, with a count and when it was last seen."""
    site.hub.app.config["DEAD_LETTERS_PER_NODE_HOUR"] = 5
    _, honest_code, attacker, _ = _two_communes(site)
    _junk(attacker, honest_code, 20)
    with pytest.raises(SyncRefused) as refused:
        sync(attacker)
    assert refused.value.code == "dead_letter_limit"
    with site.hub.db.read() as s:
        dead = s.scalar(select(func.count()).select_from(LogRecord).where(LogRecord.dead))
    assert dead == 5
    [alert] = _alerts(site, "dead_letter")
    assert alert.count == 5 and alert.last_seen is not None
    with pytest.raises(SyncRefused):
        sync(attacker)
    assert len(_alerts(site, "dead_letter")) == 1
    assert len(_alerts(site, "dead_letter_limit")) == 1


def test_a_dead_letter_stays_out_of_another_communes_dossier(site: Site) -> None:
    """Attack: a commune signs records naming another commune's dossier, to make them
    appear (marked refused) in that dossier's history at the hub and in its
    ``records.bin`` — shown to officers and auditors of a commune it has no part in.

    Must hold: the dead letter is stored in the sender's chain only; the dossier's history
    and raw records are exactly its own commune's."""
    honest, honest_code, attacker, _ = _two_communes(site)
    act(honest, honest_code, "processing")
    sync(honest)
    _junk(attacker, honest_code, 2)
    sync(attacker)
    with site.hub.db.read() as s:
        _, history = health.dossier_history(s, honest_code)
        raws = health.dossier_raws(s, honest_code)
        dead = list(s.scalars(select(LogRecord).where(LogRecord.dead)))
    assert len(dead) == 2 and {d.node_id for d in dead} == {node_id(attacker)}
    assert {e.rec.node for e in history} == {node_id(honest)}
    assert len(raws) == len(history) == 2
