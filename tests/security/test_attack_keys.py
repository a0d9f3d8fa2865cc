"""Attacks with a commune's keys: a stolen laptop, a key a rotation replaced, a cosignature
by a key the hub never registered. One test per attack; each docstring says what the
attacker does and what must hold. A real hub serves on loopback (SQLite and PostgreSQL);
the attacker speaks the sync protocol with the keys it took."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import requests
from click.testing import CliRunner
from sqlalchemy import func, select

from central_hub.cli import main as hub_cli
from central_hub.models import Alert, Cosignature, CosignatureAside, NodeKey
from central_hub.notify_models import HubNotification
from common import keys, protocol, record
from commune_node import db as node_db
from commune_node.models import Event
from commune_node.services.identity import NodeIdentity
from tests.sync.conftest import Site, rotate, sync
from tests.sync.helpers import take_in


def _request(
    site: Site,
    key: keys.PrivateKey,
    node: str,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    content_type: str = "",
    cosignature: bytes | None = None,
) -> requests.Response:
    headers = protocol.sign_request(
        key,
        method=method,
        path=path,
        body=body,
        timestamp=int(site.clock().timestamp()),
        nonce=secrets.token_hex(16),
        node=node,
    )
    if content_type:
        headers["Content-Type"] = content_type
    if cosignature is not None:
        headers["X-Cosignature"] = protocol.b64(cosignature)
    return requests.request(method, site.url + path, data=body, headers=headers, timeout=10)


def _sms(dossier: str) -> bytes:
    message = {
        "id": secrets.token_hex(8),
        "dossier": dossier,
        "kind": "received",
        "channel": "sms",
        "to": "0912345678",
        "subject": "",
        "text": "Ho so cua ban da duoc tiep nhan",
        "text_ascii": "Ho so cua ban da duoc tiep nhan",
    }
    return json.dumps({"messages": [message]}).encode()


def _every_endpoint(site: Site, key: keys.PrivateKey, node: str, head: Any) -> dict[str, Any]:
    """One signed request to each endpoint a node uses, all with ``key``."""
    late = record.make(
        private_key=key,
        node=node,
        seq=head.seq + 1,
        prev=head.record_id,
        at=site.clock(),
        anchor=None,
        dossier=None,
        type="checkpoint.cosigned",
        actor="system",
        data={},
    )
    batch = protocol.encode_batch([late.raw])
    refill = json.dumps({"ranges": [], "records": []}).encode()
    return {
        "status": _request(site, key, node, "GET", "/sync/v1/status?waiting=0&known=0"),
        "push": _request(
            site,
            key,
            node,
            "POST",
            "/sync/v1/push",
            batch,
            content_type=protocol.BATCH_CONTENT_TYPE,
        ),
        "pull": _request(site, key, node, "GET", "/sync/v1/pull?after=0"),
        "notify": _request(
            site,
            key,
            node,
            "POST",
            "/sync/v1/notify",
            _sms("000.00.12.H26-261123-0001"),
            content_type="application/json",
        ),
        "refill": _request(
            site, key, node, "POST", "/sync/v1/refill", refill, content_type="application/json"
        ),
        "consistency": _request(site, key, node, "GET", "/sync/v1/proof/consistency?old=1&new=1"),
    }


def _head(node: Any) -> Event:
    with node_db.read_session(node.app) as s:
        head = s.scalars(select(Event).order_by(Event.seq.desc())).first()
    assert head is not None
    return head


def _cosignature(site: Site, ident: NodeIdentity, key: keys.PrivateKey, key_id: str) -> bytes:
    """A cosignature over the hub's latest checkpoint, signed by ``key`` naming ``key_id``."""
    hello = requests.get(site.url + "/sync/v1/hello", timeout=10).json()
    cp = protocol.checkpoint_of(
        protocol.unb64(hello["checkpoint"]["signed"]),
        keys.public_from_hex(hello["public_key"]),
        origin=hello["origin"],
    )
    body = protocol.cosignature_body(cp, node=ident.node_id, key=key_id)
    return protocol.sign_statement(protocol.COSIGNATURE_PREFIX, body, key)


