"""The node's JSON API: the whole lifecycle, and every refusal naming its field while
storing nothing — no dossier, no event, no sequence number, no dossier number."""

from __future__ import annotations

import base64
import threading
import unicodedata
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from common import record
from commune_node import db
from commune_node.models import DayCounter, Dossier, Event
from commune_node.services import eventlog, personal_data
from tests.node.conftest import AGENCY, Node
from tests.support import VN

MARITAL = "1.004873.000.00.00.H38"  # 3 working days, one required document: to_khai


def form(**over: Any) -> dict[str, Any]:
    f: dict[str, Any] = {
        "procedure": MARITAL,
        "applicant_name": "Nguyễn Thị Hồng",
        "id_number": "062195001234",
        "phone": "0912 345 678",
        "address": "thôn Kon Klor, xã Đăk Pxi",
        "documents": {"to_khai": {"original": 1}},
    }
    f.update(over)
    return f


def counts(node: Node) -> tuple[int, int, int]:
    with db.read_session(node.app) as s:
        return (
            s.scalar(select(func.count()).select_from(Dossier)) or 0,
            s.scalar(select(func.count()).select_from(Event)) or 0,
            s.scalar(select(func.coalesce(func.sum(DayCounter.last), 0))) or 0,
        )


def create(node: Node, client: FlaskClient, **over: Any) -> dict[str, Any]:
    r = node.api(client, "POST", "/dossiers", json=form(**over))
    assert r.status_code == 201, r.json
    return dict(r.json["dossier"])


def act(
    node: Node, client: FlaskClient, code: str, action: str, who: str = "receiver", **body: Any
) -> Any:
    return node.api(client, "POST", f"/dossiers/{code}/actions/{action}", who=who, json=body)


def test_intake_writes_a_signed_chained_record(node: Node, client: FlaskClient) -> None:
    d = create(node, client)
    assert d["code"] == f"{AGENCY}-261123-0001"
    assert d["status"] == {"code": 2, "vi": "Được tiếp nhận", "en": "Accepted"}
    assert d["applicant"]["phone"] == "0912345678"  # normalised
    # Received Monday 09:00; Tue 24 Nov is a public holiday in the calendar; 3 working days.
    assert d["due_at"] == "2026-11-27T17:00:00+07:00"
    r = node.api(client, "GET", f"/dossiers/{d['code']}")
    (ev,) = r.json["dossier"]["events"]
    rec = record.parse(base64.b64decode(ev["record"]))
    with node.app.app_context():
        from commune_node.web.context import node_identity

        rec.verify(node_identity().key.public_key())
    assert rec.seq == 1 and rec.prev is None and rec.type == "dossier.received"
    assert rec.actor == "hoa.le" and rec.version == 2
    # the record commits to the applicant's name; the name itself is kept apart
    assert "name" not in rec.data["applicant"] and "applicant.name" in rec.data["pd"]
    assert "Nguyễn Thị Hồng".encode() not in rec.raw
    assert d["applicant"]["name"] == "Nguyễn Thị Hồng"
    d2 = create(node, client)
    assert d2["code"].endswith("-0002")
    r = node.api(client, "GET", "/events?after=1")
    (e2,) = r.json["events"]
    assert record.parse(base64.b64decode(e2["record"])).prev == rec.id


def test_whole_lifecycle_through_the_api(node: Node, client: FlaskClient) -> None:
    code = create(node, client)["code"]
    assert act(node, client, code, "processing").status_code == 200
    r = act(
        node,
        client,
        code,
        "resolved",
        who="leader",
        result="Cấp giấy xác nhận",
        electronic_result=True,
    )
    assert r.json["dossier"]["status"]["code"] == 9
    r = act(node, client, code, "fee_paid", amount=5000, receipt_no="BL-01")
    assert r.json["dossier"]["fees_paid"] == 5000
    assert act(node, client, code, "result_returned").json["dossier"]["status"]["code"] == 10
    assert act(node, client, code, "rated", rating=3).json["dossier"]["rating"] == 3
    r = node.api(client, "GET", f"/dossiers/{code}")
    types = [e["type"] for e in r.json["dossier"]["events"]]
    assert types == [
        "dossier.received",
        "dossier.processing",
        "dossier.resolved",
        "dossier.fee_paid",
        "dossier.result_returned",
        "dossier.rated",
    ]


