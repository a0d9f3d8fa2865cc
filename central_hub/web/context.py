"""Per-app collaborators for the hub's views."""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from central_hub.services import identity as identity_service
from central_hub.services.identity import HubIdentity
from common_web import context as shared

database = shared.database
clock = shared.clock


def hub_identity() -> HubIdentity:
    ident: HubIdentity | None = current_app.extensions.get("identity")
    if ident is None:
        with database().read() as session:
            ident = identity_service.load_identity(session, Path(current_app.instance_path))
        current_app.extensions["identity"] = ident
    return ident
