"""``/status`` at the desk (``common_web/public.py``): the lobby screen shows it; the QR code
on form 01 opens it at its public address (``PUBLIC_STATUS_BASE?code=<dossier code>``) and the
citizen types the four digits. The look-up reads this commune's own dossiers."""

from __future__ import annotations

from typing import Any

from common_web import public
from commune_node.db import read_session
from commune_node.services import status_lookup
from commune_node.web.context import clock, node_identity

init_app = public.init_app


def _lookup(code: str, digits: str) -> Any:
    with read_session() as session:
        return status_lookup.lookup(session, code, digits, now=clock()())


def _commune() -> str:
    return node_identity().commune_name


bp = public.make_blueprint(lookup=_lookup, place=_commune, app_css="desk.css")
