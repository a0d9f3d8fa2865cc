"""The hub's encryption key over its life, over real HTTP (SQLite and PostgreSQL hubs):
rotate, learn at the next contact, list who may still seal to an old key, retire it only
when nobody can (or with --force and a reason), refuse a box sealed to a retired key, and the
node sealing it again to the current key from its own disclosure table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from central_hub.cli import main as hub_cli
from central_hub.models import EncryptionKeyRecord, HubDisclosure
from central_hub.models import Node as HubNode
from central_hub.services import disclosures, identity
from central_hub.web import sync_api
from common import keys, personal, protocol
from commune_node import db
from commune_node.services import hublink
from commune_node.services.hublink import SyncRefused
from commune_node.services.identity import get_setting, set_setting
from tests.node.conftest import Node
from tests.sync.conftest import Site, sync
from tests.sync.helpers import take_in

A, B = "000.00.21.H26", "000.00.22.H26"


def _cli(site: Site, *args: str) -> Result:
    env = {}
    url = site.hub.app.config.get("DATABASE_URL")
    if url:
        env["CENTRAL_HUB_DATABASE_URL"] = str(url)
    instance = str(site.hub.app.instance_path)
    return CliRunner().invoke(hub_cli, ["--instance", instance, *args], env=env)


def _restart(site: Site) -> None:
    """What a restart of ``central-hub run`` does to the keys: read again from the folder."""
    site.hub.app.extensions.pop("identity", None)


def _node_kid(node: Node) -> str:
    with db.read_session(node.app) as s:
        text = get_setting(s, "hub_encryption_key")
    assert text
    return personal.encryption_key_id(bytes.fromhex(text))


def _hub_node(site: Site, agency: str) -> HubNode:
    with site.hub.db.read() as s:
        return s.scalars(select(HubNode).where(HubNode.agency_code == agency)).one()


def _sealed_kids(site: Site) -> set[str | None]:
    with site.hub.db.read() as s:
        return set(s.scalars(select(HubDisclosure.sealed_kid)))


def _applicant(site: Site, code: str) -> dict[str, Any]:
    with site.hub.db.read() as s:
        hub = identity.load_identity(s, Path(site.hub.app.instance_path))
        return disclosures.applicant(s, code, hub=hub)


def test_an_old_key_is_retired_once_no_node_can_seal_to_it_and_a_late_box_is_sealed_again(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = Path(site.hub.app.instance_path)
    first = site.hub.identity.encryption_kid
    a, b = site.node("ka", A), site.node("kb", B)
    take_in(a, name="Trần Thị Thu")
    sync(a), sync(b)
    assert _node_kid(a) == _node_kid(b) == first
    assert _hub_node(site, A).sealing_kid == first  # each request says which key it seals to
    assert _sealed_kids(site) == {first}

    rotated = _cli(site, "encryption-key", "rotate")
    assert rotated.exit_code == 0, rotated.output
    _restart(site)
    _, second = identity.load_encryption_keys(instance)
    assert second != first
    listed = _cli(site, "encryption-key", "list")
    assert listed.exit_code == 0, listed.output
    old_line = next(line for line in listed.output.splitlines() if line.startswith(first))
    assert "old, in use" in old_line and "nodes that may seal to it: 2" in old_line
    assert A in listed.output and B in listed.output
    assert next(ln for ln in listed.output.splitlines() if ln.startswith(second)).count("current")

    refused = _cli(site, "encryption-key", "retire", first)
    assert refused.exit_code != 0
    assert A in refused.output and B in refused.output and "--force" in refused.output
    assert (instance / f"hub_encryption_{first}.key").exists()
    current = _cli(site, "encryption-key", "retire", second)
    assert current.exit_code != 0 and "current encryption key" in current.output

    code_a = take_in(a, name="Lê Văn Tám")
    sync(a)  # the status teaches it the new key; its push says so and seals to it
    assert _node_kid(a) == second
    assert _hub_node(site, A).sealing_kid == second
    assert _sealed_kids(site) == {first, second}
    assert _applicant(site, code_a)["name"] == "Lê Văn Tám"

    still = _cli(site, "encryption-key", "retire", first)
    assert still.exit_code != 0 and B in still.output and A not in still.output
    no_reason = _cli(site, "encryption-key", "retire", first, "--force")
    assert no_reason.exit_code != 0 and "--reason" in no_reason.output
    forced = _cli(
        site, "encryption-key", "retire", first, "--force", "--reason", "Xã B laptop in repair"
    )
    assert forced.exit_code == 0, forced.output
    assert not (instance / f"hub_encryption_{first}.key").exists()
    with site.hub.db.read() as s:
        row = s.get(EncryptionKeyRecord, first)
        assert row is not None and row.retired_at is not None and row.forced
        assert row.retire_reason == "Xã B laptop in repair"
    _restart(site)
    assert first not in identity.load_encryption_keys(instance)[0]

    # Node B took a dossier in while the hub rotated and retired; the retirement lands
    # between its status and its push, so it seals to the retired key: refused, sealed
    # again to the current key the refusal carries (signed), and sent again.
    code_b = take_in(b, name="Phạm Thị Hồng")
    real = hublink.learn_encryption_key
    calls: list[str] = []

    def late(session: Any, link_public: Any, hub_id: str, signed: Any) -> None:
        calls.append("status" if not calls else "refusal")
        if len(calls) > 1:
            real(session, link_public, hub_id, signed)

    monkeypatch.setattr(hublink, "learn_encryption_key", late)
    result = sync(b)
    assert calls == ["status", "refusal"]
    assert any("sealed again" in note for note in result.notes)
    assert _node_kid(b) == second
    assert _applicant(site, code_b)["name"] == "Phạm Thị Hồng"
    assert _sealed_kids(site) == {first, second}
    assert _hub_node(site, B).sealing_kid == second

    listed = _cli(site, "encryption-key", "list")
    old_line = next(line for line in listed.output.splitlines() if line.startswith(first))
    assert "retired" in old_line and "Xã B laptop in repair" in old_line


def test_a_refusal_naming_a_key_the_hub_did_not_sign_changes_nothing_at_the_node(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A box sealed to a retired key is refused; a refusal whose "current key" is not signed
    by the hub (a man in the middle offering his own key) is not believed: the node keeps
    its key, seals nothing to the stranger's, and shows the refusal."""
    first = site.hub.identity.encryption_kid
    a = site.node("ma", A)
    sync(a)
    assert _cli(site, "encryption-key", "rotate").exit_code == 0
    _restart(site)
    forced = _cli(site, "encryption-key", "retire", first, "--force", "--reason", "test of refusal")
    assert forced.exit_code == 0, forced.output

    stranger = personal.generate_encryption_key()
    fake = protocol.b64(
        protocol.encryption_key_statement(
            hub_id=site.hub.identity.hub_id,
            public_hex=personal.encryption_public_bytes(stranger).hex(),
            key=keys.generate(),
        )
    )
    monkeypatch.setattr(sync_api, "_encryption_key_json", lambda hub: fake)
    monkeypatch.setattr(
        sync_api, "_encryption_statement", lambda hub=None: protocol.unb64(fake, "x")
    )
    take_in(a, name="Đỗ Văn Nam")
    with pytest.raises(Exception) as caught:  # the status answer's statement is not the hub's
        sync(a)
    assert "signature" in str(caught.value).lower() or "statement" in str(caught.value).lower()
    assert _node_kid(a) == first  # nothing learnt from the stranger
    monkeypatch.undo()

    # the node still holds the retired key: its push is refused with the stable code, and
    # with the genuine statement it seals again and goes through
    real = hublink.learn_encryption_key
    calls: list[int] = []

    def skip_status(session: Any, link_public: Any, hub_id: str, signed: Any) -> None:
        calls.append(1)
        if len(calls) > 1:
            real(session, link_public, hub_id, signed)

    monkeypatch.setattr(hublink, "learn_encryption_key", skip_status)
    assert any("sealed again" in n for n in sync(a).notes)
    assert _node_kid(a) != first

    # a refusal that keeps naming the retired key ends the run with the stable code
    monkeypatch.setattr(hublink, "learn_encryption_key", lambda *args: None)
    with db.write_session(a.app) as s:
        set_setting(s, "hub_encryption_key", _retired_public_hex(site, first))
    take_in(a, name="Đỗ Thị Mai")
    with pytest.raises(SyncRefused) as refused:
        sync(a)
    assert refused.value.code == "encryption_key_retired"
    with db.read_session(a.app) as s:
        shown = get_setting(s, "last_error") or ""  # the sync page shows it to the officers
    shown_error = json.loads(shown)
    assert shown_error["code"] == "encryption_key_retired" and "niêm phong" in shown_error["vi"]


