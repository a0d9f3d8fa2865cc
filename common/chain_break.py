"""A declared break in a writer's own chain: records lost before they reached the hub.

A record damaged on a node's disk (a flipped bit: its signature no longer verifies) that the
hub never stored is lost for good — nobody holds its bytes. The node does not let it stop
every record after it: it signs a ``chain.break`` record **in the lost record's place**
(same ``seq``, ``prev`` = the last good record), declaring the lost range, why, and the id
the next surviving record names as its ``prev`` (docs/records.md, "Declared chain breaks").

The record after a break is ``last_seq + 1`` and names ``next_prev`` as its ``prev`` (or the
break's own id when ``next_prev`` is null: nothing followed the lost range when the break
was signed). Hub, node and auditor apply this one rule (:func:`successor`); an auditor shows
each break as one ``declared_gap`` notice, never as a fork or a dropped record.
"""

from __future__ import annotations

import re
from typing import Any

from common.errors import FieldProblem

TYPE = "chain.break"
_HEX64 = re.compile(r"[0-9a-f]{64}")
MAX_REASON = 500


def data(
    *, first_seq: int, last_seq: int, last_good: str | None, next_prev: str | None, reason: str
) -> dict[str, Any]:
    """The payload of a break covering ``first_seq..last_seq``."""
    return {
        "first_seq": first_seq,
        "last_seq": last_seq,
        "last_good": last_good,
        "next_prev": next_prev,
        "reason": reason[:MAX_REASON],
    }


def _seq(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value < 2**53


def _id(value: Any) -> bool:
    return value is None or (isinstance(value, str) and _HEX64.fullmatch(value) is not None)


def problems(payload: dict[str, Any], *, seq: int, prev: str | None) -> list[FieldProblem]:
    """What is wrong with a break's payload, given the record's own ``seq`` and ``prev``."""
    out: list[FieldProblem] = []

    def bad(name: str, en: str, vi: str) -> None:
        out.append(FieldProblem(f"data.{name}", "invalid", vi, en))

    first, last = payload.get("first_seq"), payload.get("last_seq")
    if not _seq(first) or first != seq:
        bad("first_seq", "must be the break's own seq", "Phải là số thứ tự của bản ghi")
    if not _seq(last) or (isinstance(first, int) and isinstance(last, int) and last < first):
        bad("last_seq", "must be a seq not before first_seq", "Phải không nhỏ hơn first_seq")
    if not _id(payload.get("last_good")) or payload.get("last_good") != prev:
        bad("last_good", "must be the break's prev", "Phải trùng với prev của bản ghi")
    if not _id(payload.get("next_prev")):
        bad("next_prev", "must be 64 hex or null", "Phải là 64 ký tự hex hoặc null")
    reason = payload.get("reason")
    if not isinstance(reason, str) or not 1 <= len(reason) <= MAX_REASON:
        bad("reason", "required text (at most 500 characters)", "Thiếu lý do")
    return out


def successor(payload: dict[str, Any], own_id: str) -> tuple[int, str]:
    """The ``seq`` and ``prev`` of the record that follows a (valid) break."""
    return int(payload["last_seq"]) + 1, payload.get("next_prev") or own_id


def describe(payload: dict[str, Any]) -> str:
    first, last = payload.get("first_seq"), payload.get("last_seq")
    span = f"seq {first}" if first == last else f"seq {first}..{last}"
    return f"{span} lost: {payload.get('reason', '')}"
