"""The notification outbox on the node: what is queued, when, and how short the texts are."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from common import notices
from common.calendar import VN_TZ
from commune_node import db
from commune_node.notify_models import OutboxMessage
from commune_node.services.outbox import mask
from tests.node.conftest import Node
from tests.node.desk import act, login, take_in

LONGEST_CODE = "000.00.99.H99-991231-9999"  # agency code pattern 000.00.xx.Hnn, day, number


def messages(node: Node) -> list[OutboxMessage]:
    with db.read_session(node.app) as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)))


@pytest.mark.parametrize("kind", notices.KINDS)
def test_every_text_fits_one_sms_in_both_forms(kind: str) -> None:
    when = datetime(2026, 12, 31, 17, 0, tzinfo=VN_TZ)
    n = notices.render(kind, code=LONGEST_CODE, when=when, commune="Xã Đăk Pxi")
    assert len(n.text) <= notices.UCS2_LIMIT, (len(n.text), n.text)
    assert len(n.text_ascii) <= notices.GSM7_LIMIT
    assert notices.is_gsm7(n.text_ascii), n.text_ascii
    assert notices.sms_segments(n.text) == notices.sms_segments(n.text_ascii) == 1
    assert n.text_ascii == notices.strip_diacritics(n.text)
    assert LONGEST_CODE in n.text


def test_strip_diacritics_keeps_case_and_d() -> None:
    assert notices.strip_diacritics("Đã tiếp nhận hồ sơ ĐĂK") == "Da tiep nhan ho so DAK"
    assert notices.sms_segments("x" * 161) == 2
    assert notices.sms_segments("đ" * 71) == 2


def test_intake_and_actions_queue_notices_by_the_chosen_channel(node: Node) -> None:
    client = node.app.test_client()
    login(client, "receiver")
    code = take_in(client)  # the desk form chooses SMS
    [m] = messages(node)
    assert (m.kind, m.channel, m.recipient, m.state) == ("received", "sms", "0912345678", "waiting")
    assert m.text.startswith(f"Đã tiếp nhận HS {code}. Hẹn trả ngày ")
    assert "Nguyễn" not in m.text and "001090012345" not in m.text
    act(client, code, "processing")  # nothing to tell
    assert len(messages(node)) == 1
    quiet = take_in(client, notify="none")
    emailed = take_in(client, notify="email")
    zalo = take_in(client, notify="zalo")
    got = {x.dossier_code: x for x in messages(node)}
    assert quiet not in got
    assert (got[emailed].channel, got[emailed].recipient) == ("email", "an.nguyen@example.vn")
    assert got[zalo].channel == "zalo"
    assert got[emailed].subject == f"Xã Đăk Pxi: hồ sơ {emailed}"


def test_mask() -> None:
    assert mask("0912345678") == "09******78"
    assert mask("an.nguyen@example.vn") == "a***@example.vn"
