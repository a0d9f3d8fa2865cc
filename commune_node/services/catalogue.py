"""The procedure catalogue as the node holds it (the sample at first, the hub's later)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import validators
from common.catalogue import Catalogue
from common.catalogue import Procedure as CatalogueProcedure
from commune_node.models import Procedure


def install(session: Session, catalogue: Catalogue) -> int:
    """Insert or update every procedure of ``catalogue``; returns how many."""
    count = 0
    for proc in catalogue.procedures.values():
        row = session.get(Procedure, proc.code)
        definition = proc.to_dict()
        key = validators.fold_diacritics(f"{proc.code} {proc.name} {proc.name_en} {proc.field}")
        if row is None:
            row = Procedure(code=proc.code)
            session.add(row)
        row.name = proc.name
        row.search_key = key
        row.level = proc.level
        row.limit_days = proc.limit_days or 0
        row.limit_hours = proc.limit_hours
        row.fee = proc.fee
        row.definition = definition
        count += 1
    return count


def all_procedures(session: Session) -> list[CatalogueProcedure]:
    rows = session.scalars(select(Procedure).order_by(Procedure.name))
    return [CatalogueProcedure.from_dict(r.definition) for r in rows]


def search(session: Session, query: str, limit: int = 20) -> list[CatalogueProcedure]:
    folded = validators.fold_diacritics(query).strip()
    stmt = select(Procedure).order_by(Procedure.name).limit(limit)
    for word in folded.split():
        stmt = stmt.where(Procedure.search_key.contains(word))
    return [CatalogueProcedure.from_dict(r.definition) for r in session.scalars(stmt)]
