"""The printed forms (Circular 03/2025 numbering) carry what BRIEF §4 and the domain notes say."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from flask.testing import FlaskClient

from commune_node.web.printing import qr_svg
from tests.node.conftest import Node
from tests.node.desk import APPLICANT, MARITAL, STATUS_SLIP, act, login, logout, take_in, text

HEADER = ("CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")


def page(client: FlaskClient, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200, text(r)
    return htmllib.unescape(text(r))


def assert_all(html: str, *needles: str) -> None:
    missing = [n for n in needles if n not in html]
    assert not missing, f"missing on the form: {missing}"


def national(html: str) -> None:
    assert_all(html, *HEADER, "UBND XÃ ĐĂK PXI", 'id="print-button"', "print.css")


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


def test_form_01_qr_encodes_only_the_status_path(client: FlaskClient, received: str) -> None:
    html = page(client, f"/print/01/{received}")
    qr = re.search(r'<figure class="qr".*?</figure>', html, flags=re.S)
    assert qr, "form 01 has no QR code"
    svg = re.search(r"<svg.*?</svg>", qr.group(0), flags=re.S)
    assert svg and "<path" in svg.group(0)
    payload = f"/status?code={received}"
    # The SVG is exactly the QR code of the status path: nothing else is encoded in it.
    assert svg.group(0) == str(qr_svg(payload))
    for personal in (APPLICANT["applicant_name"], APPLICANT["id_number"], APPLICANT["phone"]):
        assert personal not in qr.group(0)
    assert "http" not in payload and "<img" not in qr.group(0)


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
        "/HDHS",
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
        "Văn bản xin lỗi và hẹn lại ngày trả kết quả",
        f"Kính gửi: Ông/Bà <b>{APPLICANT['applicant_name']}</b>",
        APPLICANT["address"], APPLICANT["phone"],
        "Ngày <b>23/11/2026</b>",  # date received
        "Cấp Giấy xác nhận tình trạng hôn nhân",  # the request
        "17 giờ 00 phút, ngày 27/11/2026",  # original appointment
        "Lý do: Chờ xác minh tại xã khác",
        "xin lỗi",
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
        "Cơ quan (bộ phận) giải quyết hồ sơ: UBND Xã Đăk Pxi",
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
        "UBND Xã Đăk Pxi",  # lead agency
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
    assert client.get(f"/print/05/{received}").status_code == 404
    assert client.get("/print/01/000.00.12.H26-261123-9999").status_code == 404
