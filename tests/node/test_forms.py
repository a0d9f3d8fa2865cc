"""The printed forms (Circular 03/2025 numbering) carry what BRIEF §4 and the domain notes say."""

from __future__ import annotations

import html as htmllib
import re
from datetime import datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete as sa_delete

from common.calendar import VN_TZ
from commune_node import db
from commune_node.models import FormNumber
from commune_node.services.identity import set_setting
from commune_node.web.form_data import unit_of
from commune_node.web.printing import qr_svg
from tests.node.conftest import Node, make_node
from tests.node.desk import APPLICANT, MARITAL, STATUS_SLIP, act, login, logout, take_in, text
from tests.support import MovableClock

HEADER = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
STATUS_BASE = "https://dichvucong.quangngai.gov.vn/tra-cuu"


def page(client: FlaskClient, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200, text(r)
    return htmllib.unescape(text(r))


def assert_all(html: str, *needles: str) -> None:
    missing = [n for n in needles if n not in html]
    assert not missing, f"missing on the form: {missing}"


def national(html: str) -> None:
    assert_all(html, *HEADER, "ỦY BAN NHÂN DÂN XÃ ĐĂK PXI", 'id="print-button"', "print.css")
    assert "CỘNG HOÀ" not in html  # Decree 30/2020 writes "HÒA"
    assert "UBND Xã" not in html  # mid-sentence the unit type is lower case


@pytest.fixture
def received(client: FlaskClient) -> str:
    login(client, "receiver")
    return take_in(client, MARITAL, sets="2")


def test_form_01_receipt_and_appointment(client: FlaskClient, received: str) -> None:
    html = page(client, f"/print/01/{received}")
    national(html)
    assert_all(
        html,
        "Mẫu số 01",
        f'Mã hồ sơ: <b id="dossier-code">{received}</b>',
        "Trung tâm Phục vụ hành chính công xã Đăk Pxi",  # receiving unit
        APPLICANT["applicant_name"],
        APPLICANT["id_number"],
        APPLICANT["address"],
        APPLICANT["phone"],
        APPLICANT["email"],
        APPLICANT["request"],
        "Cấp Giấy xác nhận tình trạng hôn nhân",
        "Tờ khai cấp Giấy xác nhận tình trạng hôn nhân (theo mẫu)",
        "Bản chính", "Bản sao chứng thực", "Bản chụp",
        "Số lượng hồ sơ: <b>2</b> (bộ)",
        "3 ngày làm việc",  # legal processing time
        "09 giờ 00 phút, ngày 23/11/2026",  # time received (24/11 is a holiday)
        "17 giờ 00 phút, ngày 27/11/2026",  # appointment
        "Đăng ký nhận kết quả tại",
        "số thứ tự: <b>1</b>",  # tracking-book entry
        "Người nộp hồ sơ", "Người tiếp nhận hồ sơ", "Lê Thị Hoa",
    )  # fmt: skip
    assert "giấy tiếp nhận hồ sơ và hẹn trả kết quả" in html.lower()


def test_form_01_qr_encodes_only_the_status_address(
    node: Node, client: FlaskClient, received: str
) -> None:
    node.app.config["PUBLIC_STATUS_BASE"] = STATUS_BASE + "/"
    html = page(client, f"/print/01/{received}")
    qr = re.search(r'<figure class="qr".*?</figure>', html, flags=re.S)
    assert qr, "form 01 has no QR code"
    svg = re.search(r"<svg.*?</svg>", qr.group(0), flags=re.S)
    assert svg and "<path" in svg.group(0)
    # An absolute address a phone can open (the relative /status path could not be).
    payload = f"{STATUS_BASE}?code={received}"
    # The SVG is exactly the QR code of the status address: nothing else is encoded in it.
    assert svg.group(0) == str(qr_svg(payload))
    assert f"<code>{payload}</code>" in qr.group(0)
    for personal in (APPLICANT["applicant_name"], APPLICANT["id_number"], APPLICANT["phone"]):
        assert personal not in qr.group(0)
    assert "<img" not in qr.group(0)


def test_form_01_without_a_public_address_prints_the_code_and_no_qr(
    client: FlaskClient, received: str
) -> None:
    html = page(client, f"/print/01/{received}")
    assert 'id="status-qr"' not in html and "<svg" not in html
    assert "/status?code=" not in html
    assert re.search(r'id="status-code".*?<b>' + re.escape(received) + "</b>", html, flags=re.S)


def test_admin_page_warns_while_the_public_address_is_missing(
    node: Node, client: FlaskClient
) -> None:
    login(client, "admin")
    html = page(client, "/admin/officers")
    assert 'id="no-status-base"' in html
    assert "PUBLIC_STATUS_BASE" in html and "config.py" in html
    node.app.config["PUBLIC_STATUS_BASE"] = STATUS_BASE
    assert 'id="no-status-base"' not in page(client, "/admin/officers")


def test_form_01_numbers_dossiers_in_the_tracking_book(client: FlaskClient, received: str) -> None:
    second = take_in(client, STATUS_SLIP)
    assert "số thứ tự: <b>2</b>" in page(client, f"/print/01/{second}")


def test_form_02_request_to_supplement(client: FlaskClient) -> None:
    login(client, "receiver")
    code = take_in(
        client, MARITAL, received=[], outcome="supplement", reason="Chưa có tờ khai theo mẫu"
    )
    html = page(client, f"/print/02/{code}")
    national(html)
    assert_all(
        html,
        "Mẫu số 02",
        "phiếu yêu cầu bổ sung, hoàn thiện hồ sơ".capitalize(),
        "Số: 1/HDHS",  # the first request of the year
        "Đăk Pxi, ngày 23 tháng 11 năm 2026",
        APPLICANT["applicant_name"], APPLICANT["address"], APPLICANT["phone"], APPLICANT["email"],
        "Bản chính", "Bản sao chứng thực", "Bản chụp",
        "Tờ khai cấp Giấy xác nhận tình trạng hôn nhân (theo mẫu)",
        "Lý do: Chưa có tờ khai theo mẫu",
        "liên hệ với", "Lê Thị Hoa", "số điện thoại",
    )  # fmt: skip
    # only what is missing is listed: the optional divorce papers were not asked for
    assert "Bản sao bản án" not in html


def test_form_03_refusal(client: FlaskClient) -> None:
    login(client, "receiver")
    code = take_in(client, MARITAL, outcome="refuse", reason="Người yêu cầu không cư trú tại xã")
    html = page(client, f"/print/03/{code}")
    national(html)
    assert_all(
        html,
        "Mẫu số 03",
        "Phiếu từ chối tiếp nhận giải quyết hồ sơ",
        APPLICANT["applicant_name"],
        "không tiếp nhận",
        "Người yêu cầu không cư trú tại xã",
        "Lê Thị Hoa",
    )


def test_form_04_apology_and_new_appointment(
    node: Node, client: FlaskClient, received: str
) -> None:
    logout(client)
    node.clock.set(node.clock.now.replace(day=25, hour=10))
    login(client, "leader")
    r = act(client, received, "apologised", reason="Chờ xác minh tại xã khác", new_due="2026-12-02")
    assert r.status_code == 302
    html = page(client, f"/print/04/{received}")
    national(html)
    assert_all(
        html,
        "Mẫu số 04",
        "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết hồ sơ",
        f"Kính gửi: Ông/Bà <b>{APPLICANT['applicant_name']}</b>",
        APPLICANT["address"], APPLICANT["phone"],
        "Ngày <b>23/11/2026</b>",  # date received
        "Cấp Giấy xác nhận tình trạng hôn nhân",  # the request
        "17 giờ 00 phút, ngày 27/11/2026",  # original appointment
        "Lý do: Chờ xác minh tại xã khác",
        "UBND xã Đăk Pxi xin lỗi",
        "17 giờ 00 phút, ngày 02/12/2026",  # new appointment
        "Thủ trưởng cơ quan", "Trần Văn Minh",  # signed by the head of the agency
    )  # fmt: skip


def test_form_06_processing_control_slip(node: Node, client: FlaskClient, received: str) -> None:
    assert act(client, received, "processing").status_code == 302
    logout(client)
    login(client, "leader")
    node.clock.set(node.clock.now.replace(day=25, hour=14))
    assert act(client, received, "resolved", result="Đã cấp giấy").status_code == 302
    logout(client)
    login(client, "receiver")
    node.clock.set(node.clock.now.replace(day=30))  # Monday after the due Friday
    assert act(client, received, "result_returned").status_code == 302
    html = page(client, f"/print/06/{received}")
    national(html)
    assert_all(
        html,
        "Mẫu số 06",
        "Phiếu kiểm soát quá trình giải quyết hồ sơ",
        f"Mã hồ sơ: <b>{received}</b>",
        f"Kèm theo hồ sơ của: <b>{APPLICANT['applicant_name']}</b>",
        "Cơ quan (bộ phận) giải quyết hồ sơ: UBND xã Đăk Pxi",
        "Cơ quan phối hợp giải quyết hồ sơ",
    )
    rows = re.findall(r"<tr>\s*<td class=\"c\">\d+</td>(.*?)</tr>", html, flags=re.S)
    assert len(rows) == 4  # received, processing, resolved, returned
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S) for row in rows]
    assert "Tiếp nhận hồ sơ" in cells[0][0]
    assert cells[0][2:4] == [APPLICANT["applicant_name"], "Lê Thị Hoa"]  # giver, receiver
    assert cells[0][1] == "09 giờ 00 phút, ngày 23/11/2026"
    assert cells[2][2:5] == ["Trần Văn Minh", "Bộ phận Một cửa", "Trước hạn"]  # resolved early
    assert cells[3][2:5] == ["Lê Thị Hoa", APPLICANT["applicant_name"], "Trễ hạn"]


