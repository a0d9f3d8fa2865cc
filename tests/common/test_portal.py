"""The national portal's dossier-sync message (common/portal.py): every reachable lifecycle
path gives valid messages, in the order the statuses happened, each with its own key."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common import lifecycle, portal
from common.lifecycle import DossierState, Role, Side, Status
from common.portal import PortalDossier

T0 = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)  # 08:30 in Vietnam
CODE = "000.00.12.H26-261201-0001"
ALL_ROLES = frozenset(Role)


def dossier(state: DossierState, changed_at: datetime, **kw: Any) -> PortalDossier:
    base: dict[str, Any] = {
        "state": state, "changed_at": changed_at, "taken_at": T0,
        "procedure_name": "Đăng ký kết hôn", "field_code": "", "field_name": "Hộ tịch",
        "limit_days": 3, "owner_name": "Nguyễn Thị Hồng Nhung", "owner_id": "062195001234",
        "handled_by": "000.00.12.H26",
    }  # fmt: skip
    return PortalDossier(**{**base, **kw})


def walk(choices: list[int], level: str, channel: int) -> list[tuple[DossierState, datetime]]:
    """A path through the lifecycle: at each step one of the actions the rules allow (on
    the side that may take it), one minute after the last."""
    out: list[tuple[DossierState, datetime]] = []
    state: DossierState | None = None
    at = T0
    for pick in choices:
        options = sorted(
            {(a.name, side) for side in Side
             for a in lifecycle.allowed_actions(state, side=side, roles=ALL_ROLES)}
        )  # fmt: skip
        if not options:
            break
        name, side = options[pick % len(options)]
        data = {"procedure": "1.004873.000.00.00.H38", "level": level, "channel": channel,
                "due": (at + timedelta(days=3)).isoformat(), "amount": 1000, "rating": 3,
                "new_due": (at + timedelta(days=5)).isoformat()}  # fmt: skip
        state = lifecycle.apply(state, event_type=f"dossier.{name}", data=data, at=at,
                                code=CODE, side=side, roles=ALL_ROLES)  # fmt: skip
        out.append((state, at))
        at += timedelta(minutes=1)
    return out


@settings(max_examples=300)
@given(
    choices=st.lists(st.integers(0, 50), min_size=1, max_size=14),
    level=st.sampled_from(["commune", "province"]),
    channel=st.sampled_from([1, 2, 3]),
    fee=st.sampled_from([0, 50_000]),
)
def test_every_reachable_path_gives_valid_messages_in_order(
    choices: list[int], level: str, channel: int, fee: int
) -> None:
    messages = [portal.message(dossier(s, at, fee=fee)) for s, at in walk(choices, level, channel)]
    assert messages
    for msg in messages:
        assert portal.problems(msg) == [], msg
        assert list(msg) == list(portal.FIELDS)
    times = [m["NgayCapNhat"] for m in messages]
    assert times == sorted(times)  # yyyyMMddHHmmss sorts as time does
    keys = [portal.delivery_key(m) for m in messages]
    assert len(set(keys)) == len(keys)  # each status change is its own portal entry


def test_a_received_dossier_in_vietnam_time() -> None:
    state = lifecycle.apply(
        None, event_type="dossier.received",
        data={"procedure": "1.004873.000.00.00.H38", "level": "commune", "channel": 1,
              "due": (T0 + timedelta(days=3)).isoformat()},
        at=T0, code=CODE, side=Side.COMMUNE, roles=ALL_ROLES,
    )  # fmt: skip
    msg = portal.message(dossier(state, T0, fee=50_000, fee_name="Lệ phí đăng ký kết hôn"))
    assert msg["NgayTiepNhan"] == "20261201083000" and msg["NgayHenTra"] == "20261204083000"
    assert msg["TrangThaiHoSo"] == 2 and msg["KenhThucHien"] == 1 and msg["HinhThuc"] == 0
    assert msg["NgayKetThucXuLy"] == "" and msg["DonViTinh"] == "Ngày làm việc"
    assert msg["DanhSachPhiLePhi"] == [{"TenPhiLePhi": "Lệ phí đăng ký kết hôn", "MucPhi": 50_000}]
    assert portal.delivery_key(msg) == f"{CODE}|2|20261201083000"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"NgayHenTra": "2026-12-04"}, "NgayHenTra: not yyyyMMddHHmmss"),
        ({"TrangThaiHoSo": 11}, "TrangThaiHoSo: not 1 to 10"),
        ({"TrangThaiHoSo": True}, "TrangThaiHoSo: not 1 to 10"),
        ({"KenhThucHien": 4}, "KenhThucHien: not 1 to 3"),
        ({"ChuHoSo": " "}, "ChuHoSo: required text"),
        ({"DonViXuLy": "Xã Đăk Pxi"}, "DonViXuLy: not an agency code"),
        ({"NgayKetThucXuLy": "20261201083000"}, "NgayKetThucXuLy: given exactly when"),
        ({"DuocSoHoa": True}, "DuocSoHoa: not 0 or 1"),
        ({"Extra": 1}, "Extra: not a portal field"),
    ],
)
def test_each_wrong_field_is_named(change: dict[str, Any], problem: str) -> None:
    state = DossierState(code=CODE, procedure="1.004873.000.00.00.H38", level="commune",
                         channel=lifecycle.Channel.IN_PERSON, status=Status.PROCESSING,
                         received_at=T0, due_at=T0 + timedelta(days=3))  # fmt: skip
    msg = {**portal.message(dossier(state, T0)), **change}
    assert any(p.startswith(problem) for p in portal.problems(msg)), portal.problems(msg)


def test_an_ended_dossier_says_when_processing_ended() -> None:
    state = DossierState(code=CODE, procedure="1.004873.000.00.00.H38", level="province",
                         channel=lifecycle.Channel.ONLINE, status=Status.RETURNED,
                         received_at=T0, due_at=T0 + timedelta(days=3), forwarded=True,
                         ended_at=T0 + timedelta(days=2))  # fmt: skip
    msg = portal.message(dossier(state, T0 + timedelta(days=2, hours=1)))
    assert msg["NgayKetThucXuLy"] == "20261203083000" and msg["HinhThuc"] == 1
    assert portal.problems(msg) == []
    with pytest.raises(ValueError, match="does not exist"):
        portal.message(dossier(replace(state, status=Status.NEW), T0))


def test_a_limit_in_working_hours_is_sent_in_hours() -> None:
    state, at = walk([0], "commune", 1)[0]
    msg = portal.message(dossier(state, at, limit_days=0, limit_hours=4))
    assert (msg["ThoiGianGiaiQuyet"], msg["DonViTinh"]) == (4, "Giờ làm việc")
    assert portal.problems(msg) == []
    days = portal.message(dossier(state, at))
    assert (days["ThoiGianGiaiQuyet"], days["DonViTinh"]) == (3, "Ngày làm việc")
