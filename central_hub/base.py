"""The declarative base every hub table derives from (its own metadata, the shared column
types). Table modules import it from here, so that no two of them import each other."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy.orm import DeclarativeBase

from common_io.sqlite import TYPE_ANNOTATION_MAP


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = TYPE_ANNOTATION_MAP