@pytest.mark.parametrize(
    ("over", "field", "code"),
    [
        ({"id_number": "06219500123"}, "id_number", "cccd_length"),
        ({"id_number": "999195001234"}, "id_number", "cccd_province"),
        ({"phone": "0212345678"}, "phone", "phone_landline"),
        ({"phone": "0412345678"}, "phone", "phone_prefix"),
        ({"applicant_name": "Nguyen 2"}, "applicant_name", None),
        ({"procedure": "9.999999"}, "procedure", "unknown_procedure"),
        (
            {"documents": {"giay_khac": {"original": 1}, "to_khai": {"original": 1}}},
            "documents.giay_khac",
            "not_in_catalogue",
        ),
        ({"documents": {}}, "documents", "incomplete"),
        (
            {"documents": {"to_khai": {"original": 1.5}}},
            "documents.to_khai.value.original",
            "invalid",
        ),
        ({"channel": 4}, "channel", "invalid"),
        ({"sets": 0}, "sets", "invalid"),
        ({"extra": "x"}, "extra", "invalid"),
        ({"applicant_name": ""}, "applicant_name", "invalid"),
        ({"notify": "email"}, "email", "required_for_notify"),
    ],
)
def test_bad_intake_names_the_field_and_stores_nothing(
    node: Node, client: FlaskClient, over: dict[str, Any], field: str, code: str | None
) -> None:
    before = counts(node)
    r = node.api(client, "POST", "/dossiers", json=form(**over))
    assert r.status_code == 422, r.json
    err = r.json["error"]
    assert err["code"] == "invalid_input"
    problems = {p["field"]: p for p in err["errors"]}
    assert field in problems, problems
    if code:
        assert problems[field]["code"] == code
    assert (
        problems[field]["vi"]
        and problems[field]["en"]
        and problems[field]["vi"] != problems[field]["en"]
    )
    assert counts(node) == before
    assert create(node, client)["code"].endswith("-0001")  # no number was used up


def test_decomposed_text_from_the_api_is_stored_composed(node: Node, client: FlaskClient) -> None:
    """Unikey's "Unicode tổ hợp" or text pasted from a PDF arrives decomposed (NFD): every
    text field is normalised to NFC before it is checked, so the dossier is taken in."""
    nfd = {
        "applicant_name": unicodedata.normalize("NFD", "Nguyễn Thị Hồng"),
        "address": unicodedata.normalize("NFD", "Thôn Đăk Rế, xã Đăk Pxi"),
        "request": unicodedata.normalize("NFD", "Xác nhận tình trạng hôn nhân"),
    }
    d = create(node, client, **nfd)
    r = node.api(client, "GET", f"/dossiers/{d['code']}")
    (ev,) = r.json["dossier"]["events"]
    rec = record.parse(base64.b64decode(ev["record"]))
    with db.read_session(node.app) as s:
        data = personal_data.data_of(s, rec)  # the values the record commits to, kept apart
    assert data["applicant"]["name"] == "Nguyễn Thị Hồng"
    assert data["applicant"]["address"] == "Thôn Đăk Rế, xã Đăk Pxi"
    assert data["request"] == "Xác nhận tình trạng hôn nhân"
    r = act(node, client, d["code"], "processing", note=unicodedata.normalize("NFD", "Đã xử lý"))
    assert r.status_code == 200, r.json


def test_a_foreigner_applies_with_a_passport(node: Node, client: FlaskClient) -> None:
    """The criminal-record certificate is also for foreigners residing in Viet Nam, who hold
    a passport, not a CCCD."""
    d = create(node, client, procedure="3.000333.000.00.00.H38", id_type="passport",
               id_number="n 1234567", applicant_name="John Smith",
               documents={"to_khai": {"original": 1}})  # fmt: skip
    assert d["applicant"]["id_number"] == "N1234567"
    r = node.api(client, "GET", f"/dossiers/{d['code']}")
    (ev,) = r.json["dossier"]["events"]
    rec = record.parse(base64.b64decode(ev["record"]))
    with db.read_session(node.app) as s:
        applicant = personal_data.data_of(s, rec)["applicant"]
    assert "applicant.id_number" in rec.data["pd"] and b"N1234567" not in rec.raw
    assert applicant["id_type"] == "passport" and applicant["id_number"] == "N1234567"
    r = node.api(client, "POST", "/dossiers", json=form(id_type="passport", id_number="AB1"))
    assert r.status_code == 422
    assert {p["code"] for p in r.json["error"]["errors"]} == {"passport_number"}
    r = node.api(client, "POST", "/dossiers", json=form(id_type="visa"))
    assert r.status_code == 422 and r.json["error"]["errors"][0]["field"] == "id_type"


