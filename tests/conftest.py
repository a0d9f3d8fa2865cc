"""Fixtures shared across test packages (hubs on SQLite and PostgreSQL)."""

pytest_plugins = ["tests.hub.fixtures", "tests.faults.report"]