def _notifications(site: Site) -> int:
    with site.hub.db.read() as s:
        return s.scalar(select(func.count()).select_from(HubNotification)) or 0


def _revoke_key_cli(site: Site, *args: str) -> str:
    env = {"CENTRAL_HUB_DATABASE_URL": str(site.hub.db.engine.url.render_as_string(False))}
    result = CliRunner().invoke(
        hub_cli,
        ["--instance", site.hub.app.instance_path, "revoke-key", *args],
        env=env,
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_a_replaced_key_is_refused_on_every_endpoint(site: Site) -> None:
    """Attack: the node rotated its key and the hub holds the rotation record. Someone who
    copied the old private key before (a backup, a stolen disk image) signs requests with it.

    Must hold: every endpoint refuses it with ``403 key_succeeded`` — status, push, pull,
    notify (no SMS goes out through the hub), refill, proofs — and so does a cosignature by
    it riding on a request signed by the current key; the hub raises an alert."""
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)
    old, new, _ = rotate(a)
    take_in(a)
    sync(a)  # the hub holds the rotation record and a record signed by the new key
    sent_before = _notifications(site)
    answers = _every_endpoint(site, old.key, old.node_id, _head(a))
    for endpoint, r in answers.items():
        assert r.status_code == 403, (endpoint, r.status_code, r.text)
        assert r.json()["error"]["code"] == "key_succeeded", endpoint
        assert r.json()["error"]["detail"]["successor"] == new.key_id
    assert _notifications(site) == sent_before
    # A cosignature by the old key, on a request the current key signs: refused, not kept.
    cosig = _cosignature(site, old, old.key, old.key_id)
    r = _request(site, new.key, new.node_id, "GET", "/sync/v1/status?waiting=0", cosignature=cosig)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_cosignature"
    with site.hub.db.read() as s:
        kinds = set(s.scalars(select(Alert.kind).where(Alert.node_id == old.node_id)))
        kept = [c.signed for c in s.scalars(select(Cosignature))]
    assert {"replaced_key_used", "bad_cosignature"} <= kinds
    assert cosig not in kept
    # The node itself goes on syncing with its current key.
    take_in(a)
    assert sync(a).pushed == 1


def test_revoke_key_revokes_every_key_of_a_stolen_laptop(site: Site) -> None:
    """Attack: a laptop that rotated its key is stolen; the administrator runs
    ``central-hub revoke-key --node … --last-valid-seq N --reason "laptop stolen"``. The
    thief holds the current key and, if it was still on disk, the old one.

    Must hold: without ``--key``, every key of the node is revoked: neither key gets a
    status answer, sends an SMS through the hub or adds a record after N; each key gets its
    own ``key.revoked`` hub record, every node is told."""
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)
    old, new, _ = rotate(a)
    take_in(a)
    sync(a)
    last = _head(a).seq
    out = _revoke_key_cli(
        site, "--node", old.node_id, "--last-valid-seq", str(last), "--reason", "laptop stolen"
    )
    assert old.key_id in out and new.key_id in out
    sent_before = _notifications(site)
    for key in (old.key, new.key):
        answers = _every_endpoint(site, key, old.node_id, _head(a))
        for endpoint, r in answers.items():
            assert r.status_code == 403, (endpoint, r.text)
            assert r.json()["error"]["code"] == "key_revoked", endpoint
    assert _notifications(site) == sent_before
    with site.hub.db.read() as s:
        rows = {k.key_id: k for k in s.scalars(select(NodeKey))}
    assert rows[old.key_id].revoked_at is not None and rows[new.key_id].revoked_at is not None
    assert rows[old.key_id].last_valid_seq == 2  # its rotation ended it earlier
    assert rows[new.key_id].last_valid_seq == last
    with site.hub.db.read() as s:
        assert s.scalar(select(func.count()).where(Alert.kind == "revoked_key_used")) == 1


