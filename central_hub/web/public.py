"""``/status`` at the hub (``common_web/public.py``): the same page and rules as the desk's,
answering for every commune's dossiers from the statuses they sent."""

from __future__ import annotations

from typing import Any

from central_hub.services import status_lookup
from central_hub.web.context import clock, database, hub_identity
from common.errors import DossierError
from common_web import public

init_app = public.init_app


def _lookup(code: str, digits: str) -> Any:
    return status_lookup.lookup(
        database(), code, digits, hub_id=hub_identity().hub_id, now=clock()()
    )


def _hub_name() -> str:
    try:
        return hub_identity().name or "Cấp trên"
    except DossierError:
        return "Cấp trên"


bp = public.make_blueprint(lookup=_lookup, place=_hub_name, app_css="hub.css")
