"""The public status look-up on the node: no login, no personal data, rate-limited, and the
same answer (and time) for a wrong code and for wrong digits."""

from __future__ import annotations

import time

import pytest

from tests.node.conftest import Node
from tests.node.desk import APPLICANT, act, csrf, login, logout, take_in, text


@pytest.fixture
def fast(node: Node) -> Node:
    node.app.config["STATUS_LOOKUP_MIN_SECONDS"] = 0.05
    return node


def look_up(client, code: str, digits: str):  # type: ignore[no-untyped-def]
    token = csrf(text(client.get(f"/status?code={code}")))
    return client.post("/status", data={"csrf_token": token, "code": code, "digits": digits})


def test_the_right_code_and_digits_show_status_without_personal_data(fast: Node) -> None:
    desk = fast.app.test_client()
    login(desk, "receiver")
    code = take_in(desk)
    act(desk, code, "supplement_requested", missing=["to_khai"], reason="Thiếu tờ khai")
    logout(desk)
    public = fast.app.test_client()
    form = public.get(f"/status?code={code}")
    assert form.status_code == 200 and code in text(form) and 'name="digits"' in text(form)
    r = look_up(public, code, "5678")
    page = text(r)
    assert r.status_code == 200
    assert code in page and "Yêu cầu bổ sung giấy tờ" in page and "Tờ khai" in page
    for secret in ("Nguyễn Văn An", APPLICANT["id_number"], "0912345678", "an.nguyen",
                   "Thôn 3", "Thiếu tờ khai"):  # fmt: skip
        assert secret not in page, secret
    assert "5678" not in page  # not even the digits the citizen typed


def test_wrong_code_and_wrong_digits_look_alike(fast: Node) -> None:
    desk = fast.app.test_client()
    login(desk, "receiver")
    code = take_in(desk)
    public = fast.app.test_client()
    fake = code[:-4] + "9999"
    a, b = look_up(public, fake, "5678"), look_up(public, code, "1234")
    assert a.status_code == b.status_code == 404
    assert text(a).replace(fake, code) == text(b).replace(
        csrf(text(b)), csrf(text(a))
    )  # identical but for the code echoed back and the form token
    c = look_up(public, code, "12a4")  # malformed digits: the same answer too
    assert c.status_code == 404 and 'id="lookup-failed"' in text(c)


def test_uniform_timing(fast: Node) -> None:
    """Every look-up takes at least the floor; what each kind costs is its fastest of a few
    runs (a busy machine only ever adds time to a run), and those are the same."""
    fast.app.config["STATUS_LOOKUP_MIN_SECONDS"] = 0.3
    fast.app.config["STATUS_LOOKUP_ATTEMPTS"] = 100
    desk = fast.app.test_client()
    login(desk, "receiver")
    code = take_in(desk)
    public = fast.app.test_client()
    runs: dict[str, list[float]] = {"code": [], "digits": [], "right": []}
    for _ in range(3):
        for label, c, d in (("code", code[:-4] + "9999", "5678"), ("digits", code, "0000"),
                            ("right", code, "5678")):  # fmt: skip
            token = csrf(text(public.get("/status")))
            started = time.monotonic()
            public.post("/status", data={"csrf_token": token, "code": c, "digits": d})
            runs[label].append(time.monotonic() - started)
    assert all(s >= 0.3 for spans in runs.values() for s in spans), runs
    cost = {label: min(spans) for label, spans in runs.items()}
    assert all(s < 0.6 for s in cost.values()), runs
    assert abs(cost["code"] - cost["digits"]) < 0.1, runs


def test_failed_look_ups_are_rate_limited_per_address(fast: Node) -> None:
    fast.app.config["STATUS_LOOKUP_ATTEMPTS"] = 3
    desk = fast.app.test_client()
    login(desk, "receiver")
    code = take_in(desk)
    public = fast.app.test_client()
    for _ in range(3):
        assert look_up(public, code, "0000").status_code == 404
    limited = look_up(public, code, "5678")  # even the right digits wait now
    assert limited.status_code == 429 and 'id="lookup-limited"' in text(limited)
    other = fast.app.test_client()
    r = other.post(
        "/status",
        data={"csrf_token": csrf(text(other.get("/status"))), "code": code, "digits": "5678"},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert r.status_code == 200  # another address is not affected


def test_no_phone_means_the_id_number_digits(fast: Node) -> None:
    desk = fast.app.test_client()
    login(desk, "receiver")
    code = take_in(desk, phone="", notify="none")
    public = fast.app.test_client()
    assert look_up(public, code, "2345").status_code == 200  # ID 001090012345
    assert look_up(public, code, "5678").status_code == 404


def test_post_needs_the_form_token(fast: Node) -> None:
    r = fast.app.test_client().post("/status", data={"code": "x", "digits": "1234"})
    assert r.status_code == 400
