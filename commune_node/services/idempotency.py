"""A repeated intake is one dossier: the same request sent twice (a double click, a browser
resending a form after a dropped link, an API client retrying after a lost answer) carries
the same key, and the second gets the dossier the first made.

The desk's intake form carries a random key made when the form is shown; an API client
sends ``Idempotency-Key``. The key is kept (as its SHA-256) with a digest of the request it
came with, in the transaction that takes the dossier in: a key seen again with the same
request answers with that dossier; with another request it is refused, naming the key.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from common.errors import FieldProblem, ValidationError
from commune_node.models import Dossier, IntakeKey

MAX_KEY = 200


def check_key(key: str, *, field: str) -> str:
    """The key as given, or a ValidationError naming ``field``: 1–200 printable ASCII
    characters."""
    if not (0 < len(key) <= MAX_KEY) or not key.isascii() or not key.isprintable():
        raise ValidationError(
            [
                FieldProblem(
                    field,
                    "bad_idempotency_key",
                    f"Khoá chống gửi trùng phải gồm 1–{MAX_KEY} ký tự ASCII in được.",
                    f"The idempotency key must be 1–{MAX_KEY} printable ASCII characters.",
                )
            ]
        )
    return key


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def request_digest(form: dict[str, Any]) -> str:
    return _digest(json.dumps(form, sort_keys=True, ensure_ascii=False, default=str))


def replayed(session: Session, key: str, form: dict[str, Any], *, field: str) -> Dossier | None:
    """The dossier an earlier request with ``key`` made, or None if the key is new."""
    seen = session.get(IntakeKey, _digest(key))
    if seen is None:
        return None
    if seen.request_digest != request_digest(form):
        raise ValidationError(
            [
                FieldProblem(
                    field,
                    "idempotency_key_reused",
                    "Khoá chống gửi trùng này đã dùng cho một hồ sơ khác; hãy tạo khoá mới.",
                    "This idempotency key was used for another request; make a new key.",
                )
            ]
        )
    return session.get(Dossier, seen.dossier_code)


def remember(session: Session, key: str, form: dict[str, Any], *, code: str, now: datetime) -> None:
    session.add(
        IntakeKey(
            key_digest=_digest(key),
            request_digest=request_digest(form),
            dossier_code=code,
            created_at=now,
        )
    )
