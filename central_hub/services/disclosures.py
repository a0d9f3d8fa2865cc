"""The personal data of version 2 records at the hub: received sealed beside the records,
kept encrypted with the hub's data key in the erasable ``disclosure`` table, decrypted only
to be shown to a hub officer or handed to someone entitled to it.

* A push carries, after each record that commits to personal data, the disclosures sealed
  to the hub's encryption key (``common/personal.py``). :func:`store_sealed` opens each box
  with the key it names (old keys open boxes sealed before a rotation), checks every value
  against the record's signed commitment and stores it encrypted at rest. A box that does
  not open or match raises a ``disclosure_refused`` alert naming the record, never a value.
* :func:`sealed_for` gives a commune's disclosures back to its node (history, after a
  restore or on a replacement laptop), sealed to the one-time key the node asked with.
* :func:`erase_disclosures` destroys one dossier's personal data; records, chain, log and
  proofs are untouched and still verify.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from central_hub.models import DisclosureExport, HubDisclosure, HubDossier, LogRecord
from central_hub.services import identity, nodes
from central_hub.services.identity import HubIdentity, get_setting, set_setting
from common import personal, record, record_fast, validators
from common.errors import NotFound
from common_io.database import insert_rows

LOOKUP_KEY: Final = "lookup_key"
_LOADED = identity.LOADED  # the hub identities this process loaded (their keys)


def data_in(session: Session, rec: record.Record) -> dict[str, Any]:
    """``rec``'s payload with its personal values back, with the keys of the hub whose
    database ``session`` reads (services that need an address or an ID number: the
    citizen's notices, the public status look-up, the national portal)."""
    if personal.COMMITMENTS not in rec.data:
        return rec.data
    hub = _LOADED.get(get_setting(session, "hub_id") or "")
    return data_of(session, rec, hub=hub) if hub is not None else rec.data


def protect(text: str, *, context: str) -> str:
    """``text`` encrypted with the data key of the hub this process serves (for personal
    data an outbox must keep until it is sent); as is when no hub is loaded."""
    hub = next(reversed(_LOADED.values()), None)
    if hub is None or not text or personal.is_encrypted_text(text):
        return text
    return personal.encrypt_text(hub.data_key, text, context=context)


def unprotect(text: str, *, context: str) -> str:
    """The clear text of :func:`protect` (a text stored in clear is as is)."""
    if not personal.is_encrypted_text(text):
        return text
    for hub in reversed(list(_LOADED.values())):
        try:
            return personal.decrypt_text(hub.data_key, text, context=context)
        except personal.DisclosureError:
            continue
    raise personal.DisclosureError("no data key of this hub opens a stored text")


_OPENED: Final = "disclosures_opened"  # session.info: record id → disclosures stored just now


def _key_for(hub: HubIdentity, box: bytes) -> personal.EncryptionKey:
    kid = personal.sealed_key_id(box)
    key = hub.encryption.get(kid)
    if key is None:
        raise personal.DisclosureError("sealed to an encryption key this hub does not hold")
    return key


def store_sealed(
    session: Session,
    node_id: str,
    records: Iterable[record.Record],
    sealed: Mapping[str, bytes],
    *,
    hub: HubIdentity,
    now: datetime,
) -> int:
    """Open, check and keep the disclosures sealed beside ``records``; returns how many
    values were stored (already stored ones are left as they are). One query for what is
    already kept, one bulk insert, one update per applicant name."""
    wanted = [rec for rec in records if rec.id in sealed]
    have: set[tuple[str, str]] = set()
    ids = [rec.id for rec in wanted]
    for i in range(0, len(ids), 500):
        for rid, path in session.execute(
            select(HubDisclosure.record_id, HubDisclosure.path).where(
                HubDisclosure.record_id.in_(ids[i : i + 500])
            )
        ):
            have.add((rid, path))
    rows: list[dict[str, Any]] = []
    # What this transaction opened, for the services after it (portal, look-ups): opening a
    # box again would cost a decryption per value for the same data.
    opened: dict[str, list[personal.Disclosure]] = session.info.setdefault(_OPENED, {})
    for rec in wanted:
        box = sealed[rec.id]
        try:
            if personal.COMMITMENTS not in rec.data:
                raise personal.DisclosureError("the record commits to no personal data")
            found = personal.unseal(box, key=_key_for(hub, box), record_id=rec.id)
            personal.reveal(rec.data, found)  # each value must match its commitment
        except personal.DisclosureError as exc:
            nodes.alert(
                session,
                "disclosure_refused",
                node_id,
                f"seq {rec.seq}: the personal data sent with record {rec.id[:12]} was not "
                f"kept ({exc.en.split(':')[0]})",
                now,
            )
            continue
        opened[rec.id] = sorted(found, key=lambda d: d.path)
        for d in found:
            if (rec.id, d.path) in have:
                continue
            have.add((rec.id, d.path))
            rows.append(
                {
                    "record_id": rec.id,
                    "path": d.path,
                    "dossier_code": rec.dossier,
                    "box": personal.encrypt_at_rest(hub.data_key, d, record_id=rec.id),
                    "stored_at": now,
                    "sealed_kid": personal.sealed_key_id(box),
                }
            )
    if rows:
        insert_rows(session, HubDisclosure, rows)
    return len(rows)


def index_names(session: Session, codes: Iterable[str], *, hub: HubIdentity) -> int:
    """Give the dossiers among ``codes`` that have none the keyed hashes of their applicant's
    name and ID number (after a push created them); returns how many."""
    todo = sorted(codes)
    done = 0
    for i in range(0, len(todo), 500):
        missing = list(
            session.scalars(
                select(HubDossier.code).where(
                    HubDossier.code.in_(todo[i : i + 500]), HubDossier.applicant_key.is_(None)
                )
            )
        )
        if not missing:
            continue
        rows = session.scalars(
            select(HubDisclosure).where(
                HubDisclosure.dossier_code.in_(missing),
                HubDisclosure.path.in_(("applicant.name", "applicant.id_number")),
            )
        )
        found: dict[str, dict[str, Any]] = {}
        for row in rows:
            d = personal.decrypt_at_rest(
                hub.data_key, row.box, record_id=row.record_id, path=row.path
            )
            assert row.dossier_code is not None
            values = found.setdefault(row.dossier_code, {"code": row.dossier_code})
            if row.path == "applicant.id_number":  # the citizen's-rights look-up
                values["id_digest"] = id_digest(session, str(d.value))
            else:
                values["applicant_key"] = name_key(hub, str(d.value))
        named = [v for v in found.values() if "applicant_key" in v]
        if named:  # one statement for the batch (an UPDATE by primary key per row)
            session.execute(update(HubDossier), named)
        digits = [v for v in found.values() if "applicant_key" not in v and "id_digest" in v]
        if digits:
            session.execute(update(HubDossier), digits)
        done += len(named)
    return done


def keep(
    session: Session,
    rec: record.Record,
    shown: Iterable[personal.Disclosure],
    *,
    hub: HubIdentity,
    now: datetime,
) -> None:
    """Keep, encrypted, the disclosures of a record the hub itself wrote."""
    for d in shown:
        session.add(
            HubDisclosure(
                record_id=rec.id,
                path=d.path,
                dossier_code=rec.dossier,
                box=personal.encrypt_at_rest(hub.data_key, d, record_id=rec.id),
                stored_at=now,
            )
        )


def name_key(hub: HubIdentity, name: str) -> str:
    """The keyed hash a dossier is found by its applicant's name with."""
    return personal.lookup_hash(hub.lookup_key, "name", validators.fold_diacritics(name))


def disclosures_of(
    session: Session, record_ids: Iterable[str], *, hub: HubIdentity
) -> dict[str, list[personal.Disclosure]]:
    """The decrypted disclosures of these records (record id → disclosures)."""
    wanted = list(record_ids)
    opened: dict[str, list[personal.Disclosure]] = session.info.get(_OPENED, {})
    out = {rid: opened[rid] for rid in wanted if rid in opened}
    ids = [rid for rid in wanted if rid not in out]
    for i in range(0, len(ids), 500):
        rows = session.scalars(
            select(HubDisclosure)
            .where(HubDisclosure.record_id.in_(ids[i : i + 500]))
            .order_by(HubDisclosure.record_id, HubDisclosure.path)
        )
        for row in rows:
            out.setdefault(row.record_id, []).append(
                personal.decrypt_at_rest(
                    hub.data_key, row.box, record_id=row.record_id, path=row.path
                )
            )
    return out


_NAME_PATHS: Final = ("applicant.name", "applicant.id_number")


def applicants_of(session: Session, recs: Iterable[record.Record]) -> dict[str, dict[str, Any]]:
    """The applicant's name and ID number of each intake record (record id → {"name",
    "id_number"}), with one query for a whole batch and no other value opened. Kept values
    were checked against their commitments when stored, so they are not checked again."""
    recs = list(recs)
    out: dict[str, dict[str, Any]] = {}
    committed = []
    for rec in recs:
        if personal.COMMITMENTS in rec.data:
            committed.append(rec.id)
        else:  # a version 1 record carries them
            found = rec.data.get("applicant")
            out[rec.id] = dict(found) if isinstance(found, dict) else {}
    hub = _LOADED.get(get_setting(session, "hub_id") or "") if committed else None
    if hub is None:
        return out | {rid: {} for rid in committed}
    opened: dict[str, list[personal.Disclosure]] = session.info.get(_OPENED, {})
    todo = [rid for rid in committed if rid not in opened]
    for rid in committed:
        out[rid] = {}
        for d in opened.get(rid, ()):
            if d.path in _NAME_PATHS:
                out[rid][d.path.removeprefix("applicant.")] = d.value
    for i in range(0, len(todo), 500):
        rows = session.scalars(
            select(HubDisclosure).where(
                HubDisclosure.record_id.in_(todo[i : i + 500]), HubDisclosure.path.in_(_NAME_PATHS)
            )
        )
        for row in rows:
            d = personal.decrypt_at_rest(
                hub.data_key, row.box, record_id=row.record_id, path=row.path
            )
            out[row.record_id][d.path.removeprefix("applicant.")] = d.value
    return out


def data_of(session: Session, rec: record.Record, *, hub: HubIdentity) -> dict[str, Any]:
    """``rec``'s payload with its personal values back (a version 1 record has them)."""
    if personal.COMMITMENTS not in rec.data:
        return rec.data
    return personal.reveal(rec.data, disclosures_of(session, [rec.id], hub=hub).get(rec.id, ()))


def applicant(session: Session, code: str, *, hub: HubIdentity) -> dict[str, Any]:
    """The applicant of a dossier as taken in (decrypted), or ``{}`` if erased or unknown."""
    raw = session.scalars(
        select(LogRecord.raw)
        .where(LogRecord.dossier_code == code, LogRecord.dead.is_(False))
        .order_by(LogRecord.leaf)
        .limit(1)
    ).first()
    if raw is None:
        return {}
    found = data_of(session, record_fast.parse(raw), hub=hub).get("applicant")
    return dict(found) if isinstance(found, dict) else {}


def sealed_for(
    session: Session, raws: Iterable[bytes], *, to: personal.EncryptionPublicKey, hub: HubIdentity
) -> dict[str, bytes]:
    """The disclosures of these records, sealed to ``to`` (record id → box)."""
    ids = [record.record_id(raw) for raw in raws]
    return {
        rid: personal.seal(found, to=to, record_id=rid)
        for rid, found in disclosures_of(session, ids, hub=hub).items()
        if found
    }


def export(
    session: Session, code: str, *, hub: HubIdentity, actor: str, reason: str, now: datetime
) -> list[list[Any]]:
    """One dossier's disclosures as ``[record id, salt, path, value]`` rows for an audit
    bundle; the export is logged (who, when, why, which dossier)."""
    if not reason.strip():
        raise ValueError("a disclosure needs a reason")
    if session.get(HubDossier, code) is None:
        raise NotFound(f"no dossier {code} at the hub", vi=f"Cấp trên không có hồ sơ {code}")
    ids = list(
        session.scalars(select(HubDisclosure.record_id).where(HubDisclosure.dossier_code == code))
    )
    rows = [
        [rid, d.salt, d.path, d.value]
        for rid, found in sorted(disclosures_of(session, set(ids), hub=hub).items())
        for d in found
    ]
    session.add(
        DisclosureExport(
            at=now, actor=actor[:64], dossier_code=code, reason=reason[:500], values=len(rows)
        )
    )
    return rows


def erase_disclosures(session: Session, dossier_code: str) -> int:
    """Destroy one dossier's personal data at the hub; returns how many values were erased.
    The records, the log and every proof stay verifiable; the dossier's name key goes too."""
    session.info.pop(_OPENED, None)
    result = session.execute(
        delete(HubDisclosure).where(HubDisclosure.dossier_code == dossier_code)
    )
    session.execute(
        update(HubDossier).where(HubDossier.code == dossier_code).values(applicant_key=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _lookup_key(session: Session) -> bytes:
    cached = session.info.get(LOOKUP_KEY)
    if cached is not None:
        return bytes(cached)
    value = get_setting(session, LOOKUP_KEY)
    if value is None:  # a database made before revision 0010 filled it
        value = secrets.token_hex(32)
        set_setting(session, LOOKUP_KEY, value)
    key = bytes.fromhex(value)
    session.info[LOOKUP_KEY] = key
    return key


def id_digest(session: Session, id_number: str) -> str | None:
    """The keyed hash the hub finds a citizen's dossiers by (None for no number)."""
    number = "".join(str(id_number).split()).upper()
    if not number:
        return None
    return hmac.new(_lookup_key(session), number.encode(), hashlib.sha256).hexdigest()