def _retired_public_hex(site: Site, kid: str) -> str:
    key = site.hub.identity.encryption[kid]  # the identity loaded before the retirement
    return personal.encryption_public_bytes(key).hex()


def test_a_node_that_reports_a_malformed_key_id_is_refused_and_its_record_kept(site: Site) -> None:
    """``sealing=`` is 32 lowercase hex digits or nothing: anything else is a bad request, and
    the key the hub holds for that node stays as it was."""
    from commune_node.services.hublink import Client
    from commune_node.transport import HttpTransport
    from commune_node.web.context import node_identity

    a = site.node("sa", A)
    sync(a)
    before = _hub_node(site, A).sealing_kid
    with a.app.app_context():
        client = Client(db.database(a.app), node_identity(), HttpTransport(site.url), a.clock)
        for bad in ("zz", "A" * 32, "0" * 31, "0" * 33, "%27%3B--"):
            with pytest.raises(SyncRefused) as exc:
                client.call("GET", f"/sync/v1/status?sealing={bad}")
            assert exc.value.code == "bad_request"
    assert _hub_node(site, A).sealing_kid == before


def test_a_node_that_never_said_which_key_it_seals_to_counts_by_its_last_contact(
    site: Site,
) -> None:
    """Software from before the report: any key not yet replaced at its last contact is one it
    may seal to; once it contacts the hub after the rotation, the old key is free."""
    from datetime import timedelta

    from central_hub.services import encryption_keys

    first = site.hub.identity.encryption_kid
    a = site.node("oa", A)
    sync(a)
    with site.hub.db.write() as s:
        node = s.scalars(select(HubNode).where(HubNode.agency_code == A)).one()
        node.sealing_kid = None  # as an older node leaves it
        node.last_contact = site.clock() - timedelta(days=1)
    assert _cli(site, "encryption-key", "rotate").exit_code == 0
    _restart(site)
    _, second = identity.load_encryption_keys(Path(site.hub.app.instance_path))
    with site.hub.db.read() as s:
        uses = {u.kid: u for u in encryption_keys.usage(s, second)}
    assert uses[first].nodes and A in uses[first].nodes[0]
    refused = _cli(site, "encryption-key", "retire", first)
    assert refused.exit_code != 0 and A in refused.output
    with site.hub.db.write() as s:
        node = s.scalars(select(HubNode).where(HubNode.agency_code == A)).one()
        row = s.get(EncryptionKeyRecord, first)
        assert row is not None and row.current_until is not None
        node.last_contact = row.current_until + timedelta(minutes=1)
    with site.hub.db.read() as s:
        uses = {u.kid: u for u in encryption_keys.usage(s, second)}
    assert not uses[first].nodes
    done = _cli(site, "encryption-key", "retire", first)
    assert done.exit_code == 0, done.output
    assert "overwritten and deleted" in done.output
