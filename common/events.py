"""What each record type must carry, checked by whoever receives a record. No I/O.

The node builds payloads through its services; the hub must not trust that, so it checks
each record it ingests with :func:`check_payload` before applying it. A failure names the
field and becomes a dead letter, never a crash.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from common import personal
from common.errors import FieldProblem, ValidationError
from common.lifecycle import ACTION_BY_EVENT
from common.personal import COMMITMENTS

NODE_TYPES = frozenset({"key.rotated", "checkpoint.cosigned", "chain.break"})
HUB_TYPES = frozenset({"catalogue.published", "calendar.published", "key.revoked", "key.replaced"})
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def _problem(field: str, en: str, vi: str) -> FieldProblem:
    return FieldProblem(field, "invalid", vi, en)


def _is_time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _is_int(value: Any, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def check_payload(
    event_type: str, data: dict[str, Any], *, dossier: str | None, creating: bool = False
) -> None:
    """Raise ValidationError unless ``data`` has what ``event_type`` needs; ``creating`` says
    the event is the dossier's first (it must then say what the dossier is and whose)."""
    problems: list[FieldProblem] = []
    action = ACTION_BY_EVENT.get(event_type)
    if action is None and event_type not in NODE_TYPES | HUB_TYPES:
        raise ValidationError(
            [
                _problem(
                    "type",
                    f"unknown record type {event_type!r}",
                    f"Loại bản ghi không xác định {event_type!r}",
                )
            ]
        )
    if action is not None and not dossier:
        problems.append(_problem("dossier", "a dossier event names its dossier", "Thiếu mã hồ sơ"))
    if action is not None and creating:
        for name in ("procedure", "level"):
            if not isinstance(data.get(name), str) or not data.get(name):
                problems.append(_problem(f"data.{name}", "required text", "Thiếu thông tin"))
        if not _is_int(data.get("channel"), 1, 3):
            problems.append(_problem("data.channel", "must be 1, 2 or 3", "Phải là 1, 2 hoặc 3"))
        applicant = data.get("applicant")
        committed = "applicant.name" in (data.get(COMMITMENTS) or {})  # version 2
        if not isinstance(applicant, dict) or not (
            isinstance(applicant.get("name"), str) or committed
        ):
            problems.append(
                _problem(
                    "data.applicant", "applicant with a name required", "Thiếu người nộp hồ sơ"
                )
            )
    for name in ("due", "new_due"):
        if name in data and not _is_time(data[name]):
            problems.append(
                _problem(
                    f"data.{name}", "must be a date-time with offset", "Phải là ngày giờ có múi giờ"
                )
            )
    if event_type == "dossier.apologised" and "new_due" not in data:
        problems.append(_problem("data.new_due", "required", "Thiếu ngày hẹn mới"))
    if event_type == "dossier.rated" and not _is_int(data.get("rating"), 1, 3):
        problems.append(_problem("data.rating", "must be 1, 2 or 3", "Phải là 1, 2 hoặc 3"))
    if event_type in ("dossier.fee_paid", "dossier.payment_requested") and not _is_int(
        data.get("amount"), 1, 10**12
    ):
        problems.append(
            _problem(
                "data.amount",
                "must be a positive whole number of đồng",
                "Phải là số tiền nguyên dương",
            )
        )
    if event_type == "key.rotated":
        for name in ("new_key", "proof"):
            if not isinstance(data.get(name), str):
                problems.append(_problem(f"data.{name}", "required hex", "Thiếu"))
    if COMMITMENTS in data:
        try:
            personal.commitments(data)
        except personal.DisclosureError as exc:
            problems.append(_problem(f"data.{COMMITMENTS}", exc.en, exc.vi))
    if problems:
        raise ValidationError(problems)
