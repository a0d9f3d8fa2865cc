"""Report exports (common/reporting.py): what the province reads in the files."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

from openpyxl import load_workbook  # type: ignore[import-untyped]

from common import reporting
from common.periods import period_of


def test_the_workbook_gives_the_time_it_was_made_in_vietnam_time() -> None:
    made = datetime(2026, 12, 4, 18, 30, tzinfo=UTC)  # 01:30 on the 5th in Vietnam
    report = reporting.Report(period_of("month", date(2026, 11, 1)), made, "commune", [])
    ws = load_workbook(io.BytesIO(reporting.to_xlsx(report, title="Báo cáo"))).active
    assert ws["B2"].value == "Lập lúc: 01:30 05/12/2026"
