"""Form 06 "Chuyển xử lý" names its recipient: the slip shows giver and receiver, the
recipient finds the dossier under "Waiting for me" on the dashboard, and the dossier page
puts the likely next step first and the destructive ones last, in red, to be confirmed."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.node.conftest import Node
from tests.node.desk import act, login, logout, take_in, text


def _action_order(html: str) -> list[str]:
    return re.findall(r'id="action-([a-z_]+)"', html)


def test_the_recipient_finds_the_dossier_waiting_and_the_slip_names_both(
    node: Node, client: FlaskClient
) -> None:
    login(client, "receiver")
    code = take_in(client)
    page = text(client.get(f"/dossiers/{code}"))
    order = _action_order(page)
    assert order[0] == "processing"  # the likely next step of an accepted dossier
    assert order[-1] in ("stopped", "withdrawn") and order.index("withdrawn") > 0
    assert 'class=" danger" id="action-withdrawn"' in page
    assert re.search(r'id="action-withdrawn".*?name="confirm" value="yes" required', page, re.S)
    assert '<option value="minh.tran" selected>Trần Văn Minh' in page

    r = act(client, code, "processing", recipient="nobody.here")
    assert r.status_code == 422 and "Người nhận" in text(r)
    assert act(client, code, "processing", recipient="minh.tran").status_code == 302
    page = text(client.get(f"/dossiers/{code}"))
    assert re.search(r'id="holder">Trần Văn Minh<', page)
    home = text(client.get("/"))
    assert f'data-code="{code}"' not in home  # handed on: not waiting for the receiver

    slip = text(client.get(f"/print/06/{code}"))
    row = re.search(r"Chuyển xử lý.*?</tr>", slip, re.S)
    assert row is not None
    assert "Lê Thị Hoa" in row.group(0) and "Trần Văn Minh" in row.group(0)
    logout(client)

    login(client, "leader")
    home = text(client.get("/"))
    assert re.search(r'id="waiting-for-me".*?data-code="' + re.escape(code), home, re.S)
    page = text(client.get(f"/dossiers/{code}"))
    assert _action_order(page)[0] == "resolved"
    assert _action_order(page)[-1] in ("stopped", "withdrawn")
    assert act(client, code, "resolved", result="Đã cấp giấy").status_code == 302
    assert f'data-code="{code}"' not in text(client.get("/"))


def test_the_api_names_a_recipient_too(node: Node, client: FlaskClient) -> None:
    login(client, "receiver")
    code = take_in(client)
    r = node.api(client, "POST", f"/dossiers/{code}/actions/processing",
                 json={"recipient": "admin"})  # fmt: skip
    assert r.status_code == 422  # the administrator does not process dossiers
    r = node.api(client, "POST", f"/dossiers/{code}/actions/processing",
                 json={"recipient": "minh.tran"})  # fmt: skip
    assert r.status_code == 200, r.json
    logout(client)
    login(client, "leader")
    assert f'data-code="{code}"' in text(client.get("/"))
