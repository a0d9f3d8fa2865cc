"""Fixtures of the security tests (the node's clock and a hub on loopback)."""

from tests.node.conftest import clock, node
from tests.sync.conftest import site

__all__ = ["clock", "node", "site"]
