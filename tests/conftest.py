"""Fixtures shared across test packages (hubs on SQLite and PostgreSQL), and how long a test
waits on a machine shared with other work: for conditions, never against a short clock."""

from collections.abc import Iterator

import pytest
from hypothesis import settings

pytest_plugins = ["tests.hub.fixtures", "tests.faults.report"]

# Hypothesis fails an example that takes over 200 ms by default, and then reports the whole
# test as flaky when the rerun is quick: on a loaded machine that measures the load, not the
# code. No test here is about speed, so no deadline (CI's own profile has none either).
if settings.default.deadline is not None:
    settings.register_profile("shared-machine", deadline=None)
    settings.load_profile("shared-machine")


@pytest.fixture(autouse=True)
def _patient_browser(request: pytest.FixtureRequest) -> Iterator[None]:
    """A page assertion waits for its condition as long as a page action may (30 s), not
    Playwright's 5 s: a loaded machine can take longer to render, never to get it right."""
    if request.node.get_closest_marker("browser") is None:
        yield
        return
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)
    yield
