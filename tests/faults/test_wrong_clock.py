"""A commune laptop whose clock is years off, with real ``central-hub`` and ``commune-node``
processes (SQLite and PostgreSQL hub): once the node has heard the hub's time, its codes
and records carry the right date and every page warns; what a node wrote before it could
know raises one ``clock_skew`` alert for the hub administrator; every commune syncs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text

from tests.faults import test_damaged_record as damaged
from tests.faults.harness import MARITAL, ProcessWorld, chain_problems

template = damaged.template  # the same processes: hub (SQLite or PostgreSQL), two communes
world = damaged.world

YEARS = int(timedelta(days=30 * 365 + 7).total_seconds())


def today() -> str:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%y%m%d")


def clock_alerts(w: ProcessWorld, node_id: str) -> int:
    with w.observer.hub_engine.connect() as c:
        return int(
            c.execute(
                text("select count(*) from alert where kind = 'clock_skew' and node_id = :n"),
                {"n": node_id},
            ).scalar_one()
        )


def test_a_clock_years_off_never_dates_a_record_wrongly_once_known(world: ProcessWorld) -> None:
    w = world
    a, b = w.nodes
    w.set_clock(0, -YEARS)  # a's CMOS battery died: it believes it is thirty years ago
    assert w.sync(0)  # the hub's answer tells it how far off it is
    code = w.intake(0, MARITAL, "Nguyễn Văn An")
    assert code is not None and f"-{today()}-" in code, code
    page = w.sync_page(0)
    assert "data-clock-skew" in page and "Đồng hồ của máy tính này lệch" in page
    assert w.sync(0)
    assert clock_alerts(w, a.seed.node_id) == 0  # nothing it signed is dated wrongly
    # b's clock runs years ahead and it takes a dossier before it ever hears the hub
    w.set_clock(1, YEARS)
    wrong = w.intake(1, MARITAL, "Trần Thị Bình")
    assert wrong is not None and f"-{today()}-" not in wrong
    assert w.sync(1)
    assert clock_alerts(w, b.seed.node_id) == 1  # the administrator is told
    code = w.intake(1, MARITAL, "Lê Văn Cường")  # from now on, the hub's date
    assert code is not None and f"-{today()}-" in code, code
    assert w.sync(1) and w.sync(0)
    assert clock_alerts(w, b.seed.node_id) == 1  # one alert until acknowledged
    hub = w.observer.hub()
    assert chain_problems(hub, a.seed.node_id) == [] and chain_problems(hub, b.seed.node_id) == []
