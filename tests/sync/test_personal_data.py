"""Personal data stays out of the hub's log, journal, tables and audit bundles (format version
2, docs/records.md "Personal data"): the records commit to it, the node seals it to the hub's
encryption key, the hub keeps it encrypted in an erasable table and shows it to its officers;
an authorised audit export discloses one dossier, and the verifier checks it."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, select

from central_hub.models import DisclosureExport, HubDisclosure, HubDossier
from central_hub.services import disclosures
from central_hub.services.export import export_bundle
from common import personal, record
from common.audit import bundle_format as bf
from common.audit.verifier import verify_bundle
from commune_node import db
from commune_node.models import Event, PersonalDisclosure
from commune_node.services import personal_data
from tests.hub.test_pages import OFFICER, Person
from tests.sync.conftest import Site, sync
from tests.sync.helpers import MARITAL

A = "000.00.12.H26"
NAME, ID_NUMBER, PHONE = "Hoàng Thị Mỹ Linh", "079188001234", "0987654321"


def _take_in(node: Any) -> str:
    form = {
        "procedure": MARITAL,
        "applicant_name": NAME,
        "id_number": ID_NUMBER,
        "phone": PHONE,
        "address": "thôn 5, xã Đăk Pxi",
        "request": f"Xác nhận tình trạng hôn nhân cho {NAME}",
        "documents": {"to_khai": {"original": 1}},
        "notify": "sms",
    }
    r = node.api(node.app.test_client(), "POST", "/dossiers", json=form)
    assert r.status_code == 201, r.json
    return str(r.json["dossier"]["code"])


def _needles() -> dict[str, bytes]:
    return {"name": NAME.encode(), "id": ID_NUMBER.encode(), "phone": PHONE.encode()}


def _found_in(blob: bytes) -> list[str]:
    return [what for what, needle in _needles().items() if needle in blob]


def _hub_tables(site: Site) -> dict[str, list[str]]:
    """Every value of every hub table (SQLite or PostgreSQL), as bytes, searched."""
    found: dict[str, list[str]] = {}
    meta = MetaData()
    with site.hub.db.read() as s:
        meta.reflect(bind=s.connection())
        for table in meta.sorted_tables:
            for row in s.execute(select(table)):
                for value in row:
                    if value is None:
                        continue
                    if isinstance(value, bytes | bytearray | memoryview):
                        blob = bytes(value)
                    elif isinstance(value, dict | list):
                        blob = json.dumps(value, ensure_ascii=False).encode()
                    else:
                        blob = str(value).encode()
                    hits = _found_in(blob)
                    if hits:
                        found.setdefault(table.name, []).extend(hits)
    return found


def _bundle(site: Site, rows: list[list[Any]] | None = None) -> list[bytes]:
    out = io.BytesIO()
    with site.hub.db.read() as s:
        export_bundle(
            s,
            out,
            hub=site.hub.identity,
            communes=None,
            since=None,
            until=None,
            clock=site.clock,
            disclosures=rows or [],
        )
    return out.getvalue().splitlines(keepends=True)


def test_the_hub_keeps_personal_data_only_encrypted_and_shows_it_to_its_officers(
    site: Site,
) -> None:
    node = site.node("u1", A)
    code = _take_in(node)
    result = sync(node)
    assert result.pushed == 1

    # the node: its record commits to the data, which it keeps apart
    with db.read_session(node.app) as s:
        kept = {r.path: r.value for r in s.scalars(select(PersonalDisclosure))}
    assert kept["applicant.name"] == NAME and kept["applicant.id_number"] == ID_NUMBER

    # the hub: neither its tables, nor its journal, nor an audit bundle hold any of it
    assert _hub_tables(site) == {}
    instance = Path(site.hub.app.instance_path)
    journal = (instance / "hub_records.log").read_bytes()
    assert journal and _found_in(journal) == []
    lines = _bundle(site)
    assert _found_in(b"".join(lines)) == []
    report = verify_bundle(lines, hub_public_key=bytes.fromhex(site.hub.identity.public_hex))
    assert report.ok, report.findings

    # ... but the hub holds each value encrypted, and its officer sees the applicant
    with site.hub.db.read() as s:
        paths = set(s.scalars(select(HubDisclosure.path).where(HubDisclosure.dossier_code == code)))
    assert {"applicant.name", "applicant.id_number", "applicant.phone", "request"} <= paths
    with site.hub.db.read() as s:  # found by the keyed hash of the name, not the name
        row = s.get(HubDossier, code)
        assert row is not None and row.applicant_name == ""
        assert row.applicant_key == disclosures.name_key(site.hub.identity, "hoàng thị mỹ  linh")
    page = Person(site.hub.app, OFFICER).get(f"/dossiers/{code}").text
    assert NAME in page

    # an authorised export discloses the dossier, logged; the verifier checks every value
    with site.hub.db.write() as s:
        rows = disclosures.export(
            s,
            code,
            hub=site.hub.identity,
            actor="thanh.tra",
            reason="QĐ 17/QĐ-TTr",
            now=site.clock(),
        )
    with site.hub.db.read() as s:
        (logged,) = s.scalars(select(DisclosureExport)).all()
    assert (logged.dossier_code, logged.actor, logged.reason) == (code, "thanh.tra", "QĐ 17/QĐ-TTr")
    assert logged.values == len(rows) >= 4
    shown = _bundle(site, rows)
    assert NAME.encode() in b"".join(shown)
    report = verify_bundle(shown, hub_public_key=bytes.fromhex(site.hub.identity.public_hex))
    assert report.ok, report.findings

    # a disclosure that is not what the officer signed fails, naming the field
    tampered = [
        [rid, salt, path, "Hoàng Thị Mỹ Lình" if path == "applicant.name" else value]
        for rid, salt, path, value in rows
    ]
    report = verify_bundle(
        _bundle(site, tampered), hub_public_key=bytes.fromhex(site.hub.identity.public_hex)
    )
    assert not report.ok
    (bad,) = report.findings
    assert bad.cls == "bad_disclosure" and "applicant.name" in bad.message

    # erasure: one call per dossier at each side; everything still verifies
    with site.hub.db.write() as s:
        assert disclosures.erase_disclosures(s, code) == len(rows)
    with db.write_session(node.app) as s:
        assert personal_data.erase_disclosures(s, code) == len(kept)
    assert NAME not in Person(site.hub.app, OFFICER).get(f"/dossiers/{code}").text
    report = verify_bundle(
        _bundle(site), hub_public_key=bytes.fromhex(site.hub.identity.public_hex)
    )
    assert report.ok, report.findings
    with db.read_session(node.app) as s:
        raw = s.scalars(select(Event.record)).first()
        assert raw is not None
        assert "applicant.name" in personal_data.data_of(s, record.parse(raw))["pd"]


def test_a_box_sealed_to_another_key_or_record_is_refused_and_alerted(site: Site) -> None:
    """The hub keeps nothing it cannot check against the record's commitment; the alert says
    which record, never a value."""
    from central_hub.models import Alert

    node = site.node("u1", A)
    _take_in(node)
    with db.read_session(node.app) as s:
        raw = s.scalars(select(Event.record)).one()
        rec = record.parse(raw)
        (found,) = personal_data.disclosures_of(s, [rec.id]).values()
    wrong = [personal.Disclosure(d.salt, d.path, "Nguyễn Văn Khác") for d in found]
    with site.hub.db.write() as s:
        stored = disclosures.store_sealed(
            s,
            rec.node,
            [rec],
            {rec.id: personal.seal(wrong, to=_hub_key(site), record_id=rec.id)},
            hub=site.hub.identity,
            now=site.clock(),
        )
        other = personal.generate_encryption_key()
        stored += disclosures.store_sealed(
            s,
            rec.node,
            [rec],
            {rec.id: personal.seal(found, to=other.public_key(), record_id=rec.id)},
            hub=site.hub.identity,
            now=site.clock(),
        )
    assert stored == 0
    with site.hub.db.read() as s:
        alerts = list(s.scalars(select(Alert).where(Alert.kind == "disclosure_refused")))
        assert not s.scalars(select(HubDisclosure)).first()
    assert alerts and all(NAME not in a.message for a in alerts)
    sync(node)  # the real box goes with the record, and is kept
    with site.hub.db.read() as s:
        assert disclosures.applicant(s, str(rec.dossier), hub=site.hub.identity)["name"] == NAME


def _hub_key(site: Site) -> personal.EncryptionPublicKey:
    return personal.encryption_public_from_hex(site.hub.identity.encryption_public_hex)


def test_a_bundle_line_of_a_disclosure_reads_back() -> None:
    line = bf.disclosure_line("ab" * 32, "cd" * 16, "applicant.name", NAME)
    assert json.loads(line)["value"] == NAME and line.endswith(b"\n")
