# ruff: noqa: E501  (a data literal: each entry is one string of the dictionary)
"""The preset dictionary of push batches (wire format v2, see docs/sync-protocol.md).

Strings that records repeat — the record prefix and field names in canonical order, the
event types, the payload keys of the desk's actions, the published procedures' codes and
names, common Vietnamese words of names and addresses — with the most frequent last, where
zlib finds them cheapest. A compressed body names this dictionary by its Adler-32
(:data:`common.protocol.BATCH_DICT_ID`); it is frozen: changing one byte would make
every body compressed with it unreadable. A new dictionary gets a new id, and the decoder
keeps the old one.
"""

from __future__ import annotations

_PROCEDURES = (
    "1.000656.000.00.00.H38 Đăng ký khai tử",
    "1.000894.000.00.00.H38 Đăng ký kết hôn",
    "1.001022.000.00.00.H38 Đăng ký nhận cha, mẹ, con",
    "1.001193.000.00.00.H38 Đăng ký khai sinh",
    "1.001612.000.00.00.H38 Đăng ký thành lập hộ kinh doanh",
    "1.001699.000.00.00.H38 Xác định, xác định lại mức độ khuyết tật và cấp Giấy xác nhận khuyết tật",
    "1.001731.000.00.00.H38 Hỗ trợ chi phí mai táng cho đối tượng bảo trợ xã hội",
    "1.001776.000.00.00.H38 Thực hiện, điều chỉnh, thôi hưởng trợ cấp xã hội hằng tháng, hỗ trợ kinh phí chăm sóc, nuôi dưỡng hằng tháng",
    "1.002211.000.00.00.H38 Công nhận hòa giải viên",
    "1.004837.000.00.00.H38 Đăng ký giám hộ",
    "1.004859.000.00.00.H38 Đăng ký thay đổi, cải chính, bổ sung thông tin hộ tịch",
    "1.004873.000.00.00.H38 Cấp Giấy xác nhận tình trạng hôn nhân",
    "1.011441.000.00.00.H38 Đăng ký biện pháp bảo đảm bằng quyền sử dụng đất, tài sản gắn liền với đất",
    "1.011607.000.00.00.H38 Công nhận hộ nghèo, hộ cận nghèo phát sinh trong năm",
    "1.012592.000.00.00.H38 Đăng ký hoạt động tín ngưỡng",
    "1.012783.000.00.00.H38 Cấp đổi Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
    "1.012786.000.00.00.H38 Cấp lại Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất do bị mất",
    "1.013225.000.00.00.H38 Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ",
    "1.013831.000.00.00.H38 Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất trong các trường hợp chuyển đổi, chuyển nhượng, thừa kế, tặng cho, góp vốn",
    "1.013978.000.00.00.H38 Đăng ký đất đai, tài sản gắn liền với đất, cấp Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất lần đầu đối với hộ gia đình, cá nhân",
    "2.000635.000.00.00.H38 Cấp bản sao trích lục hộ tịch",
    "2.000815.000.00.00.H38 Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan, tổ chức có thẩm quyền của Việt Nam cấp hoặc chứng nhận",
    "2.000884.000.00.00.H38 Chứng thực chữ ký trong các giấy tờ, văn bản",
    "2.001019.000.00.00.H38 Chứng thực di chúc",
    "2.001035.000.00.00.H38 Chứng thực hợp đồng, giao dịch liên quan đến tài sản là động sản, quyền sử dụng đất, nhà ở",
    "3.000333.000.00.00.H38 Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam, người nước ngoài đang cư trú tại Việt Nam",
)

_WORDS = "Nguyễn Trần Lê Phạm Hoàng Huỳnh Võ Đặng Bùi Đỗ Văn Thị Đức Minh Ngọc Hữu Thanh Quang thôn làng tổ dân phố Xã Phường Thị trấn"