def test_an_intake_sent_twice_with_one_key_is_one_dossier(node: Node, client: FlaskClient) -> None:
    """An API client retrying after a lost answer sends the same Idempotency-Key: it gets
    the dossier the first request made, and no number is used up twice."""
    key = {"Idempotency-Key": "retry-7f3a"}
    first = node.api(client, "POST", "/dossiers", json=form(), headers=key)
    assert first.status_code == 201
    before = counts(node)
    again = node.api(client, "POST", "/dossiers", json=form(), headers=key)
    assert again.status_code == 201
    assert again.json == first.json
    assert counts(node) == before
    other = node.api(client, "POST", "/dossiers", json=form(applicant_name="Lê Văn Bình"),
                     headers=key)  # fmt: skip
    assert other.status_code == 422
    (problem,) = other.json["error"]["errors"]
    assert (problem["field"], problem["code"]) == ("Idempotency-Key", "idempotency_key_reused")
    bad = node.api(client, "POST", "/dossiers", json=form(), headers={"Idempotency-Key": "é"})
    assert bad.status_code == 422 and bad.json["error"]["errors"][0]["field"] == "Idempotency-Key"
    assert counts(node) == before
    assert create(node, client)["code"].endswith("-0002")  # without a key: a new dossier


def test_illegal_transition_and_role_refusals_store_nothing(
    node: Node, client: FlaskClient
) -> None:
    code = create(node, client, outcome="refuse", reason="Không thuộc thẩm quyền")["code"]
    before = counts(node)
    r = act(node, client, code, "result_returned")
    assert r.status_code == 409 and r.json["error"]["code"] == "illegal_transition"
    assert (
        "Refused" in r.json["error"]["message"]
        and "Không được tiếp nhận" in r.json["error"]["message_vi"]
    )
    code2 = create(node, client)["code"]
    before = counts(node)
    r = act(node, client, code2, "resolved", result="x")  # a receiving officer may not decide
    assert r.status_code == 403 and r.json["error"]["code"] == "role_not_allowed"
    r = act(node, client, code2, "resolved", who="admin", result="x")
    assert r.status_code == 403
    assert counts(node) == before


def test_supplement_pauses_the_clock_and_moves_the_due_date(
    node: Node, client: FlaskClient
) -> None:
    code = create(node, client)["code"]  # due Fri 27 Nov 17:00
    node.clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=VN))  # Wednesday
    r = act(
        node,
        client,
        code,
        "supplement_requested",
        missing=["to_khai"],
        reason="Tờ khai thiếu chữ ký",
    )
    assert r.json["dossier"]["status"]["code"] == 5 and r.json["dossier"]["supplements"] == 1
    node.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=VN))  # next Monday
    r = act(node, client, code, "supplement_received", documents={"to_khai": {"original": 1}})
    d = r.json["dossier"]
    # Paused Wednesday → Monday: Thursday, Friday, Monday = 3 working days later.
    assert d["status"]["code"] == 2 and d["due_at"] == "2026-12-02T17:00:00+07:00"


def test_supplement_may_only_list_catalogue_documents(node: Node, client: FlaskClient) -> None:
    code = create(node, client)["code"]
    before = counts(node)
    r = act(node, client, code, "supplement_requested", missing=["so_ho_khau"], reason="x")
    assert r.status_code == 422 and r.json["error"]["errors"][0]["field"] == "missing.so_ho_khau"
    assert counts(node) == before


