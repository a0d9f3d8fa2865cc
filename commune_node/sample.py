"""Sample data for a demo desk: two officers and dossiers in every status, made through the
same services an officer uses, on a clock that walks through the past few weeks."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from common import validators
from common.calendar import VN_TZ, WorkingCalendar
from common.catalogue import Procedure
from common.errors import DossierError
from commune_node.db import write_session
from commune_node.models import Officer
from commune_node.services import catalogue, dossiers, intake, officers
from commune_node.services.officers import actor_of

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Võ", "Đặng", "Bùi", "Đỗ", "Y", "A"]
MIDDLE = ["Văn", "Thị", "Đức", "Minh", "Ngọc", "Hữu", "Thanh", "Quang"]
GIVEN = [
    "An",
    "Bình",
    "Chi",
    "Dũng",
    "Đào",
    "Hà",
    "Hải",
    "Hồng",
    "Hùng",
    "Lan",
    "Linh",
    "Mai",
    "Nam",
    "Nga",
    "Phúc",
    "Quý",
    "Sơn",
    "Thảo",
    "Trang",
    "Tuấn",
    "Xuân",
    "Yến",
    "H'Luân",
]
VILLAGES = [
    "thôn Kon Klor",
    "thôn Đăk Rơ Wa",
    "làng Kon Jơ Dri",
    "thôn 3",
    "thôn Pờ Y",
    "tổ dân phố 2",
]
DEMO_OFFICERS = [("hoa.le", "Lê Thị Hoa", ["receiver"]), ("minh.tran", "Trần Văn Minh", ["leader"])]


def _person(rng: random.Random, commune: str) -> dict[str, str]:
    year = rng.randint(1950, 2005)
    sex = rng.randint(0, 1)
    century = 0 if year < 2000 else 2
    cccd = f"062{century + sex}{year % 100:02d}{rng.randint(0, 999999):06d}"
    prefix = rng.choice(sorted(validators.MOBILE_PREFIXES))
    return {
        "applicant_name": f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
        "id_number": cccd,
        "phone": f"{prefix}{rng.randint(0, 9_999_999):07d}",
        "email": "",
        "address": f"{rng.choice(VILLAGES)}, {commune}",
    }


def _intake_form(p: Procedure, person: dict[str, str], rng: random.Random) -> dict[str, Any]:
    docs = {
        d.id: {"original": d.original, "certified_copy": d.certified_copy, "photocopy": d.photocopy}
        for d in p.documents
        if d.required
    }
    return {
        "procedure": p.code,
        "channel": rng.choice([1, 1, 1, 2, 3]),
        "outcome": "receive",
        "request": f"Đề nghị giải quyết thủ tục {p.name.lower()}",
        "sets": 1,
        "notify": rng.choice(["sms", "zalo", "none"]),
        "documents": docs,
        "missing": [],
        "reason": "",
        **person,
    }


def seed(app: Flask, *, count: int, password: str, seed_value: int = 7) -> str:
    """Create demo officers (if missing) and ``count`` dossiers; returns a summary line."""
    from commune_node.web.context import calendar as node_calendar
    from commune_node.web.context import node_identity

    rng = random.Random(seed_value)
    with app.app_context():
        ident = node_identity()
        cal: WorkingCalendar = node_calendar()
        real_clock = app.extensions["clock"]
        with write_session(app) as session:
            for username, name, roles in DEMO_OFFICERS:
                if session.scalar(select(Officer).where(Officer.username == username)) is None:
                    officers.create_officer(
                        session,
                        username=username,
                        full_name=name,
                        roles=roles,
                        password=password,
                        clock=real_clock,
                    )
        with write_session(app) as session:
            procs = catalogue.all_procedures(session)
            receiver = actor_of(session.scalars(select(Officer).filter_by(username="hoa.le")).one())
            leader = actor_of(
                session.scalars(select(Officer).filter_by(username="minh.tran")).one()
            )
        today = real_clock().astimezone(VN_TZ).date()
        day = today
        for _ in range(18):
            day = day - timedelta(days=1)
            while not cal.is_working_day(day):
                day -= timedelta(days=1)
        made = 0
        while made < count:
            if not cal.is_working_day(day):
                day += timedelta(days=1)
                continue
            at = datetime.combine(day, time(7, 45), tzinfo=VN_TZ)
            for _ in range(max(1, count // 12)):
                if made >= count:
                    break
                at += timedelta(minutes=rng.randint(10, 50))
                if at > real_clock():
                    break
                _one(app, rng, procs, ident, cal, receiver, leader, at, real_clock())
                made += 1
            day += timedelta(days=1)
            if day > today:
                day = today
                if at > real_clock():
                    break
    return f"{made} sample dossiers created; officers: hoa.le (receiver), minh.tran (leader)"


def _one(
    app: Flask,
    rng: random.Random,
    procs: list[Procedure],
    ident: Any,
    cal: WorkingCalendar,
    receiver: Any,
    leader: Any,
    at: datetime,
    now: datetime,
) -> None:
    p = rng.choice(procs)
    person = _person(rng, ident.commune_name)
    clock_at = [at]

    def clock() -> datetime:
        return clock_at[0]

    def step(minutes: int) -> bool:
        clock_at[0] = clock_at[0] + timedelta(minutes=minutes)
        return clock_at[0] < now

    with write_session(app) as session:
        row = intake.take_in(
            session,
            _intake_form(p, person, rng),
            identity=ident,
            clock=clock,
            actor=receiver,
            calendar=cal,
        )
        code = row.code
    plan = _plan(p, rng)

    for action, who, form, minutes in plan:
        if not step(minutes):
            return
        try:
            with write_session(app) as session:
                dossiers.act(
                    session,
                    code,
                    action,
                    form,
                    identity=ident,
                    clock=clock,
                    actor=receiver if who == "r" else leader,
                    calendar=cal,
                )
        except DossierError:
            return


def _plan(p: Procedure, rng: random.Random) -> list[tuple[str, str, dict[str, Any], int]]:
    roll = rng.random()
    if p.level != "commune":
        return [("forwarded", "r", {"note": ""}, 20)]
    steps: list[tuple[str, str, dict[str, Any], int]] = [("processing", "r", {"note": ""}, 30)]
    if roll < 0.15:
        missing = [d.id for d in p.documents][:1]
        steps += [
            (
                "supplement_requested",
                "r",
                {"missing": missing, "reason": "Thiếu giấy tờ", "note": ""},
                60,
            )
        ]
        if rng.random() < 0.6:
            steps += [("supplement_received", "r", {"documents": {}, "note": ""}, 60 * 24)]
    if roll > 0.3:
        steps += [
            (
                "resolved",
                "l",
                {
                    "result": "Đã giải quyết theo đề nghị",
                    "note": "",
                    "electronic_result": rng.random() < 0.6,
                    "result_no": "",
                },
                rng.randint(60, 60 * 24 * ((p.limit_days or 0) + 1)),
            )
        ]
    if roll > 0.45:
        steps += [("result_returned", "r", {"collected_by": "", "note": ""}, rng.randint(30, 600))]
    if roll > 0.6:
        steps += [("rated", "r", {"rating": rng.choice([3, 3, 3, 2, 2, 1]), "note": ""}, 5)]
    if 0.25 < roll < 0.3:
        steps = [("stopped", "l", {"reason": "Người nộp không bổ sung hồ sơ", "note": ""}, 60 * 5)]
    if 0.2 < roll < 0.25:
        steps = [("withdrawn", "r", {"reason": "Công dân đề nghị rút hồ sơ", "note": ""}, 60)]
    return steps
