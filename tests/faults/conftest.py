"""Fixtures of the fault tests: ``fault_proxy`` makes fault-injecting links to a target."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest

from tests.faults.proxy import FaultProxy
from tests.sync.conftest import site  # a hub on loopback (SQLite and PostgreSQL)

__all__ = ["ProxyFactory", "fault_proxy", "site"]
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
