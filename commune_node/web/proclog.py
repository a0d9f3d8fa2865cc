"""The views' one call into the processing log (services/privacy.py): the logged-in officer
viewed, printed or exported a dossier's personal data, in its own short transaction after
the page was built (a page that fails to build is not logged)."""

from __future__ import annotations

from commune_node.db import write_session
from commune_node.services import privacy
from commune_node.web.context import clock, current_actor


def log_processing(action: str, code: str | None, purpose: str) -> None:
    with write_session() as db:
        privacy.record(
            db,
            officer=current_actor().username,
            action=action,
            dossier_code=code,
            purpose=purpose,
            at=clock()(),
        )
