"""The hub's portal message for a procedure limited in working hours: the catalogue's
``limit_hours`` goes out as ThoiGianGiaiQuyet with DonViTinh "Giờ làm việc"."""

from __future__ import annotations

from datetime import datetime

from central_hub.services import portal_outbox
from common import keys, lifecycle, portal, record
from common.catalogue import Catalogue, load_sample_catalogue
from common.lifecycle import Side
from tests.support import VN, hour_limited_procedure_dict

CODE = "000.00.12.H26-261123-0001"
AT = datetime(2026, 11, 23, 9, 0, tzinfo=VN)


def change_for(procedure: str, data: dict[str, object]) -> portal_outbox.Change:
    key = keys.generate()
    body = {"procedure": procedure, "level": "commune", "channel": 1, **data}
    rec = record.make(
        private_key=key, node=keys.key_id(key), seq=1, prev=None, at=AT, anchor=None,
        dossier=CODE, type="dossier.received", actor="hoa.le", data=body,
    )  # fmt: skip
    after = lifecycle.apply(
        None, event_type="dossier.received", data=body, at=AT, code=CODE, side=Side.COMMUNE
    )
    return portal_outbox.Change(rec=rec, before=None, after=after, leaf=0)


def build(change: portal_outbox.Change, catalogue: Catalogue) -> dict[str, object]:
    intake = portal_outbox.Intake(owner_name="Nguyễn Thị Hồng", owner_id="062195001234",
                                  taken_at=AT)  # fmt: skip
    return portal_outbox.build(change, intake=intake, catalogue=catalogue,
                               commune_agency="000.00.12.H26", hub_agency="000.00.00.H26")  # fmt: skip


def test_an_hour_limit_goes_out_in_working_hours() -> None:
    data = load_sample_catalogue().to_dict()
    data["procedures"].append(hour_limited_procedure_dict())
    catalogue = Catalogue.from_dict(data)
    msg = build(
        change_for("TEST.HOURS.4", {"limit_hours": 4, "due": "2026-11-23T14:30:00+07:00"}),
        catalogue,
    )
    assert (msg["ThoiGianGiaiQuyet"], msg["DonViTinh"]) == (4, "Giờ làm việc")
    assert msg["NgayHenTra"] == "20261123143000"
    assert portal.problems(msg) == []
    marital = "1.004873.000.00.00.H38"
    days = build(
        change_for(marital, {"limit_days": 3, "due": "2026-11-27T17:00:00+07:00"}), catalogue
    )
    assert (days["ThoiGianGiaiQuyet"], days["DonViTinh"]) == (3, "Ngày làm việc")