_RECORDS = (
    'vn-dossier/event/v1\n{"actor":"","anchor":{"root":"","size":0},"at":"2026-01-01T00:00:00+07:00","data":{"missing":["van_ban_de_nghi"],"reason":"Thiếu giấy tờ"},"dossier":"000.00.00.H00-260101-0001","key":"","node":"","prev":"","seq":1,"type":"dossier.supplement_requested"}',
    'vn-dossier/event/v1\n{"actor":"","anchor":{"root":"","size":0},"at":"2026-01-01T00:00:00+07:00","data":{"documents":{},"due":"2026-11-05T17:00:00+07:00"},"dossier":"000.00.00.H00-260101-0001","key":"","node":"","prev":"","seq":1,"type":"dossier.supplement_received"}',
    'vn-dossier/event/v1\n{"actor":"","anchor":{"root":"","size":0},"at":"2026-01-01T00:00:00+07:00","data":{"reason":"Công dân đề nghị rút hồ sơ"},"dossier":"000.00.00.H00-260101-0001","key":"","node":"","prev":"","seq":1,"type":"dossier.withdrawn"}',
    'vn-dossier/event/v1\n{"actor":"","anchor":{"root":"","size":0},"at":"2026-01-01T00:00:00+07:00","data":{"reason":"Người nộp không bổ sung hồ sơ"},"dossier":"000.00.00.H00-260101-0001","key":"","node":"","prev":"","seq":1,"type":"dossier.stopped"}',
    'vn-dossier/event/v1\n{"actor":"","anchor":{"root":"","size":0},"at":"2026-01-01T00:00:00+07:00","data":{},"dossier":"000.00.00.H00-260101-0001","key":"","node":"","prev":"","seq":1,"type":"dossier.forwarded"}',
    'vn-dossier/event/v1\n{"actor":"","anchor":{"root":"","size":0},"at":"2026-01-01T00:00:00+07:00","data":{"rating":3},"dossier":"000.00.00.H00-260101-0001","key":"","node":"","prev":"","seq":1,"type":"dossier.rated"}',
    'vn-dossier/event/v1\n{"actor":"","anchor":{"root":"","size":0},"at":"2026-01-01T00:00:00+07:00","data":{},"dossier":"000.00.00.H00-260101-0001","key":"","node":"","prev":"","seq":1,"type":"dossier.result_returned"}',
    'vn-dossier/event/v1\n{"actor":"","anchor":{"root":"","size":0},"at":"2026-01-01T00:00:00+07:00","data":{"electronic_result":true,"result":"Đã giải quyết theo đề nghị"},"dossier":"000.00.00.H00-260101-0001","key":"","node":"","prev":"","seq":1,"type":"dossier.resolved"}',
    'vn-dossier/event/v1\n{"actor":"","anchor":{"root":"","size":0},"at":"2026-01-01T00:00:00+07:00","data":{},"dossier":"000.00.00.H00-260101-0001","key":"","node":"","prev":"","seq":1,"type":"dossier.processing"}',
    'vn-dossier/event/v1\n{"actor":"","anchor":{"root":"","size":0},"at":"2026-01-01T00:00:00+07:00","data":{"applicant":{"address":"thôn , Xã ","email":"","id_number":"0","name":"Nguyễn Văn ","phone":"09"},"channel":1,"documents":{"bien_ban_bau":{"certified_copy":0,"original":1,"photocopy":0},"van_ban_de_nghi":{"certified_copy":0,"original":1,"photocopy":0}},"due":"2026-11-04T17:00:00+07:00","fee":0,"level":"commune","limit_days":5,"notify":"sms","procedure":"1.002211.000.00.00.H38","procedure_name":"Công nhận hòa giải viên","receiver":"","request":"Đề nghị giải quyết thủ tục công nhận hòa giải viên","sets":1},"dossier":"000.00.00.H00-260101-0001","key":"","node":"","prev":"","seq":1,"type":"dossier.received"}',
)

BATCH_DICT_V1: bytes = "\n".join((*_PROCEDURES, _WORDS, *_RECORDS)).encode("utf-8")
