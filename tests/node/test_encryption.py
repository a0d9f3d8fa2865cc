"""Encryption at rest: a commune laptop's database and private keys are encrypted under a data
key that only an officer's password or the recovery secret unwraps. A stolen, powered-off
instance folder holds none of a citizen's name, ID number or phone; after unlocking, the
product finds them."""

from __future__ import annotations

import re
import sqlite3
import tarfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask

from common_io import cipher, keyfile
from commune_node import create_app, db, vault
from commune_node.cli import main
from commune_node.services import officers
from tests.node.conftest import AGENCY, PASSWORD, Node, make_node
from tests.node.desk import csrf
from tests.support import MovableClock

NAME = "Hoàng Thị Bí Mật"
ID_NUMBER = "079301998877"
PHONE = "0987654321"
SECRETS = [NAME.encode(), ID_NUMBER.encode(), PHONE.encode()]
ADMIN_PW = "admin password 1"


def cli(instance: Path, *args: str, unlock: str | None = None, stdin: str | None = None) -> Result:
    env = {vault.UNLOCK_ENV: unlock} if unlock else {}
    return CliRunner().invoke(
        main, ["--instance", str(instance), *args], env=env, input=stdin, catch_exceptions=False
    )


def init(instance: Path) -> str:
    """``commune-node init``; returns the recovery secret it printed."""
    done = cli(
        instance, "init", "--commune", "Xã Đăk Pxi", "--agency-code", AGENCY,
        "--admin-password", ADMIN_PW,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    found = re.findall(r"[A-Z2-7]{4}(?:-[A-Z2-7]{4}){7}", done.output)
    assert len(found) == 1, done.output
    return found[0]


def open_app(instance: Path, clock: MovableClock) -> Flask:
    return create_app(
        {"TESTING": True, "SECRET_KEY": "test", "CLOCK": clock}, instance_path=str(instance)
    )


def add_receiver(instance: Path) -> str:
    """A receiver (through the CLI, unlocked by the admin) and an API token of theirs."""
    done = cli(
        instance, "officer", "add", "hoa.le", "--name", "Lê Thị Hoa", "--role", "receiver",
        "--password", PASSWORD, unlock=f"admin:{ADMIN_PW}",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    token = cli(instance, "officer", "token", "hoa.le", unlock=f"admin:{ADMIN_PW}")
    assert token.exit_code == 0, token.output
    return token.output.strip()


def take_in(app: Flask, token: str) -> Any:
    form = {
        "procedure": "1.004873.000.00.00.H38",
        "applicant_name": NAME,
        "id_number": ID_NUMBER,
        "phone": PHONE,
        "address": "thôn 3, xã Đăk Pxi",
        "documents": {"to_khai": {"original": 1}},
    }
    return app.test_client().post(
        "/api/v1/dossiers", json=form, headers={"Authorization": f"Bearer {token}"}
    )


def grep_instance(instance: Path) -> dict[str, list[bytes]]:
    """Every file of the instance folder (WAL included) in which a secret appears."""
    hits = {}
    for path in instance.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found = [s for s in SECRETS if s in data]
            if found:
                hits[path.name] = found
    return hits


def login(app: Flask, username: str, password: str) -> Any:
    client = app.test_client()
    token = csrf(client.get("/login").get_data(as_text=True))
    form = {"username": username, "password": password, "csrf_token": token}
    return client, client.post("/login", data=form)


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    return tmp_path / "instance"


def test_a_stolen_instance_folder_reveals_no_citizen_and_the_unlocked_desk_finds_them(
    instance: Path, clock: MovableClock
) -> None:
    init(instance)
    token = add_receiver(instance)
    app = open_app(instance, clock)
    client, r = login(app, "admin", ADMIN_PW)
    assert r.status_code == 302
    r = take_in(app, token)
    assert r.status_code == 201, r.json
    code = r.json["dossier"]["code"]

    # while the desk runs, its WAL holds the last writes: none of it readable
    assert (instance / "node.sqlite3-wal").exists()
    assert grep_instance(instance) == {}
    db.database(app).engine.dispose()
    assert grep_instance(instance) == {}
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(instance / "node.sqlite3").execute("SELECT * FROM sqlite_master").all()
    for pem in instance.glob("node_key*.pem"):
        assert pem.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert b"PRIVATE KEY" not in (instance / "vault.json").read_bytes()

    # a fresh start: locked until a log-in, then the product finds the citizen
    again = open_app(instance, clock)
    assert vault.desk_key(again).locked
    client, r = login(again, "hoa.le", PASSWORD)
    assert r.status_code == 302
    found = client.get(f"/dossiers/{code}")
    assert found.status_code == 200
    assert NAME in found.get_data(as_text=True)
    listed = again.test_client().get(
        "/api/v1/dossiers", query_string={"q": ID_NUMBER},
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    assert [d["code"] for d in listed.json["dossiers"]] == [code]
    db.database(again).engine.dispose()


def test_a_locked_desk_refuses_pages_intake_and_wrong_passwords(
    instance: Path, clock: MovableClock
) -> None:
    init(instance)
    token = add_receiver(instance)
    app = open_app(instance, clock)
    client = app.test_client()

    page = client.get("/")
    assert page.status_code == 503
    assert "Locked — log in to unlock" in page.get_data(as_text=True) or (
        "đăng nhập để mở khoá" in page.get_data(as_text=True)
    )
    refused = take_in(app, token)
    assert refused.status_code == 503
    assert refused.json["error"]["code"] == "desk_locked"
    assert "Log in to unlock" in refused.json["error"]["message"]
    form = client.get("/login")
    assert form.status_code == 200 and 'id="desk-locked"' in form.get_data(as_text=True)

    _, wrong = login(app, "admin", "not the password")
    assert wrong.status_code == 401
    _, nobody = login(app, "nobody", ADMIN_PW)
    assert nobody.status_code == 401
    assert vault.desk_key(app).locked
    assert take_in(app, token).status_code == 503

    _, right = login(app, "admin", ADMIN_PW)
    assert right.status_code == 302
    assert not vault.desk_key(app).locked
    assert take_in(app, token).status_code == 201
    db.database(app).engine.dispose()


def test_commands_unlock_with_the_recovery_secret_or_a_password_and_refuse_a_wrong_one(
    instance: Path,
) -> None:
    recovery = init(instance)
    assert cli(instance, "verify-log", unlock=recovery).exit_code == 0
    assert cli(instance, "verify-log", unlock=recovery.lower().replace("-", " ")).exit_code == 0
    assert cli(instance, "verify-log", unlock=f"admin:{ADMIN_PW}").exit_code == 0
    piped = cli(instance, "--unlock-stdin", "verify-log", stdin=f"admin:{ADMIN_PW}\n")
    assert piped.exit_code == 0, piped.output

    wrong = cli(instance, "verify-log", unlock="AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH")
    assert wrong.exit_code == 1
    assert "does not unlock" in wrong.output
    assert cli(instance, "verify-log", unlock="admin:wrong password").exit_code == 1
    none = cli(instance, "verify-log")
    assert none.exit_code == 1
    assert vault.UNLOCK_ENV in none.output


def test_password_change_and_new_officers_rewrap_and_deactivation_drops(
    instance: Path, clock: MovableClock
) -> None:
    init(instance)
    add_receiver(instance)
    keys = vault.Vault(instance / vault.FILE)
    data_key = keys.open_as_officer("hoa.le", PASSWORD)
    assert keys.open_with_recovery != data_key  # (a function, not the key)

    app = open_app(instance, clock)
    client, r = login(app, "hoa.le", PASSWORD)
    assert r.status_code == 302
    page = client.get("/account/password")
    changed = client.post(
        "/account/password",
        data={
            "csrf_token": csrf(page.get_data(as_text=True)),
            "current_password": PASSWORD,
            "new_password": "a brand new password",
            "confirm_password": "a brand new password",
        },
    )
    assert changed.status_code == 302
    with pytest.raises(vault.WrongSecret):
        keys.open_as_officer("hoa.le", PASSWORD)
    assert keys.open_as_officer("hoa.le", "a brand new password") == data_key

    with db.write_session(app) as session:
        officer = officers.by_username(session, "hoa.le")
        assert officer is not None
        from common_io import accounts
        from commune_node.models import WEB_SESSION

        accounts.reset_password(session, WEB_SESSION, officer, "reset by the admin")
    assert keys.open_as_officer("hoa.le", "reset by the admin") == data_key
    done = cli(instance, "officer", "deactivate", "hoa.le", unlock=f"admin:{ADMIN_PW}")
    assert done.exit_code == 0, done.output
    assert not keys.has(vault.officer_label("hoa.le"))
    db.database(app).engine.dispose()


def test_an_encrypted_backup_stays_encrypted_and_restores_with_the_same_secrets(
    instance: Path, clock: MovableClock, tmp_path: Path
) -> None:
    recovery = init(instance)
    token = add_receiver(instance)
    app = open_app(instance, clock)
    login(app, "admin", ADMIN_PW)
    code = take_in(app, token).json["dossier"]["code"]

    backup = tmp_path / "backup.tar.gz"
    made = cli(instance, "backup", str(backup), unlock=recovery)
    assert made.exit_code == 0, made.output
    db.database(app).engine.dispose()
    with tarfile.open(backup) as tar:
        names = tar.getnames()
        assert "vault.json" in names
        for member in tar.getmembers():
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            assert not [s for s in SECRETS if s in data], member.name
            if member.name.startswith("node_key"):
                assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    import gzip

    assert not [s for s in SECRETS if s in gzip.decompress(backup.read_bytes())]

    target = tmp_path / "restored"
    wrong = cli(target, "restore", str(backup), unlock="admin:not the password")
    assert wrong.exit_code == 1
    assert not (target / "node.sqlite3").exists()
    done = cli(target, "restore", str(backup), unlock=recovery)
    assert done.exit_code == 0, done.output
    assert grep_instance(target) == {}
    back = open_app(target, clock)
    client, r = login(back, "hoa.le", PASSWORD)
    assert r.status_code == 302
    assert NAME in client.get(f"/dossiers/{code}").get_data(as_text=True)
    db.database(back).engine.dispose()


def test_an_existing_plain_node_is_encrypted_in_place_and_loses_nothing(
    tmp_path: Path, clock: MovableClock
) -> None:
    from sqlalchemy import func, select

    from commune_node.models import Dossier, Event
    from tests.sync.helpers import take_in as take_in_plain

    node: Node = make_node(tmp_path / "old", clock)
    instance = Path(node.app.instance_path)
    codes = [take_in_plain(node, name=NAME) for _ in range(3)]
    with db.read_session(node.app) as s:
        before = (
            s.scalar(select(func.count(Event.seq))),
            s.scalar(select(func.count(Dossier.code))),
        )
    db.database(node.app).engine.dispose()
    assert grep_instance(instance)  # the plain database shows the citizen
    assert cipher.is_plain_sqlite(instance / "node.sqlite3")

    refused = cli(instance, "encrypt", "--admin-password", "wrong password 1")
    assert refused.exit_code == 1
    assert cipher.is_plain_sqlite(instance / "node.sqlite3")
    done = cli(instance, "encrypt", "--admin-password", PASSWORD)
    assert done.exit_code == 0, done.output
    recovery = re.findall(r"[A-Z2-7]{4}(?:-[A-Z2-7]{4}){7}", done.output)[0]
    assert grep_instance(instance) == {}
    assert not cipher.is_plain_sqlite(instance / "node.sqlite3")
    assert cli(instance, "encrypt", "--admin-password", PASSWORD).exit_code == 1

    app = open_app(instance, clock)
    assert vault.desk_key(app).locked
    client, r = login(app, "admin", PASSWORD)
    assert r.status_code == 302
    with db.read_session(app) as s:
        after = (
            s.scalar(select(func.count(Event.seq))),
            s.scalar(select(func.count(Dossier.code))),
        )
    assert after == before
    for code in codes:
        assert NAME in client.get(f"/dossiers/{code}").get_data(as_text=True)
    # another officer of the old node: their password opens the desk from their next log-in
    _, r = login(app, "hoa.le", PASSWORD)
    assert r.status_code == 302
    keys = vault.Vault(instance / vault.FILE)
    assert keys.open_as_officer("hoa.le", PASSWORD) == keys.open_with_recovery(recovery)
    assert cli(instance, "verify-log", unlock=recovery).exit_code == 0
    db.database(app).engine.dispose()
    keyfile.register_passphrase(instance, None)


def test_the_test_configuration_gives_the_key_directly(tmp_path: Path, clock: MovableClock) -> None:
    key = vault.new_key()
    node = make_node(tmp_path / "keyed", clock, DATABASE_KEY=key.hex())
    from tests.sync.helpers import take_in as take_in_plain

    take_in_plain(node, name=NAME)
    db.database(node.app).engine.dispose()
    instance = Path(node.app.instance_path)
    assert grep_instance(instance) == {}
    assert not (instance / vault.FILE).exists()
    con = cipher.connect(instance / "node.sqlite3", key)
    assert con.execute("SELECT count(*) FROM dossier").fetchone()[0] == 1
    con.close()
    with pytest.raises(cipher.WrongKey):
        cipher.connect(instance / "node.sqlite3", vault.new_key())


def test_an_encrypted_connection_keeps_memory_wipes_off_and_temporary_data_in_memory(
    tmp_path: Path,
) -> None:
    """The settings that keep lists fast on an encrypted desk (docs/benchmarks.md) are on every
    connection; the page encryption itself is untouched (SQLCipher 4 defaults)."""
    key = vault.new_key()
    path = tmp_path / "x.sqlite3"
    con = cipher.connect(path, key)
    try:
        con.execute("CREATE TABLE t (x)")
        assert con.execute("PRAGMA cipher_memory_security").fetchone()[0] in (0, "0")
        assert con.execute("PRAGMA temp_store").fetchone()[0] == 2
        assert con.execute("PRAGMA cache_size").fetchone()[0] == -32768  # 32 MiB
        assert con.execute("PRAGMA cipher_page_size").fetchone()[0] in (4096, "4096")
        assert con.execute("PRAGMA cipher_hmac_algorithm").fetchone()[0] == "HMAC_SHA512"
    finally:
        con.close()
    assert not cipher.is_plain_sqlite(path)
