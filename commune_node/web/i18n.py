"""Vietnamese first, English available (Flask-Babel); the choice is kept in the session."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, session
from flask_babel import Babel

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def select_locale() -> str:
    lang = session.get("lang")
    if lang in ("vi", "en"):
        return str(lang)
    return "vi"  # the desk speaks Vietnamese unless the officer switches


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=select_locale)
