"""A key rotation the hub acknowledged, then lost by a restore of the hub's database from a
backup taken before it: found by the fault campaign (a commune left ``unknown_key`` for
good, and with it a log recovery that waits for that commune forever). The node deleted the
replaced key once the hub acknowledged the rotation and signs with a key the restored hub
never knew: answered ``unknown_key``, it sends its rotation records with the request
(``X-Key-Chain``), and the hub checks each with a key it holds before it believes the new
key (``central_hub.services.requests.proven_key``)."""

from __future__ import annotations

import base64
import contextlib
from pathlib import Path

import pytest

from central_hub.models import NodeKey
from central_hub.services.requests import proven_key
from common import keys, record
from commune_node import db as node_db
from commune_node.services import keyring
from commune_node.services.hublink import SyncRefused
from commune_node.transport import LinkError
from tests.faults.conftest import ProxyFactory
from tests.faults.harness import MARITAL, Observer, Template
from tests.faults.lifecycle import process_world, syncs_again
from tests.faults.test_hub_restore import _backup, _restore
from tests.faults.test_link_faults import acked, linked, node_id
from tests.sync.conftest import Site, rotate, sync
from tests.sync.helpers import hub_records, take_in


def test_a_rotation_the_restored_hub_lost_does_not_lock_the_commune_out(
    site: Site, tmp_path: Path
) -> None:
    """The node shows the restored hub its rotation record and syncs on; nothing lost."""
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)
    backup = _backup(site, tmp_path)
    rotate(a)
    take_in(a)
    sync(a)  # the hub acknowledges the rotation: the replaced key file is deleted
    _restore(site, tmp_path, backup)
    take_in(a)
    sync(a)
    sync(a)
    assert acked(a) == 4 and [r.seq for r in hub_records(site.hub, node_id(a))] == [1, 2, 3, 4]
    assert not (
        Path(a.app.instance_path) / "node_key.pem"
    ).exists()  # the replaced key stays forgotten


def test_a_chain_of_keys_the_hub_cannot_prove_is_not_believed(site: Site, tmp_path: Path) -> None:
    """The hub believes a key only through rotation records each signed by a key it holds
    and proving the new key: a record changed on the way, one signed by a key the hub does
    not hold, or none at all, and the request stays ``unknown_key``."""
    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)
    backup = _backup(site, tmp_path)
    rotate(a)
    sync(a)
    _restore(site, tmp_path, backup)
    with node_db.read_session(a.app) as s:
        chain = keyring.chain_header(s)
        new_key = keyring.current_key_id(s)
    raw = base64.b64decode(chain)
    rec = record.parse(raw)
    with site.hub.db.read() as s:
        assert proven_key(s, rec.node, new_key, chain) is not None
        forged = raw.replace(rec.data["new_key"][:8].encode(), b"00000000", 1)
        assert proven_key(s, rec.node, new_key, base64.b64encode(forged).decode()) is None
        assert proven_key(s, rec.node, new_key, "") is None
        other = keys.generate()
        assert proven_key(s, rec.node, keys.key_id(keys.public_bytes(other)), chain) is None
    with site.hub.db.write() as s:  # the administrator revoked the key that signed it
        row = s.get(NodeKey, rec.key)
        assert row is not None
        row.revoked_at = site.clock()
    with site.hub.db.read() as s:
        assert proven_key(s, rec.node, new_key, chain) is None
    with pytest.raises(SyncRefused) as refused:
        sync(a)
    assert refused.value.code == "unknown_key"


def test_records_after_a_rotation_the_restored_hub_lost_are_given_back(
    site: Site, tmp_path: Path, fault_proxy: ProxyFactory
) -> None:
    """Regression (found by the campaign): b's rotation and the records its new key signed
    reached the hub but their answer was lost (no receipt pins them), then the hub was
    restored from a backup before them. b gives them back; the hub checked each with the
    keys it held, so the new key's records were dropped and the recovery waited for ever.
    It now learns the new key from the given-back rotation record."""
    a, _ = linked(site, fault_proxy, "a", "000.00.12.H26")
    b, link = linked(site, fault_proxy, "b", "000.00.13.H26")
    take_in(a)
    take_in(b)
    sync(a)
    sync(b)
    backup = _backup(site, tmp_path)
    rotate(b)
    take_in(b)
    take_in(b)
    link.drop_responses(1, match=b"POST /sync/v1/push")
    with pytest.raises(LinkError):
        sync(b)
    link.clear()
    assert acked(b) == 1 and len(hub_records(site.hub, node_id(b))) == 4
    sync(a)  # a verifies the log with b's lost records in it
    _restore(site, tmp_path, backup)
    for _ in range(3):
        for n in (a, b):
            with contextlib.suppress(SyncRefused, LinkError):
                sync(n)
    assert acked(b) == 4 and [r.seq for r in hub_records(site.hub, node_id(b))] == [1, 2, 3, 4]
    assert acked(a) == 1


@pytest.mark.slow
def test_with_real_processes_a_rotation_the_restored_hub_lost_is_learnt_again(
    three_communes: Template, tmp_path: Path
) -> None:
    """``central-hub run`` and ``commune-node run``: u1 rotates, the hub acknowledges it, the
    hub is put back from a backup taken before; u1 takes a dossier and syncs again (the
    others give back what the hub lost), and everything converges."""
    with process_world(three_communes, tmp_path) as w:
        assert w.intake(0, MARITAL, "Nguyễn Văn Đức") and w.sync(0)
        assert w.intake(1, MARITAL, "Trần Thị Mai") and w.sync(1)
        w.backup_hub()
        w.rotate_key(0)
        assert w.intake(0, MARITAL, "Lê Hoàng Ánh") and w.sync(0)
        assert not (w.nodes[0].dir / "node_key.pem").exists()
        w.restore_hub(0)
        assert w.intake(0, MARITAL, "Phạm Thị Ngọc Hân")
        for _ in range(3):
            for i in range(len(w.nodes)):
                w.sync(i)
        assert syncs_again(w, 0, within=2), Observer.node(w.nodes[0].db).last_error
        assert w.check() == []
        assert w.converge() == []
