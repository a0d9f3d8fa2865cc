"""Citizen notifications on the dossier page: ``{% include "_notifications.html" %}`` shows
each message of the dossier with its delivery status (``notifications_for(code)``)."""

from __future__ import annotations

from flask import Flask

from common import notices
from commune_node.db import read_session
from commune_node.notify_models import OutboxMessage
from commune_node.services import outbox

STATES = {
    "waiting": ("Chờ gửi qua cấp trên", "Waiting to go to the hub"),
    "handed": ("Cấp trên đang gửi", "The hub is sending it"),
    "delivered": ("Đã gửi", "Delivered"),
    "failed": ("Gửi không được", "Could not be delivered"),
}
CHANNELS = {"sms": "SMS", "zalo": "Zalo", "email": "E-mail"}


def notifications_for(code: str) -> list[OutboxMessage]:
    with read_session() as session:
        return outbox.for_dossier(session, code)


def init_app(app: Flask) -> None:
    app.add_template_global(notifications_for, "notifications_for")
    app.add_template_global(outbox.mask, "mask_recipient")
    app.jinja_env.globals.update(
        NOTICE_KINDS=notices.KIND_NAMES, NOTICE_STATES=STATES, NOTICE_CHANNELS=CHANNELS
    )
