"""Officer accounts managed by the desk's administrator: deactivation stops the officer's
sessions and API tokens at once, a reset password replaces the old one, and every action
needs its confirmation box and its CSRF token."""

from __future__ import annotations

from click.testing import CliRunner
from flask.testing import FlaskClient

from commune_node.cli import main
from tests.node.conftest import OFFICERS, PASSWORD, Node
from tests.node.desk import csrf, login, text

NEW_PASSWORD = "a brand new password"


def _manage(admin: FlaskClient, username: str, action: str, **form: str) -> object:
    token = csrf(admin.get("/admin/officers").get_data(as_text=True))
    return admin.post(f"/admin/officers/{username}/{action}", data={"csrf_token": token, **form})


def _login_works(node: Node, role: str, password: str) -> bool:
    client = node.app.test_client()
    token = csrf(client.get("/login").get_data(as_text=True))
    r = client.post(
        "/login",
        data={"username": OFFICERS[role][0], "password": password, "csrf_token": token},
    )
    return r.status_code == 302


def test_deactivating_an_officer_ends_their_session_and_token_at_once(node: Node) -> None:
    admin, receiver = node.app.test_client(), node.app.test_client()
    login(admin, "admin")
    login(receiver, "receiver")
    assert receiver.get("/dossiers").status_code == 200
    assert node.api(receiver, "GET", "/dossiers").status_code == 200

    # Without the confirmation box nothing happens.
    r = _manage(admin, "hoa.le", "deactivate")
    assert r.status_code == 422
    assert "xác nhận" in text(r)
    assert receiver.get("/dossiers").status_code == 200

    r = _manage(admin, "hoa.le", "deactivate", confirm="yes")
    assert r.status_code == 302
    assert "1 phiên" in admin.get("/admin/officers").get_data(as_text=True)
    page = receiver.get("/dossiers")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    assert node.api(receiver, "GET", "/dossiers").status_code == 401
    assert not _login_works(node, "receiver", PASSWORD)

    r = _manage(admin, "hoa.le", "activate", confirm="yes")
    assert r.status_code == 302
    assert _login_works(node, "receiver", PASSWORD)
    assert node.api(receiver, "GET", "/dossiers").status_code == 200


def test_an_administrator_cannot_deactivate_their_own_account(node: Node) -> None:
    admin = node.app.test_client()
    login(admin, "admin")
    r = _manage(admin, "admin", "deactivate", confirm="yes")
    assert r.status_code == 422
    assert admin.get("/admin/officers").status_code == 200


def test_a_reset_password_replaces_the_old_one_and_ends_sessions(node: Node) -> None:
    admin, leader = node.app.test_client(), node.app.test_client()
    login(admin, "admin")
    login(leader, "leader")
    r = _manage(admin, "minh.tran", "reset-password", confirm="yes",
                new_password=NEW_PASSWORD, confirm_password="something else entirely")  # fmt: skip
    assert r.status_code == 422
    assert _login_works(node, "leader", PASSWORD)
    r = _manage(admin, "minh.tran", "reset-password", confirm="yes",
                new_password=NEW_PASSWORD, confirm_password=NEW_PASSWORD)  # fmt: skip
    assert r.status_code == 302
    assert leader.get("/").status_code == 302
    assert not _login_works(node, "leader", PASSWORD)
    assert _login_works(node, "leader", NEW_PASSWORD)


def test_only_an_administrator_manages_accounts_and_the_form_needs_its_token(
    node: Node,
) -> None:
    leader = node.app.test_client()
    login(leader, "leader")
    token = csrf(leader.get("/").get_data(as_text=True))
    r = leader.post(
        "/admin/officers/hoa.le/deactivate", data={"csrf_token": token, "confirm": "yes"}
    )
    assert r.status_code == 403
    admin = node.app.test_client()
    login(admin, "admin")
    r = admin.post("/admin/officers/hoa.le/deactivate", data={"confirm": "yes"})
    assert r.status_code == 400
    assert _login_works(node, "receiver", PASSWORD)


def test_the_cli_deactivates_and_activates_an_officer(node: Node) -> None:
    runner = CliRunner()
    args = ["--instance", node.app.instance_path]
    r = runner.invoke(main, [*args, "officer", "deactivate", "hoa.le"])
    assert r.exit_code == 0, r.output
    assert not _login_works(node, "receiver", PASSWORD)
    r = runner.invoke(main, [*args, "officer", "activate", "hoa.le"])
    assert r.exit_code == 0, r.output
    assert _login_works(node, "receiver", PASSWORD)
    r = runner.invoke(main, [*args, "officer", "activate", "nobody.here"])
    assert r.exit_code != 0 and "no officer named" in r.output
