"""How long a closed dossier's personal data is kept, and what a page shows once it is gone.

Pure: no I/O. The period is the procedure's ``retention_years`` in the published catalogue
(``common.catalogue.Procedure.retention_years``), or, where the catalogue does not give one,
the default of its field below (docs/privacy.md lists them per procedure). The period counts
from the day the dossier was closed (``ended_at``: result returned, refused, stopped,
withdrawn); an open dossier is never due.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Final

from common.calendar import VN_TZ

# Years a closed dossier's personal data is kept, by the catalogue's field (lĩnh vực), when the
# procedure does not say. Civil status and land keep the longest: the result is consulted for
# decades and the desk must be able to say who applied. Certification (chứng thực) and the
# rest keep five years, the usual period for dossiers of administrative procedures.
DEFAULT_RETENTION_BY_FIELD: Final[dict[str, int]] = {
    "Hộ tịch": 20,
    "Đất đai": 20,
    "Đăng ký biện pháp bảo đảm": 10,
    "Hoạt động xây dựng": 10,
    "Lý lịch tư pháp": 5,
    "Chứng thực": 5,
    "Bảo trợ xã hội": 5,
    "Giảm nghèo": 5,
    "Thành lập và hoạt động của hộ kinh doanh": 5,
    "Tín ngưỡng, tôn giáo": 5,
    "Hòa giải ở cơ sở": 5,
}
DEFAULT_RETENTION_YEARS: Final = 5  # a field not listed above
MAX_RETENTION_YEARS: Final = 100


def default_years(field: str) -> int:
    return DEFAULT_RETENTION_BY_FIELD.get(field, DEFAULT_RETENTION_YEARS)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def erase_after(ended_at: datetime, years: int) -> datetime:
    """The instant a dossier closed at ``ended_at`` is due for erasure: the start of the same
    calendar day (Vietnam time) ``years`` later."""
    closed = ended_at.astimezone(VN_TZ).date()
    due = _add_years(closed, years)
    return datetime(due.year, due.month, due.day, tzinfo=VN_TZ).astimezone(UTC)


def is_due(ended_at: datetime | None, years: int, now: datetime) -> bool:
    return ended_at is not None and now >= erase_after(ended_at, years)


def erased_label(at: datetime) -> str:
    """What a page or a printed form shows where the applicant's name used to be."""
    return f"Dữ liệu cá nhân đã xoá ngày {at.astimezone(VN_TZ):%d/%m/%Y}"


def erased_label_en(at: datetime) -> str:
    return f"Personal data erased on {at.astimezone(VN_TZ):%d/%m/%Y}"