def test_apology_by_leader_before_due_with_a_later_working_day(
    node: Node, client: FlaskClient
) -> None:
    code = create(node, client)["code"]
    r = act(node, client, code, "apologised", reason="Chờ xác minh", new_due="2026-12-02")
    assert r.status_code == 403  # receiving officer
    r = act(
        node, client, code, "apologised", who="leader", reason="Chờ xác minh", new_due="2026-12-05"
    )
    assert r.status_code == 422 and r.json["error"]["errors"][0]["field"] == "new_due"  # Saturday
    r = act(
        node, client, code, "apologised", who="leader", reason="Chờ xác minh", new_due="2026-12-02"
    )
    assert r.status_code == 200 and r.json["dossier"]["due_at"] == "2026-12-02T17:00:00+07:00"
    # Past the due date a second letter is still issued: recorded as late, with its new date.
    node.clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=VN))
    r = act(node, client, code, "apologised", who="leader", reason="Lần hai", new_due="2026-12-09")
    assert r.status_code == 200 and r.json["dossier"]["due_at"] == "2026-12-09T17:00:00+07:00"
    r = act(node, client, code, "apologised", who="leader", reason="Lần ba", new_due="2026-12-08")
    assert r.status_code == 409 and "later than" in r.json["error"]["message"]
    from tests.node.desk import login

    desk = node.app.test_client()
    login(desk, "leader")
    page = desk.get(f"/dossiers/{code}").get_data(as_text=True)
    assert page.count('<span class="badge late">xin lỗi muộn</span>') == 1  # the second one


def test_list_filters(node: Node, client: FlaskClient) -> None:
    a = create(node, client)["code"]
    b = create(
        node,
        client,
        applicant_name="Trần Văn Đức",
        procedure="2.000884.000.00.00.H38",
        documents={"giay_to_ky": {"original": 1}, "giay_to_tuy_than": {"photocopy": 1}},
    )["code"]
    act(node, client, a, "processing")
    r = node.api(client, "GET", "/dossiers?q=tran van duc")
    assert [d["code"] for d in r.json["dossiers"]] == [b]
    r = node.api(client, "GET", "/dossiers?status=4")
    assert [d["code"] for d in r.json["dossiers"]] == [a]
    r = node.api(client, "GET", "/dossiers?due=today")  # the same-day procedure is due today
    assert [d["code"] for d in r.json["dossiers"]] == [b]
    node.clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=VN))
    r = node.api(client, "GET", "/dossiers?due=overdue")
    assert {d["code"] for d in r.json["dossiers"]} == {a, b}
    for bad in ("status=11", "due=later", "limit=0", "limit=x", "offset=-1"):
        r = node.api(client, "GET", f"/dossiers?{bad}")
        assert r.status_code == 400 and r.json["error"]["code"] == "bad_request"
    act(node, client, b, "withdrawn", reason="Công dân rút hồ sơ")
    r = node.api(client, "GET", "/dossiers?due=overdue")  # withdrawn: nothing is due any more
    assert [d["code"] for d in r.json["dossiers"]] == [a]


def test_name_search_finds_substrings_with_or_without_diacritics(
    node: Node, client: FlaskClient
) -> None:
    a = create(node, client, applicant_name="Nguyễn Thị Ánh Tuyết")["code"]
    b = create(node, client, applicant_name="Nguyễn Văn An")["code"]
    cases = {
        "Ánh Tuyết": [a],  # with diacritics, in the middle of the name
        "anh tuyet": [a],
        "NGUYEN": [b, a],  # newest first
        "van an": [b],
        "an": [b, a],  # shorter than the trigram index: looked up the slow way, same answer
        'an"h': [],  # a quote is text, not FTS syntax
        "%": [],  # so is a LIKE wildcard
        b: [b],  # the dossier code itself
    }
    for query, want in cases.items():
        r = node.api(client, "GET", "/dossiers?" + urlencode({"q": query}))
        assert r.status_code == 200, (query, r.json)
        assert [d["code"] for d in r.json["dossiers"]] == want, query
        assert r.json["total"] == len(want), query