def test_form_07_tracking_book(node: Node, client: FlaskClient, received: str) -> None:
    node.clock.set(node.clock.now.replace(day=26))
    later = take_in(client, STATUS_SLIP, applicant_name="Trần Thị Bình")
    html = page(client, "/print/07?from=2026-11-23&to=2026-11-23")
    national(html)
    assert_all(
        html,
        "Mẫu số 07",
        "Sổ theo dõi hồ sơ",
        "Từ ngày 23/11/2026 đến ngày 23/11/2026",
        received,
        "Cấp Giấy xác nhận tình trạng hôn nhân",
        APPLICANT["applicant_name"], APPLICANT["address"], APPLICANT["phone"],
        "UBND xã Đăk Pxi",  # lead agency
        "Nhận hồ sơ", "Hẹn trả kết quả", "Chuyển hồ sơ đến cơ quan giải quyết",
        "Nhận kết quả từ cơ quan giải quyết", "Trả kết quả", "Ghi chú",
        "09:00 23/11/2026", "17:00 27/11/2026",
    )  # fmt: skip
    assert later not in html
    both = page(client, "/print/07?from=2026-11-01&to=2026-11-30")
    assert received in both and later in both
    assert re.search(r'<td class="c">2</td><td>' + re.escape(later), both)
    assert client.get("/print/07?from=2026-11-30&to=2026-11-01").status_code == 422


