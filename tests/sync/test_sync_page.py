"""What the desk shows about sync: never "synced" without a receipt; errors in plain words."""

from __future__ import annotations

from commune_node.transport import HttpTransport
from tests.node.desk import csrf, login
from tests.sync.conftest import Site, sync
from tests.sync.helpers import take_in


def test_sync_page_tells_the_truth(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    client = a.app.test_client()
    login(client, "receiver")
    take_in(a)
    take_in(a)
    a.app.config["SYNC_TRANSPORT"] = lambda: HttpTransport("http://127.0.0.1:9", connect_timeout=1)
    page = client.get("/sync/").get_data(as_text=True)
    assert 'data-waiting="2"' in page and 'data-acked="0"' in page
    r = client.post("/sync/now", data={"csrf_token": csrf(page)}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "Không kết nối được tới máy chủ cấp trên" in page  # no link, in plain words
    assert 'data-error-code="no_link"' in page
    assert 'data-acked="0"' in page and "Chưa kết nối" in page
    a.app.config["SYNC_TRANSPORT"] = lambda: HttpTransport(site.url)
    r = client.post("/sync/now", data={"csrf_token": csrf(page)}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "Đồng bộ xong" in page
    assert 'data-waiting="0"' in page and 'data-acked="2"' in page and "Đã kết nối" in page
    assert "data-error-code" not in page


def test_quarantine_is_explained(site: Site) -> None:
    from sqlalchemy import select

    from central_hub.models import Node as HubNode

    a = site.node("a", "000.00.12.H26")
    take_in(a)
    sync(a)
    with site.hub.db.write() as s:
        s.scalars(select(HubNode)).one().state = "quarantined"
    take_in(a)
    client = a.app.test_client()
    login(client, "leader")
    page = client.get("/sync/").get_data(as_text=True)
    r = client.post("/sync/now", data={"csrf_token": csrf(page)}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "tạm dừng nhận dữ liệu" in page and 'data-error-code="node_quarantined"' in page
    assert 'data-acked="1"' in page and 'data-waiting="1"' in page


def test_sync_page_needs_login_and_csrf(site: Site) -> None:
    a = site.node("a", "000.00.12.H26")
    client = a.app.test_client()
    assert client.get("/sync/").status_code == 302
    login(client, "receiver")
    assert client.post("/sync/now").status_code == 400


def test_dossier_page_marks_only_receipted_events_as_confirmed(site: Site) -> None:
    from tests.sync.helpers import CRIMINAL_RECORD, act

    a = site.node("a", "000.00.12.H26")
    client = a.app.test_client()
    login(client, "receiver")
    code = take_in(a, procedure=CRIMINAL_RECORD)
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert 'data-synced="0"' in page and 'data-synced="1"' not in page
    act(a, code, "forwarded")
    sync(a)
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert page.count('data-synced="1"') == 2 and 'data-synced="0"' not in page
    from central_hub.services import processing
    from common.calendar import WorkingCalendar

    with site.hub.db.write() as s:
        processing.act(
            s,
            code,
            "processing",
            {},
            hub=site.hub.identity,
            clock=site.clock,
            actor="lan.pham",
            calendar=WorkingCalendar(),
        )
    sync(a)
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert "từ cấp trên" in page  # the hub's record is in the dossier's timeline


def test_sync_page_shows_the_hub_key_and_its_fingerprint(site: Site) -> None:
    from common import keys

    a = site.node("a", "000.00.12.H26")
    client = a.app.test_client()
    login(client, "leader")
    page = client.get("/sync/").get_data(as_text=True)
    public = keys.public_bytes(site.hub.identity.key)
    assert f'data-hub-key="{public.hex()}"' in page
    assert keys.fingerprint(public) in page
