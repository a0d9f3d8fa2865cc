"""Two real ``central-hub run`` processes on one database send the portal outbox at once,
against the conformance server failing at random: every status reaches the portal exactly
once and in order per dossier, and no message is ever sent by both at the same moment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from central_hub.portal_models import DELIVERED
from tests.faults.harness import _stop, free_port, start_server
from tests.portal import conformance
from tests.portal.test_delivery import (
    lifecycle_traffic,
    outbox,
    portal_config,
    set_hub_agency,
    wait_until_settled,
)
from tests.sync.conftest import Site

pytestmark = pytest.mark.slow


def test_two_hub_processes_deliver_each_status_once_and_in_order(
    site: Site, tmp_path: Path
) -> None:
    set_hub_agency(site)
    node = site.node("a", "000.00.12.H26")
    lifecycle_traffic(site, node, dossiers=5)
    queued = outbox(site)
    assert queued
    url = site.hub.db.engine.url.render_as_string(hide_password=False)
    site.hub.db.engine.dispose()
    instance = Path(site.hub.app.instance_path)
    with conformance.serve(fault_rate=0.3, seed=11, hang=0.6) as portal:
        settings = portal_config(portal, PORTAL_BACKOFF_SECONDS=1, PORTAL_MAX_BACKOFF_SECONDS=3)
        config = instance / "config.py"
        config.write_text(
            "SESSION_COOKIE_SECURE = False\n"
            + "".join(f"{k} = {v!r}\n" for k, v in settings.items())
        )
        env = {**os.environ, "CENTRAL_HUB_DATABASE_URL": url}
        procs = [
            start_server(
                [sys.executable, "-m", "central_hub.cli", "--instance", str(instance), "run",
                 "--threads", "2"],
                free_port(), "/sync/v1/hello", env=env, log=tmp_path / "logs" / f"hub{i}.log",
            )[0]
            for i in range(2)
        ]  # fmt: skip
        try:
            rows = wait_until_settled(site, timeout=180)
        finally:
            for proc in procs:
                _stop(proc, kill=False)
        assert {r.state for r in rows} == {DELIVERED}
        expected: dict[str, list[str]] = {}
        for r in rows:
            expected.setdefault(r.dossier_code, []).append(r.delivery_key)
        assert portal.order == expected  # each key once, in the order the statuses happened
        assert sorted(portal.entries) == sorted(r.delivery_key for r in rows)
        assert portal.overlaps == 0  # never sent by both processes at the same moment
        assert portal.refused == []
        assert len(portal.received) > len(rows)  # faults made them send again, harmlessly