def test_forms_need_their_event_and_a_known_kind(client: FlaskClient, received: str) -> None:
    assert client.get(f"/print/02/{received}").status_code == 404
    assert client.get(f"/print/05/{received}").status_code == 404  # not stopped
    assert client.get(f"/print/08/{received}").status_code == 404
    assert client.get("/print/01/000.00.12.H26-261123-9999").status_code == 404


def test_form_02_numbers_run_per_year_without_gaps(node: Node, client: FlaskClient) -> None:
    login(client, "receiver")
    take_in(client, MARITAL)  # other records between the requests do not take numbers
    first = take_in(client, MARITAL, received=[], outcome="supplement", reason="Thiếu tờ khai")
    take_in(client, STATUS_SLIP)
    second = take_in(client, MARITAL, received=[], outcome="supplement", reason="Thiếu tờ khai")
    assert "Số: 1/HDHS" in page(client, f"/print/02/{first}")
    assert "Số: 2/HDHS" in page(client, f"/print/02/{second}")
    assert "Số: 1/HDHS" in page(client, f"/print/02/{first}")  # a reprint keeps its number
    node.clock.set(datetime(2027, 1, 4, 9, 0, tzinfo=VN_TZ))  # a new year starts again at 1
    third = take_in(client, MARITAL, received=[], outcome="supplement", reason="Thiếu tờ khai")
    assert "Số: 1/HDHS" in page(client, f"/print/02/{third}")


