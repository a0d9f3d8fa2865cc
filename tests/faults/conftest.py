"""Fixtures of the fault tests: ``fault_proxy`` makes fault-injecting links to a target."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest

from tests.faults.harness import Template, build_template
from tests.faults.proxy import FaultProxy
from tests.sync.conftest import site  # a hub on loopback (SQLite and PostgreSQL)

__all__ = ["ProxyFactory", "fault_proxy", "life_template", "site", "three_communes"]
ProxyFactory = Callable[[str], FaultProxy]


@pytest.fixture
def fault_proxy() -> Iterator[ProxyFactory]:
    """``fault_proxy(url)`` → a started :class:`FaultProxy` forwarding to ``url``'s host and
    port; every proxy made is closed after the test."""
    made: list[FaultProxy] = []

    def make(url: str) -> FaultProxy:
        parts = urlsplit(url)
        assert parts.hostname and parts.port, url
        proxy = FaultProxy((parts.hostname, parts.port)).start()
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        proxy.close()


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def three_communes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Template]:
    """A hub (SQLite or PostgreSQL) and three enrolled communes, made with the CLIs, each
    synced once: copied by every process test of a commune's life events."""
    if request.param == "sqlite":
        yield build_template(tmp_path_factory.mktemp("life"), nodes=3, processes=True)
        return
    from tests.support import fresh_postgres_database

    with fresh_postgres_database() as url:
        yield build_template(tmp_path_factory.mktemp("life-pg"), nodes=3, processes=True,
                             hub_database=url)  # fmt: skip


@pytest.fixture(scope="session")
def life_template(three_communes: Template) -> Template:
    """The same template under the name the restore and replacement tests use."""
    return three_communes
