"""Scanned documents at the desk: the real type from the bytes, limits, nothing half-stored,
pages made small for the link, the signed record, erasure and backups."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import img2pdf
import pytest
from click.testing import CliRunner
from PIL import Image
from sqlalchemy import func, select

from bench.scanpages import a4_page
from common import documents, record
from commune_node import db
from commune_node.cli import main
from commune_node.file_models import DossierDocument, StoredFile
from commune_node.models import Event
from commune_node.services import privacy, scans
from tests.node.conftest import Node
from tests.sync.helpers import take_in


def _b64(data: bytes, name: str = "p.jpg") -> dict[str, str]:
    return {"name": name, "content_base64": base64.b64encode(data).decode()}


def attach(node: Node, code: str, files: list[dict[str, str]], **kw: Any) -> Any:
    who = kw.pop("who", "receiver")
    body = {"document": kw.pop("document", "to_khai"), "files": files}
    return node.api(
        node.app.test_client(), "POST", f"/dossiers/{code}/documents", who=who, json=body
    )


def _counts(node: Node) -> tuple[int, int, int]:
    with db.read_session(node.app) as s:
        return (
            s.scalar(select(func.count()).select_from(StoredFile)) or 0,
            s.scalar(select(func.count()).select_from(DossierDocument)) or 0,
            s.scalar(select(func.count()).select_from(Event)) or 0,
        )


def _png(colour: bool = False) -> bytes:
    img = Image.new("RGB" if colour else "L", (600, 800), (200, 30, 30) if colour else 255)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def test_sniffing_reads_the_bytes_not_the_name() -> None:
    assert documents.sniff(b"%PDF-1.7\n...") == documents.PDF
    assert documents.sniff(a4_page(0, photo=False)) == documents.JPEG
    assert documents.sniff(_png()) == documents.PNG
    assert documents.sniff(b"GIF89a....") is None
    assert documents.sniff(b"<html>") is None


def test_a_bad_file_is_refused_by_its_field_and_nothing_is_half_stored(node: Node) -> None:
    code = take_in(node)
    before = _counts(node)
    r = attach(node, code, [_b64(a4_page(1, photo=False)), _b64(b"MZ\x90\x00exe", "scan.jpg")])
    assert r.status_code == 422
    fields = {p["field"] for p in r.json["error"]["errors"]}
    assert fields == {"files[1]"}
    assert "scan.jpg" in str(r.json) and "PDF, JPEG or PNG" in str(r.json)
    assert _counts(node) == before
    r = attach(node, code, [_b64(a4_page(1, photo=False))], document="giay_to_khong_co")
    assert r.status_code == 422 and "document" in str(r.json)
    assert _counts(node) == before


def test_limits_on_bytes_and_pages_are_settings(node: Node) -> None:
    code = take_in(node)
    page = a4_page(2, photo=False)
    node.app.config["SCAN_MAX_FILE_BYTES"] = len(page) - 1
    r = attach(node, code, [_b64(page)])
    assert r.status_code == 422 and "files[0]" in str(r.json)
    node.app.config["SCAN_MAX_FILE_BYTES"] = 10 * 1024 * 1024
    node.app.config["SCAN_MAX_PAGES"] = 1
    r = attach(node, code, [_b64(page), _b64(page)])
    assert r.status_code == 422 and "too_many_pages" in str(r.json)
    node.app.config["SCAN_MAX_PAGES"] = 20
    node.app.config["SCAN_MAX_DOSSIER_BYTES"] = 1000
    r = attach(node, code, [_b64(page)])
    assert r.status_code == 422 and "dossier_too_large" in str(r.json)
    assert _counts(node)[:2] == (0, 0)


def test_an_officer_without_the_role_cannot_attach(node: Node) -> None:
    code = take_in(node)
    r = attach(node, code, [_b64(_png())], who="admin")
    assert r.status_code == 403
    assert _counts(node)[:2] == (0, 0)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_a_photographed_a4_page_is_at_most_80_kb(seed: int) -> None:
    raw = a4_page(seed)
    assert len(raw) > 500 * 1024  # what the phone gives
    doc = scans.normalise([scans.Upload("files", "p.jpg", raw)], scans.Limits())
    assert doc.pages == 1 and doc.pdf.startswith(b"%PDF-")
    assert len(doc.pdf) <= 80 * 1024, len(doc.pdf)


def test_colour_pages_stay_in_colour_and_pdfs_are_joined_as_they_are() -> None:
    colour = scans.normalise([scans.Upload("files", "c.png", _png(colour=True))], scans.Limits())
    assert b"/DeviceRGB" in colour.pdf
    grey = scans.normalise([scans.Upload("files", "g.png", _png())], scans.Limits())
    assert b"/DeviceRGB" not in grey.pdf
    two_pages = img2pdf.convert([_png(), _png()])
    joined = scans.normalise(
        [scans.Upload("files", "a.pdf", two_pages), scans.Upload("files", "b.png", _png())],
        scans.Limits(),
    )
    assert joined.pages == 3
    bad = scans.Upload("files[0]", "x.pdf", b"%PDF-1.4 not really")
    with pytest.raises(Exception, match=r"invalid|unreadable|cannot"):
        scans.normalise([bad], scans.Limits())


def test_the_record_names_the_file_by_hash_and_erasure_removes_the_file(
    node: Node, tmp_path: Path
) -> None:
    code = take_in(node)
    page = a4_page(3)
    r = attach(node, code, [_b64(page), _b64(a4_page(4))])
    assert r.status_code == 201
    doc = r.json["document"]
    with db.read_session(node.app) as s:
        ev = s.scalars(select(Event).where(Event.type == documents.TYPE)).one()
        rec = record.parse(ev.record)
        content = s.get(StoredFile, doc["sha256"]).content
    assert rec.data == {
        "document": "to_khai",
        "document_name": doc["document_name"],
        "media_type": "application/pdf",
        "pages": 2,
        "sha256": documents.digest(content),
        "size": len(content),
    }
    assert len(ev.record) < 1024  # the bytes are never in the record
    listed = node.api(node.app.test_client(), "GET", f"/dossiers/{code}/documents").json
    assert listed["documents"][0]["sha256"] == doc["sha256"]
    got = node.api(node.app.test_client(), "GET", f"/dossiers/{code}/documents/{doc['id']}")
    assert got.status_code == 200 and got.data == content

    instance = Path(node.app.instance_path)
    out = CliRunner().invoke(main, ["--instance", str(instance), "backup", str(tmp_path / "b")])
    assert out.exit_code == 0, out.output
    assert f"scanned documents 1 ({len(content)} bytes)" in out.output

    with db.write_session(node.app) as s:
        privacy.erase_dossier_personal_data(s, code, at=node.clock())
    assert _counts(node)[:2] == (0, 0)
    with db.read_session(node.app) as s:  # the signed record stays, naming only the hash
        assert (
            s.scalars(select(Event).where(Event.type == documents.TYPE)).one().record == ev.record
        )
    got = node.api(node.app.test_client(), "GET", f"/dossiers/{code}/documents/{doc['id']}")
    assert got.status_code == 404


def test_pages_attached_at_intake_go_in_with_the_dossier_or_not_at_all(node: Node) -> None:
    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    from tests.node.desk import intake_form, login

    client = node.app.test_client()
    login(client, "receiver")
    page = client.get("/dossiers/new?procedure=1.004873.000.00.00.H38").get_data(as_text=True)
    assert 'name="scan-to_khai"' in page and 'enctype="multipart/form-data"' in page

    def post(scan: bytes, name: str) -> Any:
        form = MultiDict(
            [(k, v) for k, vs in intake_form(client).items()
             for v in (vs if isinstance(vs, list) else [vs])]
        )  # fmt: skip
        form.add("scan-to_khai", FileStorage(io.BytesIO(scan), name))
        boundary, body = encode_multipart(form)
        return client.post(
            "/dossiers/new", data=body, content_type=f"multipart/form-data; boundary={boundary}"
        )

    before = _counts(node)
    r = post(b"PK\x03\x04 a zip named as a scan", "to-khai.png")
    assert r.status_code == 422 and "to-khai.png" in r.get_data(as_text=True)
    assert _counts(node) == before  # no dossier without its pages, no pages without it
    r = post(_png(), "to-khai.png")
    assert r.status_code == 302, r.get_data(as_text=True)
    code = str(r.headers["Location"]).rsplit("/", 1)[1]
    with db.read_session(node.app) as s:
        docs = list(s.scalars(select(DossierDocument).where(DossierDocument.dossier_code == code)))
    assert [d.document for d in docs] == ["to_khai"] and docs[0].pages == 1