def test_form_02_numbers_go_on_after_records_with_none_stored(
    node: Node, client: FlaskClient
) -> None:
    """Records written before numbering began (or restored from the hub) have no stored
    number: they keep their place in the year, and the next request goes on after them."""
    login(client, "receiver")
    first = take_in(client, MARITAL, received=[], outcome="supplement", reason="Thiếu tờ khai")
    second = take_in(client, MARITAL, received=[], outcome="supplement", reason="Thiếu tờ khai")
    with db.write_session(node.app) as session:
        session.execute(sa_delete(FormNumber))
    assert "Số: 1/HDHS" in page(client, f"/print/02/{first}")
    assert "Số: 2/HDHS" in page(client, f"/print/02/{second}")
    third = take_in(client, MARITAL, received=[], outcome="supplement", reason="Thiếu tờ khai")
    assert "Số: 3/HDHS" in page(client, f"/print/02/{third}")


def test_form_05_notice_of_stopping(node: Node, client: FlaskClient, received: str) -> None:
    logout(client)
    node.clock.set(node.clock.now.replace(day=25, hour=10))
    login(client, "leader")
    r = act(client, received, "stopped", reason="Người yêu cầu đã chết trước khi có kết quả")
    assert r.status_code == 302
    assert r.headers["Location"].endswith(f"/print/05/{received}")  # offered right after the stop
    html = page(client, f"/print/05/{received}")
    national(html)
    assert_all(
        html,
        "Mẫu số 05",
        "Thông báo dừng giải quyết hồ sơ",
        f"Mã hồ sơ: <b>{received}</b>",
        f"Kính gửi: Ông/Bà <b>{APPLICANT['applicant_name']}</b>",
        APPLICANT["address"],
        "Ngày <b>23/11/2026</b>",  # received
        "Cấp Giấy xác nhận tình trạng hôn nhân",
        "Ngày <b>25/11/2026</b>, UBND xã Đăk Pxi dừng giải quyết hồ sơ",
        "Người yêu cầu đã chết trước khi có kết quả",  # the reason of the stop record
        "Đăk Pxi, ngày 25 tháng 11 năm 2026",
        "Thủ trưởng cơ quan", "Trần Văn Minh",
    )  # fmt: skip
    dossier = page(client, f"/dossiers/{received}")
    assert f"/print/05/{received}" in dossier
    assert "Thông báo dừng giải quyết hồ sơ (mẫu 05)" in dossier


def test_a_special_zone_is_named_as_one(tmp_path: Path, clock: MovableClock) -> None:
    node = make_node(tmp_path / "zone", clock)
    with db.write_session(node.app) as session:
        set_setting(session, "commune_name", "Đặc khu Lý Sơn")
    node.app.extensions.pop("identity", None)
    client = node.app.test_client()
    login(client, "receiver")
    code = take_in(client, MARITAL)
    html = page(client, f"/print/01/{code}")
    assert_all(
        html,
        "ỦY BAN NHÂN DÂN ĐẶC KHU LÝ SƠN",
        "Trung tâm Phục vụ hành chính công đặc khu Lý Sơn",
        "Lý Sơn, ngày 23 tháng 11 năm 2026",
    )
    assert "Đặc khu Lý Sơn, ngày" not in html
    assert "UBND đặc khu Lý Sơn" in page(client, f"/print/06/{code}")
    db.database(node.app).engine.dispose()


@pytest.mark.parametrize(
    ("name", "kind", "place", "council"),
    [
        ("Xã Đăk Pxi", "xã", "Đăk Pxi", "ỦY BAN NHÂN DÂN XÃ ĐĂK PXI"),
        ("Phường Trương Quang Trọng", "phường", "Trương Quang Trọng", "ỦY BAN NHÂN DÂN PHƯỜNG TRƯƠNG QUANG TRỌNG"),
        ("Đặc khu  Lý Sơn", "đặc khu", "Lý Sơn", "ỦY BAN NHÂN DÂN ĐẶC KHU LÝ SƠN"),
        ("ĐẶC KHU Côn Đảo", "đặc khu", "Côn Đảo", "ỦY BAN NHÂN DÂN ĐẶC KHU CÔN ĐẢO"),
        ("Xã", "", "Xã", "ỦY BAN NHÂN DÂN XÃ"),
        ("Xãhội", "", "Xãhội", "ỦY BAN NHÂN DÂN XÃHỘI"),
    ],
)  # fmt: skip
def test_the_unit_type_comes_from_the_first_words(
    name: str, kind: str, place: str, council: str
) -> None:
    unit = unit_of(name)
    assert (unit.kind, unit.place, unit.council) == (kind, place, council)