def test_revoke_key_with_key_revokes_that_key_only(site: Site) -> None:
    """Attack: an old key leaked (found in a backup) while the laptop is safe; the
    administrator revokes that key alone with ``--key``.

    Must hold: the named key is refused (``key_revoked``); the node's current key keeps
    syncing."""
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)
    old, new, rec = rotate(a)
    sync(a)
    _revoke_key_cli(
        site, "--node", old.node_id, "--key", old.key_id, "--last-valid-seq", str(rec.seq),
        "--reason", "found in a backup",
    )  # fmt: skip
    r = _request(site, old.key, old.node_id, "GET", "/sync/v1/status?waiting=0")
    assert r.status_code == 403 and r.json()["error"]["code"] == "key_revoked"
    take_in(a)
    assert sync(a).pushed == 1
    with site.hub.db.read() as s:
        assert s.get(NodeKey, new.key_id).revoked_at is None  # type: ignore[union-attr]


def test_the_replaced_key_file_is_gone_once_the_hub_acknowledged(site: Site) -> None:
    """Attack: a laptop is stolen some time after a rotation; the thief reads every file in
    the instance folder for private keys.

    Must hold: the replaced key's file stays only until a receipt covers the rotation
    record (requests need it until the hub knows the new key); after that no file in the
    folder holds the old key — only the current one, which the administrator revokes."""
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)
    old, new, _ = rotate(a)
    instance = Path(a.app.instance_path)
    old_pem = keys.private_to_pem(old.key)
    assert any(p.read_bytes() == old_pem for p in instance.iterdir() if p.is_file())
    sync(a)
    files = [p for p in instance.rglob("*") if p.is_file()]
    assert all(old_pem not in p.read_bytes() for p in files)
    assert any(p.read_bytes() == keys.private_to_pem(new.key) for p in files)
    take_in(a)
    assert sync(a).pushed == 1  # the node goes on with its current key


def test_cosignatures_by_an_unregistered_key_are_never_counted(site: Site) -> None:
    """Attack: an enrolled node floods the hub with cosignatures naming keys it never
    announced, to pad the witness count or fill the hub's disk.

    Must hold: they are set aside, not counted as cosignatures, at most a bounded number per
    node; the node's own sync is not disturbed."""
    from central_hub.services.witness import ASIDE_PER_NODE

    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)
    with a.app.app_context():
        from commune_node.web.context import node_identity

        ident = node_identity()
    for _ in range(ASIDE_PER_NODE + 5):
        stranger = keys.generate()
        cosig = _cosignature(site, ident, stranger, keys.key_id(stranger))
        r = _request(
            site, ident.key, ident.node_id, "GET", "/sync/v1/status?waiting=0", cosignature=cosig
        )
        assert r.status_code == 200
        site.clock.advance(seconds=1)
    with site.hub.db.read() as s:
        aside = s.scalar(select(func.count()).select_from(CosignatureAside))
        counted = list(s.scalars(select(Cosignature)))
    assert aside == ASIDE_PER_NODE
    assert all(
        protocol.statement_claims(protocol.COSIGNATURE_PREFIX, c.signed)["key"] == ident.key_id
        for c in counted
    )
    take_in(a)
    assert sync(a).pushed == 1


def test_a_lost_rotation_answer_does_not_lock_the_node_out(site: Site) -> None:
    """Attack surface: the hub stored the push carrying the rotation record but its answer
    was lost, so the node still signs with the old key, which the hub now refuses.

    Must hold: the refusal names the successor; the node moves to its new key at once and
    the sync completes, with no officer needed."""
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)
    old, _, rec = rotate(a)
    take_in(a)
    with node_db.read_session(a.app) as s:
        raws = list(s.scalars(select(Event.record).where(Event.seq >= rec.seq).order_by(Event.seq)))
    r = _request(
        site, old.key, old.node_id, "POST", "/sync/v1/push", protocol.encode_batch(raws),
        content_type=protocol.BATCH_CONTENT_TYPE,
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["stored"] == len(raws)
    # ...and the node never saw that answer.
    result = sync(a)
    assert result.acked_seq == rec.seq + 1
