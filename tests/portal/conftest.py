"""Portal tests run against a real hub on a loopback port (tests/sync/conftest.py)."""

from tests.sync.conftest import site  # noqa: F401  (the fixture)
