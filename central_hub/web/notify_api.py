"""``POST /sync/v1/notify``: nodes hand over citizen notifications; the hub delivers them.

Signed exactly like every other sync request (``sync_api._authenticate``: node key, time
window, nonce, queue report, cosignature). The body is JSON ``{"messages": [...], "ids":
[...]}``: each message is stored once by its id and delivered through the configured
gateways; ``ids`` only ask for the status of messages handed over before. The answer gives
every message's delivery status. Described in docs/notifications.md.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from central_hub.services import gateway, notifications
from central_hub.web import sync_api
from central_hub.web.auth import csrf
from central_hub.web.context import clock, database
from common import canonical, protocol
from common.errors import ValidationError

bp = Blueprint("notify", __name__, url_prefix="/sync/v1")
csrf.exempt(bp)
MAX_MESSAGES = 100
MAX_INFLATED = 1 << 20  # a gzip body inflates to at most 1 MiB (100 messages fit easily)
MAX_BODY = 256 * 1024  # as sent (gzip or not)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def gateways() -> dict[str, gateway.Gateway]:
    """The delivery gateways from the settings (built once per app)."""
    found: dict[str, gateway.Gateway] | None = current_app.extensions.get("notify_gateways")
    if found is None:
        found = gateway.from_config(current_app.config)
        current_app.extensions["notify_gateways"] = found
    return found


@bp.post("/notify")
def notify() -> Any:
    sync_api.limit_body(MAX_BODY)
    sync_api._authenticate()
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send the messages as application/json")
    raw = request.get_data(cache=True)
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding == "gzip":
        try:
            raw = protocol.gunzip_body(raw, limit=MAX_INFLATED)
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
    elif encoding != "identity":
        raise UnsupportedMediaType("Content-Encoding must be gzip or identity")
    body = _json(raw) if canonical.nesting_depth(raw) <= 4 else None
    try:
        messages = notifications.parse(body, max_messages=MAX_MESSAGES)
        held = notifications.parse_ids(body, max_ids=MAX_MESSAGES)
    except ValidationError as exc:
        raise BadRequest(exc.en) from exc
    node_id = g.node.node_id
    db = database()
    per_hour = int(current_app.config.get("NOTIFY_PER_NODE_HOUR") or notifications.PER_NODE_HOUR)
    with db.write() as session:
        not_taken = notifications.accept(session, node_id, messages, clock()(), per_hour=per_hour)
    notifications.deliver_due(
        db,
        gateways(),
        clock=clock(),
        node_id=node_id,
        budget_seconds=float(current_app.config.get("NOTIFY_BUDGET_SECONDS") or 20),
        max_attempts=int(current_app.config.get("NOTIFY_MAX_ATTEMPTS") or 8),
    )
    skipped = {o.id: o.as_dict() for o in not_taken}
    with db.read() as session:
        wanted = [m.id for m in messages if m.id not in skipped] + held
        found = {r["id"]: r for r in notifications.statuses(session, node_id, wanted)}
    results = [skipped.get(m.id) or found[m.id] for m in messages]
    results += [found[i] for i in held]
    return jsonify({"results": results})
