"""Citizen notifications end to end: outbox on the node, hand-over to a real hub over HTTP,
delivery through the real gateway adapters to a local HTTP receiver and a local SMTP server;
exactly once across lost answers, retries, a ``kill -9`` mid-drain and restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from central_hub.notify_models import HubNotification
from common.lifecycle import Role
from commune_node import db as node_db
from commune_node.models import Event
from commune_node.notify_models import OutboxMessage
from commune_node.scheduler import run_sync
from commune_node.transport import HttpTransport, LinkError, Response
from tests.node.conftest import Node
from tests.sync.conftest import Site, sync
from tests.sync.helpers import act, take_in
from tests.sync.receivers import smtp_server, webhook

ROOT = Path(__file__).resolve().parents[2]


def outbox(node: Node) -> list[OutboxMessage]:
    with node_db.read_session(node.app) as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)))


def use_webhook(site: Site, url: str) -> None:
    site.hub.app.config["NOTIFY_WEBHOOK_URL"] = url
    site.hub.app.extensions.pop("notify_gateways", None)


def test_each_notice_is_delivered_once_by_webhook(site: Site) -> None:
    with webhook() as hook:
        use_webhook(site, hook.url)
        n = site.node("a", "000.00.12.H26")
        code = take_in(n)  # notify defaults to SMS, phone 0912345678
        [msg] = outbox(n)
        assert (msg.kind, msg.channel, msg.state) == ("received", "sms", "waiting")
        sync(n)
        assert len(hook.received) == 1
        sent = hook.received[0]
        assert sent == {"id": msg.id, "channel": "sms", "to": "0912345678",
                        "text": msg.text_ascii}  # fmt: skip
        assert sent["text"].startswith(f"Da tiep nhan HS {code}. Hen tra ngay ")
        assert "Nguyễn" not in str(sent) and "062095001234" not in str(sent)
        [msg] = outbox(n)
        assert msg.state == "delivered" and msg.recipient == "09******78"
        sync(n)  # nothing new, nothing again
        assert len(hook.received) == 1
        act(n, code, "processing")
        act(n, code, "supplement_requested", missing=["to_khai"], reason="Thiếu tờ khai")
        act(n, code, "supplement_received", documents={"to_khai": {"original": 1}})
        act(n, code, "apologised", who="leader", reason="Chờ xác minh",
            new_due=date(2026, 12, 10).isoformat())  # fmt: skip
        act(n, code, "resolved", who="leader", result="Đã cấp", electronic_result=True)
        sync(n)
        kinds = [m["text"] for m in hook.received]
        assert len(kinds) == 4 and len(set(hook.keys)) == 4
        for words in ("Da tiep nhan", "can bo sung giay to", "hen lai 10/12/2026", "da co ket qua"):
            assert sum(words in text for text in kinds) == 1, (words, kinds)
        assert {m.state for m in outbox(n)} == {"delivered"}


class DropsNotifyAnswer:
    """A link that delivers the notify request to the hub and then loses the answer once."""

    def __init__(self, url: str) -> None:
        self.inner = HttpTransport(url)
        self.dropped = False

    def request(self, method: str, path: str, *, body: bytes = b"",
                headers: dict[str, str] | None = None) -> Response:  # fmt: skip
        resp = self.inner.request(method, path, body=body, headers=headers)
        if path.startswith("/sync/v1/notify") and not self.dropped:
            self.dropped = True
            raise LinkError("answer lost")
        return resp


def test_a_lost_answer_does_not_repeat_the_message(site: Site) -> None:
    with webhook() as hook:
        use_webhook(site, hook.url)
        n = site.node("a", "000.00.12.H26")
        take_in(n)
        lossy = DropsNotifyAnswer(site.url)
        n.app.config["SYNC_TRANSPORT"] = lambda: lossy
        with pytest.raises(LinkError):
            run_sync(n.app)
        assert len(hook.received) == 1  # the hub delivered it ...
        assert outbox(n)[0].state == "waiting"  # ... but the node never heard
        sync(n)
        assert len(hook.received) == 1 and outbox(n)[0].state == "delivered"


def test_temporary_then_permanent_failures_are_shown_per_message(site: Site) -> None:
    with webhook() as hook:
        use_webhook(site, hook.url)
        n = site.node("a", "000.00.12.H26")
        take_in(n)
        hook.answers = [503]
        sync(n)
        [msg] = outbox(n)
        assert (msg.state, msg.hub_status) == ("handed", "queued")
        assert msg.detail == "webhook answered 503"
        sync(n)  # the retry waits for its backoff
        assert outbox(n)[0].state == "handed" and not hook.received
        site.clock.advance(minutes=5)
        sync(n)
        assert outbox(n)[0].state == "delivered" and len(hook.received) == 1
        take_in(n)
        hook.answers = [400]
        sync(n)
        failed = outbox(n)[1]
        assert (failed.state, failed.detail) == ("failed", "webhook refused: 400")
        with n.app.test_request_context():
            from flask import render_template_string

            html = render_template_string(
                '{% include "_notifications.html" %}', row=SimpleNamespace(code=failed.dossier_code)
            )
        assert "Gửi không được" in html and "webhook refused: 400" in html


def test_email_goes_through_a_real_smtp_server(site: Site) -> None:
    with smtp_server() as box:
        site.hub.app.config.update(NOTIFY_SMTP_HOST=box.host, NOTIFY_SMTP_PORT=box.port,
                                   NOTIFY_SMTP_FROM="thongbao@quangngai.gov.vn")  # fmt: skip
        site.hub.app.extensions.pop("notify_gateways", None)
        n = site.node("a", "000.00.12.H26")
        form: dict[str, Any] = {
            "procedure": "1.004873.000.00.00.H38",
            "applicant_name": "Trần Thị Bích",
            "id_number": "062195001234",
            "email": "bich.tran@example.vn",
            "notify": "email",
            "address": "thôn 3",
            "documents": {"to_khai": {"original": 1}},
        }
        r = n.api(n.app.test_client(), "POST", "/dossiers", json=form)
        assert r.status_code == 201, r.json
        code = r.json["dossier"]["code"]
        sync(n)
        [mail] = box.messages
        [msg] = outbox(n)
        assert box.envelopes == [("thongbao@quangngai.gov.vn", ["bich.tran@example.vn"])]
        assert mail["Message-ID"] == f"<{msg.id}@quangngai.gov.vn>"
        assert code in mail["Subject"] and "Xã Đăk Pxi" in mail["Subject"]
        body = mail.get_content()
        assert f"Đã tiếp nhận HS {code}" in body and "Trần Thị Bích" not in body
        assert msg.state == "delivered" and msg.recipient == "b***@example.vn"
        box.refuse_rcpt = 1
        act(n, code, "processing")
        act(n, code, "resolved", who="leader", result="Đã cấp")
        sync(n)
        assert outbox(n)[1].state == "failed" and len(box.messages) == 1


def test_kill_9_mid_drain_delivers_every_message_exactly_once(site: Site) -> None:
    with webhook() as hook:
        use_webhook(site, hook.url)
        hook.delay = 0.4
        n = site.node("a", "000.00.12.H26")
        for i in range(6):
            take_in(n, name=f"Nguyễn Văn {chr(65 + i)}")
        ids = {m.id for m in outbox(n)}
        assert len(ids) == 6
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        args = [n.app.instance_path, site.url, site.clock().isoformat()]
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.sync.drain_child", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while len(hook.received) < 2 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        assert child.poll() is None, child.communicate()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        if child.stdout:
            child.stdout.close()
        if child.stderr:
            child.stderr.close()
        assert 2 <= len(hook.received) < 6
        assert any(m.state == "waiting" for m in outbox(n))
        deadline = time.monotonic() + 120  # the hub may still be finishing the child's request
        while True:
            sync(n)
            if all(m.state == "delivered" for m in outbox(n)) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert sorted(hook.keys) == sorted(ids)  # each id exactly once
        assert {m["id"] for m in hook.received} == ids
        with site.hub.db.read() as s:
            rows = list(s.scalars(select(HubNotification)))
        assert {r.id for r in rows} == ids and {r.status for r in rows} == {"delivered"}
        assert all(r.attempts == 1 for r in rows)


def test_the_message_commits_with_its_event_or_not_at_all(site: Site) -> None:
    n = site.node("a", "000.00.12.H26")
    code = take_in(n)
    with pytest.raises(RuntimeError), node_db.write_session(n.app) as s:
        from commune_node.services import dossiers
        from commune_node.services.officers import Actor
        from commune_node.web.context import calendar, node_identity

        with n.app.app_context():
            dossiers.act(
                s, code, "processing", {}, identity=node_identity(), clock=n.clock,
                actor=Actor("minh.tran", "Trần Văn Minh", frozenset({Role.LEADER})),
                calendar=calendar(),
            )  # fmt: skip
            dossiers.act(
                s, code, "resolved", {"result": "x"}, identity=node_identity(), clock=n.clock,
                actor=Actor("minh.tran", "Trần Văn Minh", frozenset({Role.LEADER})),
                calendar=calendar(),
            )  # fmt: skip
            raise RuntimeError("power cut before commit")
    with node_db.read_session(n.app) as s:
        events = list(s.scalars(select(Event.type).where(Event.dossier_code == code)))
    assert events == ["dossier.received"] and len(outbox(n)) == 1


def test_stale_claim_is_taken_over_after_a_hub_crash(site: Site) -> None:
    from central_hub.services import gateway, notifications

    with webhook() as hook:
        n = site.node("a", "000.00.12.H26")
        take_in(n)
        sync(n)  # no gateway configured yet: the hub holds it queued
        assert outbox(n)[0].state == "handed"
        with site.hub.db.write() as s:
            row = s.scalars(select(HubNotification)).one()
            row.status, row.claim, row.claimed_at = "sending", "deadbeef", site.clock()
        gw = {"sms": gateway.WebhookGateway(hook.url)}
        assert notifications.deliver_due(site.hub.db, gw, clock=site.clock) == 0  # lease held
        site.clock.advance(minutes=6)
        assert notifications.deliver_due(site.hub.db, gw, clock=site.clock) == 1
        assert notifications.deliver_due(site.hub.db, gw, clock=site.clock) == 0
        assert len(hook.received) == 1 and hook.keys == [outbox(n)[0].id]
        sync(n)
        assert outbox(n)[0].state == "delivered"


def test_notify_refuses_unsigned_and_malformed_requests(site: Site) -> None:
    import requests

    r = requests.post(site.url + "/sync/v1/notify", json={"messages": []}, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["code"] == "missing_auth"
    n = site.node("a", "000.00.12.H26")
    from commune_node.services.hublink import Client, SyncRefused
    from commune_node.web.context import node_identity

    with n.app.app_context():
        client = Client(node_db.database(n.app), node_identity(), HttpTransport(site.url), n.clock)
        with pytest.raises(SyncRefused) as exc:
            client.call("POST", "/sync/v1/notify", b'{"messages": [{"id": "x"}]}',
                        content_type="application/json")  # fmt: skip
        assert exc.value.code == "bad_request"
        ok = client.call("POST", "/sync/v1/notify", b'{"messages": []}',
                         content_type="application/json")  # fmt: skip
        assert ok.json() == {"results": []}


def test_notify_bodies_travel_gzipped_and_hostile_ones_are_refused(site: Site) -> None:
    import gzip

    from commune_node.services.hublink import Client, SyncRefused
    from commune_node.web.context import node_identity

    n = site.node("a", "000.00.12.H26")
    with n.app.app_context():
        client = Client(node_db.database(n.app), node_identity(), HttpTransport(site.url), n.clock)

        def post(body: bytes, encoding: str = "gzip") -> dict[str, object]:
            resp = client.call("POST", "/sync/v1/notify", body,
                               content_type="application/json", content_encoding=encoding)  # fmt: skip
            return dict(resp.json())

        assert post(gzip.compress(b'{"messages": [], "ids": []}')) == {"results": []}
        bomb = gzip.compress(b'{"messages": [], "ids": ["' + b"a" * (2 << 20) + b'"]}')
        cases = [
            (bomb, "gzip", "bad_request"),  # inflates past the 1 MiB bound
            (b"not gzip at all", "gzip", "bad_request"),
            (gzip.compress(b'{"messages": []}')[:-6], "gzip", "bad_request"),  # truncated
            (gzip.compress(b'{"messages": []}') + b"x", "gzip", "bad_request"),  # trailing
            (b'{"messages": []}', "br", "unsupported_media_type"),
        ]
        for body, encoding, code in cases:
            with pytest.raises(SyncRefused) as exc:
                post(body, encoding)
            assert exc.value.code == code, (body[:20], encoding)
    # The drain itself always sends gzip: test_each_notice_is_delivered_once_by_webhook.


class RecordsNotify:
    """Passes every request to the hub and keeps the (inflated) body of each notify."""

    def __init__(self, url: str) -> None:
        self.inner = HttpTransport(url)
        self.bodies: list[dict[str, Any]] = []

    def request(self, method: str, path: str, *, body: bytes = b"",
                headers: dict[str, str] | None = None) -> Response:  # fmt: skip
        import gzip
        import json

        if path.startswith("/sync/v1/notify"):
            self.bodies.append(json.loads(gzip.decompress(body)))
        return self.inner.request(method, path, body=body, headers=headers)


def test_new_notices_go_before_status_questions(site: Site) -> None:
    """On a link that drops every few minutes, the notices citizens wait for go first; the
    status of messages handed over in an earlier run is asked after, and not of those just
    handed (their answer already said)."""
    n = site.node("a", "000.00.12.H26")
    take_in(n)
    sync(n)  # handed over; no gateway is configured, so the hub holds it ("queued")
    [old] = outbox(n)
    assert old.state == "handed"
    take_in(n)
    link = RecordsNotify(site.url)
    n.app.config["SYNC_TRANSPORT"] = lambda: link
    sync(n)
    first, second = link.bodies
    assert [m["kind"] for m in first["messages"]] == ["received"] and first["ids"] == []
    assert second == {"version": 2, "messages": [], "ids": [old.id]}


def test_status_questions_take_turns(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """However many messages the hub still holds, a run asks about a bounded number, the
    ones it heard from longest ago, so every message is asked about in turn."""
    from commune_node.services import notify_sync

    n = site.node("a", "000.00.12.H26")
    take_in(n)
    take_in(n)
    sync(n)  # both handed over; no gateway, so the hub keeps them "queued"
    first, second = sorted(outbox(n), key=lambda m: (m.created_at, m.id))
    monkeypatch.setattr(notify_sync, "STATUS_BATCH", 1)
    asked = []
    for _ in range(3):
        link = RecordsNotify(site.url)
        n.app.config["SYNC_TRANSPORT"] = lambda link=link: link
        n.clock.advance(minutes=1)
        sync(n)
        [body] = link.bodies
        asked += body["ids"]
    assert asked == [first.id, second.id, first.id]
