"""Vietnamese first, English on request, on both apps: the officer's choice is kept in the
session (``POST /language/<lang>``, :mod:`common_web.auth`), and every shared page shows the
Vietnamese or the English twin of a text with :func:`pick`."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, session
from flask_babel import Babel, get_locale

from common.errors import FieldProblem

LANGUAGES = ("vi", "en")


def select_locale() -> str:
    lang = session.get("lang")
    if lang in LANGUAGES:
        return str(lang)
    return "vi"  # the pages speak Vietnamese unless the officer switches


def is_vi() -> bool:
    locale = get_locale()
    return locale is None or locale.language == "vi"


def pick(vi: str, en: str) -> str:
    """The Vietnamese or English twin, by the officer's language."""
    return vi if is_vi() else en


def errors_by_field(problems: list[FieldProblem]) -> dict[str, list[str]]:
    """Each problem's message in the officer's language, under its field and every parent
    (``documents.giay-to.original`` is also shown at ``documents.giay-to`` and ``documents``)."""
    out: dict[str, list[str]] = {}
    for p in problems:
        message = pick(p.vi, p.en)
        parts = p.field.split(".")
        for i in range(len(parts), 0, -1):
            key = ".".join(parts[:i])
            if message not in out.setdefault(key, []):
                out[key].append(message)
    return out


def init_app(app: Flask, translations: Path | None = None) -> None:
    """Babel with the session's language; ``pick`` and ``is_vi`` for every template."""
    if translations is not None:
        app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(translations))
    Babel(app, locale_selector=select_locale)
    app.add_template_global(pick, "pick")
    app.add_template_global(is_vi, "is_vi")
