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
