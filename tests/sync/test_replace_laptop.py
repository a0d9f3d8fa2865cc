"""Replacing a commune's laptop: ``central-hub node replace`` retires the old one (every key
revoked) and issues a code; the new laptop enrols, takes back the commune's whole chain,
continues it and the code counters; the old laptop is refused, told it was replaced.
Several communes on one hub, the log growing in between; over real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from central_hub.models import Alert, NodeKey
from central_hub.services import replacement
from commune_node import db
from commune_node.models import Alarm, Dossier, Event
from commune_node.services.enrolment import enrol
from commune_node.services.hublink import SyncRefused
from commune_node.services.identity import get_setting
from commune_node.transport import HttpTransport
from commune_node.web.context import node_identity
from tests.node.conftest import Node, make_node
from tests.sync.conftest import Site, sync
from tests.sync.helpers import hub_records, take_in

A, B = "000.00.12.H26", "000.00.13.H26"


def _node_id(node: Node) -> str:
    with db.read_session(node.app) as s:
        return str(get_setting(s, "node_id"))


def _new_laptop(site: Site, name: str, code: str, *, before: int = 0) -> Node:
    """A new laptop set up and enrolled with ``code`` (after taking ``before`` dossiers)."""
    n = make_node(site.tmp / name, site.clock, agency=A)
    for _ in range(before):
        take_in(n)
    url = site.url
    n.app.config["SYNC_TRANSPORT"] = lambda: HttpTransport(url, read_timeout=30)
    with n.app.app_context():
        enrol(
            db.database(n.app),
            identity=node_identity(),
            transport=HttpTransport(url),
            hub_url=url,
            code=code,
        )
    return n


def test_a_new_laptop_continues_the_commune(site: Site) -> None:
    u1, u2 = site.node("u1", A), site.node("u2", B, "Xã Đăk Long")
    codes = [take_in(u1), take_in(u1)]
    sync(u1)
    take_in(u2)
    sync(u2)
    codes.append(take_in(u1, name="Trần Thị Lan"))
    sync(u1)
    take_in(u2)
    sync(u2)
    commune = _node_id(u1)
    with site.hub.db.write() as s:
        done = replacement.replace(
            s, hub=site.hub.identity, node_id=commune, reason="laptop stolen", clock=site.clock
        )
    assert done.last_valid_seq == 3 and done.revoked == [commune]

    new = _new_laptop(site, "u1-new", done.code)
    assert _node_id(new) == commune  # the commune's node, with the new laptop's key
    early = take_in(new)  # before the first sync: numbered apart
    assert early.endswith("-5001")
    sync(new)
    with db.read_session(new.app) as s:
        have = {d.code for d in s.scalars(select(Dossier))}
        events = [e.record_id for e in s.scalars(select(Event).order_by(Event.seq))]
        alarms = [a.kind for a in s.scalars(select(Alarm))]
    assert have == set(codes) | {early}
    assert events == [r.record_id for r in hub_records(site.hub, commune)]
    assert "node_restored" in alarms and "key_revoked" not in alarms
    nxt = take_in(new)
    assert nxt.endswith("-0004")  # the counter goes on where the hub's copy ends
    assert sync(new).acked_seq == 5

    with pytest.raises(SyncRefused) as refused:
        sync(u1)  # the old laptop comes back
    assert refused.value.code == "node_replaced"
    with site.hub.db.read() as s:
        new_key = s.scalars(
            select(NodeKey.key_id).where(NodeKey.node_id == commune, NodeKey.first_seq == 4)
        ).one()
        kinds = {a.kind for a in s.scalars(select(Alert))}
    assert new_key in refused.value.en
    with db.read_session(u1.app) as s:
        assert "node_replaced" in [a.kind for a in s.scalars(select(Alarm))]
    assert {"node_retired", "node_replaced", "replaced_laptop_used"} <= kinds
    sync(u2)


def test_node_replace_command(site: Site) -> None:
    u1 = site.node("u1", A)
    take_in(u1)
    sync(u1)
    commune = _node_id(u1)
    env = {}
    url = site.hub.db.engine.url
    if url.get_backend_name() != "sqlite":
        env["CENTRAL_HUB_DATABASE_URL"] = url.render_as_string(hide_password=False)
    from central_hub.cli import main

    result = CliRunner().invoke(
        main,
        [
            "--instance",
            str(Path(site.hub.app.instance_path)),
            "node",
            "replace",
            "--node",
            commune,
            "--reason",
            "laptop burnt",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "1 key(s) revoked after record 1" in result.output
    code = result.output.strip().rsplit(" ", 1)[-1]
    new = _new_laptop(site, "u1-new", code)
    sync(new)
    with db.read_session(new.app) as s:
        assert s.scalar(select(Dossier.code)) is not None


def test_an_auditor_finds_the_replaced_laptops_chain_whole(site: Site) -> None:
    """The new laptop's key is backed by the hub's signed ``key.replaced`` record: the
    auditor's bundle of the commune verifies with no finding."""
    import io

    from central_hub.services import export
    from common import keys, protocol
    from common.audit.verifier import verify_bundle

    u1 = site.node("u1", A)
    take_in(u1)
    sync(u1)
    commune = _node_id(u1)
    with site.hub.db.write() as s:
        done = replacement.replace(
            s, hub=site.hub.identity, node_id=commune, reason="laptop burnt", clock=site.clock
        )
    new = _new_laptop(site, "u1-new", done.code)
    sync(new)
    take_in(new)
    sync(new)
    with db.read_session(new.app) as s:
        witnessed = protocol.unb64(get_setting(s, "anchor_checkpoint"), "checkpoint")
    out = io.BytesIO()
    with site.hub.db.read() as s:
        export.export_bundle(s, out, hub=site.hub.identity, communes=None, since=None,
                             until=None)  # fmt: skip
    report = verify_bundle(
        out.getvalue().splitlines(),
        trusted_checkpoint=witnessed,
        hub_public_key=keys.public_bytes(site.hub.identity.key),
    )
    assert report.ok, (report.by_class, [f.message for f in report.findings])


def test_a_new_laptop_for_a_commune_that_never_synced(site: Site) -> None:
    """The hub holds nothing of the commune; the new laptop took a dossier before its first
    sync (signed under its own id then): it is signed again as the commune's node."""
    u1 = site.node("u1", A)
    commune = _node_id(u1)
    with site.hub.db.write() as s:
        done = replacement.replace(
            s, hub=site.hub.identity, node_id=commune, reason="laptop lost", clock=site.clock
        )
    assert done.revoked == [commune] and done.last_valid_seq == 0
    new = _new_laptop(site, "u1-new", done.code, before=1)
    with db.read_session(new.app) as s:
        (early,) = s.scalars(select(Dossier.code)).all()
    assert sync(new).acked_seq == 1
    assert [r.dossier_code for r in hub_records(site.hub, commune)] == [early]
