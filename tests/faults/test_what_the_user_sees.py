"""What the desk's sync page (``/sync/``) says under each fault: what is wrong, in plain
words, and what to do — and it never says "synced" for a record the hub has not receipted.
(No link with a receipt lost: ``test_link_faults``; quarantine: ``tests/sync``.)"""

from __future__ import annotations

import json
from datetime import timedelta

from flask.testing import FlaskClient

from central_hub.services import nodes as hub_nodes
from commune_node import db as node_db
from commune_node.services.identity import set_setting
from tests.faults.conftest import ProxyFactory
from tests.faults.test_link_faults import linked, node_id
from tests.node.conftest import Node
from tests.node.desk import csrf, login
from tests.support import MovableClock
from tests.sync.conftest import Site, sync
from tests.sync.helpers import take_in


def sync_now(n: Node) -> tuple[FlaskClient, str]:
    client = n.app.test_client()
    login(client, "receiver")
    page = client.get("/sync/").get_data(as_text=True)
    r = client.post("/sync/now", data={"csrf_token": csrf(page)}, follow_redirects=True)
    assert r.status_code == 200
    return client, r.get_data(as_text=True)


def test_no_link_says_records_are_safe_and_nothing_to_do(
    site: Site, fault_proxy: ProxyFactory
) -> None:
    n, link = linked(site, fault_proxy, "a", "000.00.12.H26")
    take_in(n)
    link.set_down()
    _, page = sync_now(n)
    assert 'data-error-code="no_link"' in page
    assert "Không kết nối được tới máy chủ cấp trên" in page and "không cần làm gì thêm" in page
    assert 'data-acked="0"' in page and 'data-waiting="1"' in page and "Chưa kết nối" in page


def test_key_revoked_says_ask_for_a_new_enrolment(site: Site) -> None:
    n = site.node("a", "000.00.12.H26")
    take_in(n)
    sync(n)
    with site.hub.db.write() as s:
        hub_nodes.revoke_key(s, node_id=node_id(n), key_id=node_id(n), last_valid_seq=1,
                             reason="máy bị mất", clock=site.clock)  # fmt: skip
    take_in(n)
    _, page = sync_now(n)
    assert 'data-error-code="key_revoked"' in page
    assert "Cấp trên đã thu hồi khoá của máy này" in page and "đăng ký lại" in page
    assert 'data-acked="1"' in page and 'data-waiting="1"' in page


def test_clock_far_off_is_corrected_and_shown(site: Site) -> None:
    n = site.node("a", "000.00.12.H26")
    # the desk's computer thinks it is three days later than the hub
    n.app.extensions["clock"] = MovableClock(site.clock() + timedelta(days=3))
    take_in(n)
    _, page = sync_now(n)
    assert 'data-acked="1"' in page  # the node learnt the hub's time and synced
    offset = -int(timedelta(days=3).total_seconds())
    assert f"lệch {offset} giây so với cấp trên; hãy chỉnh ngày giờ" in page


def test_clock_refused_even_after_correction_says_set_the_clock(site: Site) -> None:
    n = site.node("a", "000.00.12.H26")
    with node_db.write_session(n.app) as s:
        set_setting(s, "last_error", json.dumps({"code": "stale_timestamp", "en": "x", "vi": "x"}))
    client = n.app.test_client()
    login(client, "receiver")
    page = client.get("/sync/").get_data(as_text=True)
    assert 'data-error-code="stale_timestamp"' in page
    assert "Đồng hồ của máy lệch quá xa" in page and "Hãy chỉnh lại ngày giờ" in page


def test_any_other_refusal_names_it_and_says_what_to_do(site: Site) -> None:
    n = site.node("a", "000.00.12.H26")
    for code, words in (
        ("replayed", "this request was already received"),
        ("bad_proof", "khôi phục dữ liệu cũ"),
        ("fork", "hai bản ghi khác nhau"),
        ("unknown_key", "không nhận ra khoá"),
    ):
        with node_db.write_session(n.app) as s:
            error = {"code": code, "en": words, "vi": words}
            set_setting(s, "last_error", json.dumps(error))
        client = n.app.test_client()
        login(client, "receiver")
        page = client.get("/sync/").get_data(as_text=True)
        assert f'data-error-code="{code}"' in page and words in page, code
        assert "quản trị viên cấp trên" in page, code  # who to turn to
