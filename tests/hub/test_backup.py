"""``central-hub backup`` / ``restore`` on SQLite (backup API) and PostgreSQL (pg_dump and
pg_restore): the database, the hub key, log_head and the journal come back together."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from central_hub import create_app
from central_hub.cli import main
from central_hub.models import LogRecord
from central_hub.services import translog
from common_io import backup as archive
from tests.hub.fixtures import Hub
from tests.support import fresh_postgres_database


def _env(hub: Hub) -> dict[str, str]:
    url = hub.db.engine.url
    if url.get_backend_name() == "sqlite":
        return {}
    return {"CENTRAL_HUB_DATABASE_URL": url.render_as_string(hide_password=False)}


@contextlib.contextmanager
def _target_database(hub: Hub) -> Iterator[str | None]:
    if hub.db.engine.url.get_backend_name() == "sqlite":
        yield None
    else:
        with fresh_postgres_database() as url:
            yield url


def test_hub_backup_and_restore(hub: Hub, tmp_path: Path) -> None:
    instance = Path(hub.app.instance_path)
    (instance / "log_head").write_text("x\n")  # kept as it is, next to the database
    with hub.db.read() as s:
        size = translog.current_size(s)
    assert size > 0
    runner = CliRunner()
    made = runner.invoke(
        main, ["--instance", str(instance), "backup", str(tmp_path / "hub.tar.gz")], env=_env(hub)
    )
    assert made.exit_code == 0, made.output
    assert f"log size {size}" in made.output
    manifest = archive.read_manifest(tmp_path / "hub.tar.gz")
    assert manifest["hub_id"] == hub.identity.hub_id
    assert "hub_key.pem" in manifest["files"] and "log_head" in manifest["files"]

    refused = runner.invoke(
        main, ["--instance", str(instance), "restore", str(tmp_path / "hub.tar.gz")], env=_env(hub)
    )
    assert refused.exit_code != 0 and "already holds a hub" in refused.output

    target = tmp_path / "restored"
    with _target_database(hub) as url:
        env = {"CENTRAL_HUB_DATABASE_URL": url} if url else {}
        done = runner.invoke(
            main, ["--instance", str(target), "restore", str(tmp_path / "hub.tar.gz")], env=env
        )
        assert done.exit_code == 0, done.output
        assert (target / "hub_key.pem").read_bytes() == (instance / "hub_key.pem").read_bytes()
        assert (target / "log_head").read_text() == "x\n"
        cfg = {"TESTING": True, "SECRET_KEY": "t", "CLOCK": hub.clock}
        app = create_app(
            {**cfg, **({"DATABASE_URL": url} if url else {})}, instance_path=str(target)
        )
        try:
            with app.extensions["db"].read() as s:
                assert translog.current_size(s) == size
                assert s.scalar(select(func.count()).select_from(LogRecord)) == size
        finally:
            app.extensions["db"].engine.dispose()


def test_pg_tools_missing_is_said_clearly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump on this PATH
    with pytest.raises(archive.BackupError) as err:
        archive.pg_dump("postgresql+psycopg://hub@127.0.0.1/hub", tmp_path / "x")
    assert "pg_dump is not installed" in err.value.en
