"""Failure paths of the portal outbox: a content refusal goes to the dead letters with the
portal's answer and is resent from the administrator's page; no endpoint means the outbox
holds; a message with a problem is an alert, never sent; an expired token is renewed;
back-fill goes through the same outbox."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from central_hub import portal_sender
from central_hub.cli import main as hub_cli
from central_hub.models import Alert
from central_hub.portal_models import DELIVERED, QUEUED, REFUSED
from central_hub.services import identity as identity_service
from central_hub.services import portal_outbox
from tests.hub.test_pages import Person
from tests.portal import conformance
from tests.portal.test_delivery import outbox, portal_config, set_hub_agency
from tests.sync.conftest import Site, sync
from tests.sync.helpers import CRIMINAL_RECORD, act, take_in


def drain(site: Site, rounds: int = 5) -> None:
    for _ in range(rounds):
        portal_sender.send_round(site.hub.app)


def test_refused_message_is_a_dead_letter_then_resent_after_fixing(site: Site) -> None:
    set_hub_agency(site)
    node = site.node("a", "000.00.12.H26")
    code = take_in(node)
    site.clock.advance(minutes=1)
    act(node, code, "processing")
    sync(node)
    first, second = outbox(site)
    with conformance.serve(refuse_keys={first.delivery_key}) as portal:
        site.hub.app.config.update(portal_config(portal))
        drain(site)
        refused, delivered = outbox(site)
        assert refused.state == REFUSED and "MaTTHC" in (refused.last_error or "")
        assert "400" in (refused.last_error or "")
        assert delivered.state == DELIVERED  # a dead letter does not hold the dossier back
        admin = Person(site.hub.app, "administrator")
        page = admin.get("/portal").text
        assert f'data-message="{refused.id}"' in page and "procedure not published" in page
        assert admin.get(f"/dossiers/{code}").text.count('data-state="refused"') == 1
        auditor = Person(site.hub.app, "auditor")
        assert "Resend after fixing" not in auditor.get("/portal").text
        assert auditor.post(f"/portal/messages/{refused.id}/resend").status_code == 403
        assert admin.client.post(f"/portal/messages/{refused.id}/resend").status_code == 400
        portal.refuse_keys.clear()  # the province published the procedure on the portal
        r = admin.post(f"/portal/messages/{refused.id}/resend")
        assert r.status_code == 303
        assert outbox(site)[0].state == QUEUED
        drain(site)
        assert [m.state for m in outbox(site)] == [DELIVERED, DELIVERED]
        assert portal.order[code] == [second.delivery_key, first.delivery_key]


def test_no_endpoint_holds_every_message_and_the_pages_say_so(site: Site) -> None:
    node = site.node("a", "000.00.12.H26")
    code = take_in(node)
    sync(node)
    assert portal_sender.send_round(site.hub.app) == 0
    assert [m.state for m in outbox(site)] == [QUEUED]
    admin = Person(site.hub.app, "administrator")
    assert 'id="portal-held"' in admin.get("/portal").text
    health = admin.get("/nodes").text
    assert "no PORTAL_URL: messages are held" in health and "1 queued" in health
    page = admin.get(f"/dossiers/{code}").text
    assert 'data-state="queued"' in page
    changed = outbox(site)[0].body["NgayCapNhat"]  # shown as a person reads a time
    shown = f"{changed[8:10]}:{changed[10:12]} {changed[6:8]}/{changed[4:6]}/{changed[0:4]}"
    assert shown in page


def test_a_message_with_a_problem_is_an_alert_not_queued(site: Site) -> None:
    node = site.node("a", "000.00.12.H26")  # the hub's own agency code is not set
    code = take_in(node, CRIMINAL_RECORD)
    site.clock.advance(minutes=1)
    act(node, code, "forwarded")
    sync(node)
    assert [m.status_code for m in outbox(site)] == [2]  # the forward is not queued
    with site.hub.db.read() as s:
        alerts = list(s.scalars(select(Alert).where(Alert.kind == "portal_message")))
    assert len(alerts) == 1 and "DonViXuLy" in alerts[0].message and code in alerts[0].message
    other = take_in(node, CRIMINAL_RECORD)  # the same cause again: counted, not a new row
    site.clock.advance(minutes=1)
    act(node, other, "forwarded")
    sync(node)
    with site.hub.db.read() as s:
        alerts = list(s.scalars(select(Alert).where(Alert.kind == "portal_message")))
    assert len(alerts) == 1 and alerts[0].count == 2
    set_hub_agency(site)
    result = CliRunner().invoke(
        hub_cli,
        ["--instance", site.hub.app.instance_path, "portal", "resync", "--since", "2026-11-01"],
        obj={"app": site.hub.app},
    )
    assert result.exit_code == 0, result.output
    assert "Queued 2 message" in result.output
    resent = outbox(site)[-1]
    assert resent.origin == "resync" and resent.body["DonViXuLy"] == "000.00.00.H26"
    assert resent.body["HinhThuc"] == 1


def test_an_expired_token_is_renewed_and_api_key_is_sent(site: Site) -> None:
    set_hub_agency(site)
    node = site.node("a", "000.00.12.H26")
    take_in(node)
    take_in(node)
    sync(node)
    with conformance.serve(script=["expired"]) as portal:
        site.hub.app.config.update(portal_config(portal))
        drain(site)
        assert {m.state for m in outbox(site)} == {DELIVERED}
        assert len(portal.received) == 2 and portal.refused == []
    with site.hub.db.write() as s:
        identity_service.set_setting(s, portal_outbox.AGENCY_SETTING, "000.00.00.H26")
    with conformance.serve(api_key="k-123") as portal:
        site.hub.app.extensions.pop("portal_client")
        site.hub.app.config.update(PORTAL_URL=portal.url, PORTAL_AUTH="api_key",
                                   PORTAL_API_KEY="k-123")  # fmt: skip
        take_in(node)
        sync(node)
        drain(site)
        assert len(portal.entries) == 1


def test_a_hub_officers_action_queues_its_message_in_the_same_transaction(site: Site) -> None:
    set_hub_agency(site)
    node = site.node("a", "000.00.12.H26")
    code = take_in(node, CRIMINAL_RECORD)
    site.clock.advance(minutes=1)
    act(node, code, "forwarded")
    sync(node)
    site.clock.advance(minutes=1)
    officer = Person(site.hub.app, "hub_officer")
    assert officer.post(f"/dossiers/{code}/actions/processing").status_code == 302
    rows = outbox(site)
    assert [(m.status_code, m.body["DonViXuLy"], m.body["HinhThuc"]) for m in rows] == [
        (2, "000.00.12.H26", 0),
        (2, "000.00.00.H26", 1),  # forwarded: the hub handles it now
        (4, "000.00.00.H26", 1),
    ]
    # the outbox keeps the applicant's name and ID number encrypted until they are sent
    assert "Nguyễn Văn Đức" not in str(rows[-1].body) and "062095001234" not in str(rows[-1].body)
    sent = portal_outbox.open_body(rows[-1].body)
    assert sent["ChuHoSo"] == "Nguyễn Văn Đức"
    assert sent["MaDoiTuong"] == "062095001234"
    with conformance.serve() as portal:
        site.hub.app.config.update(portal_config(portal))
        drain(site)
        assert portal.statuses(code) == [2, 2, 4]
    assert {(m.body["ChuHoSo"], m.body["MaDoiTuong"]) for m in outbox(site)} == {("", "")}
