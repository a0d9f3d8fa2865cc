"""Hub user accounts managed by the administrator on the "Accounts" page and by
``central-hub user``: deactivation ends the user's sessions at once; a reset password
replaces the old one; each action needs its confirmation box."""

from __future__ import annotations

from click.testing import CliRunner

from central_hub.cli import main
from tests.hub.fixtures import HUB_PASSWORD, Hub
from tests.hub.test_pages import ADMIN, OFFICER, Person

NEW_PASSWORD = "another good password"


def _can_log_in(hub: Hub, username: str, password: str) -> bool:
    r = Person(hub.app).login(username, password)
    return r.status_code == 302 and not r.headers["Location"].startswith("/login")


def test_the_administrator_deactivates_and_reactivates_a_hub_user(hub: Hub) -> None:
    admin, officer = Person(hub.app, ADMIN), Person(hub.app, OFFICER)
    assert officer.get("/queue").status_code == 200
    page = admin.get("/users")
    assert page.status_code == 200 and 'data-user="lan.pham"' in page.text
    assert "Tài khoản" in admin.get("/").text  # in the menu

    r = admin.post("/users/lan.pham/deactivate")  # the box is not ticked
    assert r.status_code == 422 and "xác nhận" in r.text
    assert officer.get("/queue").status_code == 200

    r = admin.post("/users/lan.pham/deactivate", {"confirm": "yes"})
    assert r.status_code == 302
    gone = officer.get("/queue")
    assert gone.status_code == 302 and gone.headers["Location"].startswith("/login")
    assert not _can_log_in(hub, "lan.pham", HUB_PASSWORD)

    assert admin.post("/users/lan.pham/activate", {"confirm": "yes"}).status_code == 302
    assert _can_log_in(hub, "lan.pham", HUB_PASSWORD)
    # The administrator's own account stays: no locking oneself out.
    assert admin.post("/users/admin/deactivate", {"confirm": "yes"}).status_code == 422
    officer = Person(hub.app, OFFICER)
    assert officer.post("/users/admin/deactivate", {"confirm": "yes"}).status_code == 403


def test_the_administrator_resets_a_password(hub: Hub) -> None:
    admin = Person(hub.app, ADMIN)
    r = admin.post("/users/lan.pham/reset-password",
                   {"confirm": "yes", "new_password": "short", "confirm_password": "short"})  # fmt: skip
    assert r.status_code == 422
    r = admin.post("/users/lan.pham/reset-password",
                   {"confirm": "yes", "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})  # fmt: skip
    assert r.status_code == 302
    assert not _can_log_in(hub, "lan.pham", HUB_PASSWORD)
    assert _can_log_in(hub, "lan.pham", NEW_PASSWORD)


def test_the_cli_deactivates_and_activates_a_hub_user(hub: Hub) -> None:
    runner = CliRunner()
    args = ["--instance", hub.app.instance_path]
    if hub.app.config.get("DATABASE_URL"):
        return  # the CLI reads the instance's own settings; the SQLite hub shows it
    r = runner.invoke(main, [*args, "user", "deactivate", "lan.pham"])
    assert r.exit_code == 0, r.output
    assert not _can_log_in(hub, "lan.pham", HUB_PASSWORD)
    r = runner.invoke(main, [*args, "user", "activate", "lan.pham"])
    assert r.exit_code == 0, r.output
    assert _can_log_in(hub, "lan.pham", HUB_PASSWORD)


def _user_count(hub: Hub) -> int:
    from sqlalchemy import func, select

    from central_hub.models import HubUser
    from central_hub.web.context import database

    with hub.app.app_context(), database().read() as session:
        return int(session.scalar(select(func.count()).select_from(HubUser)) or 0)


def test_the_administrator_adds_a_hub_user_from_the_page(hub: Hub) -> None:
    admin = Person(hub.app, ADMIN)
    page = admin.get("/users")
    assert 'id="add-user"' in page.text and 'name="roles" value="auditor"' in page.text
    r = admin.post("/users", {"username": "Mai.Tran", "full_name": " Trần Thị Mai ",
                              "roles": "auditor", "password": NEW_PASSWORD})  # fmt: skip
    assert r.status_code == 302
    assert "mai.tran" in admin.get("/users").text  # stored in lower case
    assert _can_log_in(hub, "mai.tran", NEW_PASSWORD)
    auditor = Person(hub.app)
    auditor.login("mai.tran", NEW_PASSWORD)
    assert auditor.get("/users").status_code == 403  # the role given, no more


def test_adding_a_hub_user_names_each_bad_field_and_stores_nothing(hub: Hub) -> None:
    admin = Person(hub.app, ADMIN)
    before = _user_count(hub)
    cases = [
        ({"username": "lan.pham", "full_name": "X", "roles": "auditor"}, "Tên đăng nhập đã có"),
        ({"username": "a b", "full_name": "X", "roles": "auditor"}, "Tên đăng nhập gồm"),
        ({"username": "new.one", "full_name": "X"}, "Vai trò phải là"),
        ({"username": "new.one", "full_name": "X", "roles": "root"}, "Vai trò phải là"),
        ({"username": "new.one", "full_name": "  ", "roles": "auditor"}, "Cần họ tên"),
        ({"username": "new.one", "full_name": "X" * 101, "roles": "auditor"}, "Tối đa 100"),
    ]
    for form, message in cases:
        r = admin.post("/users", {"password": NEW_PASSWORD, **form})
        assert r.status_code == 422, form
        assert message in r.text, (form, message)
        assert 'value="new.one"' in r.text or form["username"] != "new.one"  # kept for a retry
    r = admin.post("/users", {"username": "new.one", "full_name": "X", "roles": "auditor",
                              "password": "short"})  # fmt: skip
    assert r.status_code == 422 and NEW_PASSWORD not in r.text
    assert _user_count(hub) == before
    officer = Person(hub.app, OFFICER)
    r = officer.post("/users", {"username": "x.y", "full_name": "X", "roles": "administrator",
                                "password": NEW_PASSWORD})  # fmt: skip
    assert r.status_code == 403 and _user_count(hub) == before