def test_one_search_box_finds_an_id_number_a_phone_a_partial_code_or_words_of_a_name(
    node: Node, client: FlaskClient
) -> None:
    a = create(node, client, applicant_name="Nguyễn Thị Hồng Nhung", id_number="062195001234",
               phone="0912345678")["code"]  # fmt: skip
    b = create(node, client, applicant_name="Nguyễn Văn Nhung", id_number="001090012345",
               phone="0352345678")["code"]  # fmt: skip
    day, number = a.rsplit("-", 2)[1:]
    cases = {
        "Nguyễn Nhung": [b, a],  # words apart, in any order
        "nhung hong": [a],
        "062195001234": [a],  # the ID card in the citizen's hand
        "0912 345 678": [a],  # a phone number, however it is written
        "+84 352 345 678": [b],
        f"{day}-{number}": [a],  # the code without the agency part
        f"{day}-{int(number)}": [a],
        "062195001235": [],
        "0912345670": [],
    }
    for query, want in cases.items():
        r = node.api(client, "GET", "/dossiers?" + urlencode({"q": query}))
        assert r.status_code == 200, (query, r.json)
        assert [d["code"] for d in r.json["dossiers"]] == want, query


@pytest.mark.parametrize(
    ("headers", "data", "status", "code"),
    [
        ({}, b"{}", 401, "unauthorised"),
        ({"Authorization": "Bearer dn_wrong"}, b"{}", 401, "unauthorised"),
        (None, b"not json", 400, "bad_request"),
        (None, b'{"procedure": "\xff"}', 400, "bad_request"),
        (None, b"[1, 2]", 422, "invalid_input"),
        (None, b"{" + b'"a":' * 1 + b"[" * 5000 + b"]" * 5000 + b"}", 400, "bad_request"),
    ],
)
def test_malformed_requests(
    node: Node,
    client: FlaskClient,
    headers: dict[str, str] | None,
    data: bytes,
    status: int,
    code: str,
) -> None:
    hdrs = {"Authorization": f"Bearer {node.tokens['receiver']}"} if headers is None else headers
    r = client.post("/api/v1/dossiers", data=data, headers=hdrs, content_type="application/json")
    assert r.status_code == status, r.get_data()
    assert r.json["error"]["code"] == code
    assert counts(node) == (0, 0, 0)


def test_wrong_content_type_and_oversized_body(node: Node, client: FlaskClient) -> None:
    hdrs = {"Authorization": f"Bearer {node.tokens['receiver']}"}
    r = client.post("/api/v1/dossiers", data="procedure=x", headers=hdrs, content_type="text/plain")
    assert r.status_code == 415 and r.json["error"]["code"] == "unsupported_media_type"
    big = b'{"request": "' + b"a" * (300 * 1024) + b'"}'
    r = client.post("/api/v1/dossiers", data=big, headers=hdrs, content_type="application/json")
    assert r.status_code == 413 and r.json["error"]["code"] == "too_large"


def test_a_failure_while_signing_leaves_no_state_change(
    node: Node, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(eventlog, "append", broken)
    r = node.api(client, "POST", "/dossiers", json=form())
    assert r.status_code == 500 and r.json["error"]["code"] == "internal"
    assert counts(node) == (0, 0, 0)


def test_concurrent_intake_takes_distinct_contiguous_numbers(node: Node) -> None:
    errors: list[Any] = []

    def worker() -> None:
        c = node.app.test_client()
        for _ in range(5):
            r = node.api(c, "POST", "/dossiers", json=form())
            if r.status_code != 201:
                errors.append(r.json)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.read_session(node.app) as s:
        seqs = list(s.scalars(select(Event.seq).order_by(Event.seq)))
        codes = sorted(s.scalars(select(Dossier.code)))
    assert seqs == list(range(1, 21))
    assert codes == [f"{AGENCY}-261123-{i:04d}" for i in range(1, 21)]
    with db.read_session(node.app) as s:
        previous = None
        for row in eventlog.read_after(s, 0):
            rec = record.parse(row.record)
            record.check_follows(previous, rec)
            previous = rec


def test_openapi_document_is_served(client: FlaskClient) -> None:
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200 and r.json["openapi"].startswith("3.1")
    assert "/api/v1/dossiers" in r.json["paths"]


def test_one_answer_names_every_bad_field(node: Node, client: FlaskClient) -> None:
    r = node.api(
        client, "POST", "/dossiers", json=form(applicant_name="", id_number="12345", phone="123")
    )
    assert r.status_code == 422
    fields = {p["field"] for p in r.json["error"]["errors"]}
    assert {"applicant_name", "id_number", "phone"} <= fields
