"""A pytest plugin (listed in ``tests/conftest.py``): prints each fault campaign's summary
line at the end of the run, also under pytest-xdist (the lines travel as user properties)."""

from __future__ import annotations

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print each fault campaign's summary line (scenarios, steps, faults, lost, twice)."""
    lines = [
        str(value)
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", "") == "call"
        for name, value in getattr(report, "user_properties", [])
        if name == "campaign"
    ]
    if lines:
        terminalreporter.section("fault campaign")
        for line in lines:
            terminalreporter.write_line(line)
