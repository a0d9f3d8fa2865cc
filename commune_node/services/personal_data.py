"""The personal data of the node's records, kept apart from the signed log.

A dossier record (version 2) commits to the applicant's identity and contact details and to
free text under ``data.pd`` (``common/personal.py``); the values and their salts live in
the ``disclosure`` table, written in the transaction that appends the record. Whatever
needs the values (the desk's dossier row, a replay of the log, the hub) reads them back
with :func:`data_of`; :func:`erase_disclosures` destroys one dossier's, after which its
records still verify and show their commitments only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from common import personal, record
from commune_node.models import PersonalDisclosure


def conceal(data: dict[str, Any]) -> tuple[dict[str, Any], tuple[personal.Disclosure, ...]]:
    """A dossier record's payload with its personal values replaced by commitments (a
    payload that already commits, e.g. one signed again after a restore, is kept)."""
    if personal.COMMITMENTS in data:
        return data, ()
    return personal.conceal(data)


def keep(
    session: Session,
    *,
    record_id: str,
    dossier: str | None,
    disclosures: Iterable[personal.Disclosure],
) -> None:
    for d in disclosures:
        if session.get(PersonalDisclosure, (record_id, d.path)) is None:
            session.add(
                PersonalDisclosure(
                    record_id=record_id,
                    path=d.path,
                    dossier_code=dossier,
                    salt=d.salt,
                    value=d.value,
                )
            )


def disclosures_of(
    session: Session, record_ids: Iterable[str]
) -> dict[str, list[personal.Disclosure]]:
    """The disclosures kept for these records (record id → disclosures, path order)."""
    ids = list(record_ids)
    out: dict[str, list[personal.Disclosure]] = {}
    for i in range(0, len(ids), 500):
        rows = session.scalars(
            select(PersonalDisclosure)
            .where(PersonalDisclosure.record_id.in_(ids[i : i + 500]))
            .order_by(PersonalDisclosure.record_id, PersonalDisclosure.path)
        )
        for row in rows:
            out.setdefault(row.record_id, []).append(
                personal.Disclosure(row.salt, row.path, row.value)
            )
    return out


def reveal(rec: record.Record, found: Mapping[str, list[personal.Disclosure]]) -> dict[str, Any]:
    """``rec``'s payload with the personal values back in place (a version 1 record carries
    them already; an erased value stays a commitment)."""
    if personal.COMMITMENTS not in rec.data:
        return rec.data
    return personal.reveal(rec.data, found.get(rec.id, ()))


def data_of(session: Session, rec: record.Record) -> dict[str, Any]:
    """``rec``'s payload as the officer wrote it, from the disclosures kept here."""
    if personal.COMMITMENTS not in rec.data:
        return rec.data
    return reveal(rec, disclosures_of(session, [rec.id]))


def sealed_for(
    session: Session, raws: Iterable[bytes], *, to: personal.EncryptionPublicKey
) -> dict[str, bytes]:
    """Each record's disclosures sealed to ``to`` (record id → box), for a push or an answer."""
    ids = [record.record_id(raw) for raw in raws]
    return {
        rid: personal.seal(found, to=to, record_id=rid)
        for rid, found in disclosures_of(session, ids).items()
        if found
    }


def take_sealed(
    session: Session,
    records: Iterable[record.Record],
    sealed: Mapping[str, bytes],
    *,
    key: personal.EncryptionKey,
) -> int:
    """Keep the disclosures the hub gave back with this node's own records (a node put back
    from an older copy, or a new laptop): each box is opened and checked against the
    commitments of the record it came with. Returns how many records got theirs back."""
    n = 0
    for rec in records:
        box = sealed.get(rec.id)
        if box is None or personal.COMMITMENTS not in rec.data:
            continue
        found = personal.unseal(box, key=key, record_id=rec.id)
        personal.reveal(rec.data, found)  # raises unless each matches its commitment
        keep(session, record_id=rec.id, dossier=rec.dossier, disclosures=found)
        n += 1
    return n


def erase_disclosures(session: Session, dossier_code: str) -> int:
    """Destroy the personal data of one dossier's records kept at this node; returns how
    many values were erased. The records, the chain and every proof stay verifiable."""
    result = session.execute(
        delete(PersonalDisclosure).where(PersonalDisclosure.dossier_code == dossier_code)
    )
    return int(getattr(result, "rowcount", 0) or 0)
