"""Scanned documents from the desk to the hub over real HTTP: records first, files after in
chunks that resume after a cut, stored once at the hub and receipted per file."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bench.scanpages import a4_page
from central_hub.file_models import FilePart, FileRef, HubFile, NodeFile
from central_hub.models import Alert, LogRecord
from central_hub.services import hubfiles
from common import documents, protocol
from commune_node import db as node_db
from commune_node.file_models import StoredFile
from commune_node.scheduler import run_sync
from commune_node.transport import HttpTransport, LinkError, Response
from commune_node.web.context import node_identity
from tests.hub.fixtures import Hub, make_hub
from tests.node.conftest import Node
from tests.support import MovableClock, serve
from tests.sync.conftest import Site
from tests.sync.helpers import take_in

PORT = 7911
AGENCY = "000.00.12.H26"


@pytest.fixture
def doc_site(tmp_path: Path, hub_clock: MovableClock) -> Iterator[Site]:
    clock = hub_clock
    hub = make_hub(tmp_path / "hub", clock)
    with serve(hub.app, port=PORT) as server:
        yield Site(hub, server.url, tmp_path, clock)
    hub.db.engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def both_site(
    request: pytest.FixtureRequest, tmp_path: Path, hub_clock: MovableClock
) -> Iterator[Site]:
    """The hub on SQLite, then on PostgreSQL (where every hub process reaches the files)."""
    from tests.support import fresh_postgres_database

    if request.param == "sqlite":
        hub = make_hub(tmp_path / "hub", hub_clock)
        with serve(hub.app, port=PORT + 1) as server:
            yield Site(hub, server.url, tmp_path, hub_clock)
        hub.db.engine.dispose()
        return
    with fresh_postgres_database() as url:
        hub = make_hub(tmp_path / "hub", hub_clock, url)
        with serve(hub.app, port=PORT + 2) as server:
            yield Site(hub, server.url, tmp_path, hub_clock)
        hub.db.engine.dispose()


def attach(node: Node, code: str, pages: list[bytes], document: str = "to_khai") -> Any:
    files = [
        {"name": f"p{i}.jpg", "content_base64": base64.b64encode(p).decode()}
        for i, p in enumerate(pages)
    ]
    return node.api(
        node.app.test_client(),
        "POST",
        f"/dossiers/{code}/documents",
        json={"document": document, "files": files},
    )


@dataclass
class CuttingTransport:
    """Real HTTP; after ``cut_after`` body bytes have gone, the next request reaches the hub
    but its answer is lost (the link drops), once."""

    inner: HttpTransport
    cut_after: int
    sent: int = 0
    cuts: int = 0
    paths: list[str] = field(default_factory=list)

    def request(
        self, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Response:
        self.paths.append(path)
        resp = self.inner.request(method, path, body=body, headers=headers)
        self.sent += len(body)
        if self.cut_after and self.sent > self.cut_after:
            self.cut_after = 0
            self.cuts += 1
            raise LinkError("the link dropped before the answer came")
        return resp


def _hub_file(hub: Hub, sha: str) -> bytes | None:
    with hub.db.read() as s:
        row = s.get(HubFile, sha)
        if row is None:
            return None
        return hubfiles._open(hub.identity.data_key, row.box, sha=sha)


def test_records_first_then_files_resumed_after_a_cut_and_receipted(both_site: Site) -> None:
    doc_site = both_site
    node = doc_site.node("a", AGENCY)
    code = take_in(node)
    r = attach(node, code, [a4_page(1), a4_page(2)])
    assert r.status_code == 201, r.json
    doc = r.json["document"]
    assert doc["pages"] == 2 and doc["size"] <= 2 * 80 * 1024 and not doc["sent"]
    with node_db.read_session(node.app) as s:
        pdf = s.get(StoredFile, doc["sha256"]).content
    assert hashlib.sha256(pdf).hexdigest() == doc["sha256"] and pdf.startswith(b"%PDF-")

    cutting = CuttingTransport(HttpTransport(doc_site.url), cut_after=0)
    node.app.config["SYNC_TRANSPORT"] = lambda: cutting
    node.app.config["SYNC_FILE_CHUNK_BYTES"] = 8 * 1024
    # cut once the records and the first chunks have gone: mid-file
    cutting.cut_after = 30 * 1024
    with pytest.raises(LinkError):
        run_sync(node.app)
    assert cutting.cuts == 1
    with doc_site.hub.db.read() as s:  # the records are all at the hub, the file is not
        types = list(s.scalars(select(LogRecord.type).where(LogRecord.dossier_code == code)))
        assert documents.TYPE in types
        nf = s.scalars(select(NodeFile)).one()
        assert 0 < nf.received < nf.size and nf.completed_at is None
        kept = nf.received
        assert s.get(HubFile, doc["sha256"]) is None
    before = cutting.sent
    result = run_sync(node.app)
    assert result is not None and result.files_done == 1
    resent = cutting.sent - before
    assert resent < nf.size - kept + 4 * 1024  # only what the hub lacked, and small requests
    assert _hub_file(doc_site.hub, doc["sha256"]) == pdf
    with node_db.read_session(node.app) as s:
        row = s.get(StoredFile, doc["sha256"])
        assert row.receipted_at is not None
        body = documents.open_receipt(row.receipt, doc_site.hub.identity.key.public_key())
    assert body["sha256"] == doc["sha256"] and body["dossiers"] == [code]
    assert body["node"] == node_identity_of(node)
    with doc_site.hub.db.read() as s:
        assert s.scalar(select(func.count()).select_from(FilePart)) == 0


def node_identity_of(node: Node) -> str:
    with node.app.app_context():
        return node_identity().node_id


def test_same_file_twice_is_kept_once_and_sent_once(doc_site: Site) -> None:
    node = doc_site.node("a", AGENCY)
    page = a4_page(3)
    one, two = take_in(node), take_in(node)
    assert attach(node, one, [page]).status_code == 201
    assert attach(node, two, [page]).status_code == 201
    node.app.config["SYNC_TRANSPORT"] = lambda: HttpTransport(doc_site.url)
    result = run_sync(node.app)
    assert result is not None and result.files_done == 1
    with node_db.read_session(node.app) as s:
        assert s.scalar(select(func.count()).select_from(StoredFile)) == 1
    with doc_site.hub.db.read() as s:
        assert s.scalar(select(func.count()).select_from(HubFile)) == 1
        assert s.scalar(select(func.count()).select_from(FileRef)) == 2
        receipt = s.scalars(select(NodeFile)).one()
        assert receipt.completed_at is not None
    with node_db.read_session(node.app) as s:
        raw = s.scalars(select(StoredFile)).one().receipt
    body = documents.open_receipt(raw, doc_site.hub.identity.key.public_key())
    assert body["dossiers"] == sorted([one, two])


def test_a_byte_budget_leaves_files_waiting_and_records_are_not_delayed(doc_site: Site) -> None:
    node = doc_site.node("a", AGENCY)
    code = take_in(node)
    assert attach(node, code, [a4_page(4), a4_page(5), a4_page(6)]).status_code == 201
    transport = CuttingTransport(HttpTransport(doc_site.url), cut_after=0)
    node.app.config["SYNC_TRANSPORT"] = lambda: transport
    node.app.config["SYNC_FILE_BUDGET_BYTES"] = 16 * 1024
    node.app.config["SYNC_FILE_CHUNK_BYTES"] = 8 * 1024
    result = run_sync(node.app)
    assert result is not None and result.file_bytes == 16 * 1024 and result.files_done == 0
    later = take_in(node)  # taken in while the file is still on its way
    result = run_sync(node.app)
    assert result is not None and result.pushed >= 1
    with doc_site.hub.db.read() as s:  # the new dossier is at the hub, the file still not
        assert s.scalar(select(func.count()).select_from(LogRecord).where(
            LogRecord.dossier_code == later)) == 1  # fmt: skip
        assert s.scalar(select(func.count()).select_from(HubFile)) == 0
    pushes = [i for i, p in enumerate(transport.paths) if p.startswith("/sync/v1/push")]
    chunks = [i for i, p in enumerate(transport.paths) if p.startswith("/sync/v1/files/")]
    assert max(pushes) < max(chunks) and pushes[-1] < chunks[-1]
    with doc_site.hub.db.read() as s:
        waiting = hubfiles.waiting_by_node(s)
    (w,) = waiting.values()
    assert w.count == 1 and w.size > 0
    node.app.config["SYNC_FILE_BUDGET_BYTES"] = None
    result = run_sync(node.app)
    assert result is not None and result.files_done == 1


def _signed_call(node: Node, method: str, path: str, body: bytes, ctype: str) -> Any:
    from commune_node.services.hublink import Client

    with node.app.app_context():
        client = Client(
            node_db.database(node.app),
            node_identity(),
            HttpTransport(f"http://127.0.0.1:{PORT}"),
            node.clock,
        )
        return client.call(method, path, body, content_type=ctype)


def test_hostile_node_cannot_claim_or_corrupt_a_file(doc_site: Site) -> None:
    from commune_node.services.hublink import SyncRefused

    node = doc_site.node("a", AGENCY)
    code = take_in(node)
    assert attach(node, code, [a4_page(7)]).status_code == 201
    node.app.config["SYNC_TRANSPORT"] = lambda: HttpTransport(doc_site.url)
    node.app.config["SYNC_FILE_BUDGET_BYTES"] = 1  # records only (and one byte of the file)
    run_sync(node.app)
    with node_db.read_session(node.app) as s:
        row = s.scalars(select(StoredFile)).one()
        sha, size = row.sha256, row.size
    # a file no record of this node names: refused
    other = hashlib.sha256(b"never attached").hexdigest()
    with pytest.raises(SyncRefused) as exc:
        _signed_call(
            node, "PUT", f"/sync/v1/files/{other}?offset=0", b"x", "application/octet-stream"
        )
    assert exc.value.code == "file_unknown"
    # asking for a receipt of a file never sent gives none
    import json

    resp = _signed_call(node, "POST", "/sync/v1/files/status",
                        json.dumps({"files": [sha, other]}).encode(), "application/json")  # fmt: skip
    found = resp.json()["files"]
    assert "receipt" not in found[sha] and found[sha]["offset"] == 1
    assert found[other] == {"known": False, "offset": 0}
    # bytes that do not match the hash: thrown away, alert, start again
    wrong = b"%" * (size - 1)
    with pytest.raises(SyncRefused) as exc:
        _signed_call(
            node, "PUT", f"/sync/v1/files/{sha}?offset=1", wrong, "application/octet-stream"
        )
    assert exc.value.code == "file_hash_mismatch"
    with doc_site.hub.db.read() as s:
        assert s.get(HubFile, sha) is None
        nf = s.get(NodeFile, (node_identity_of(node), sha))
        assert nf.received == 0 and nf.completed_at is None
        assert s.scalar(select(func.count()).select_from(FilePart)) == 0
        assert s.scalars(select(Alert).where(Alert.kind == "file_mismatch")).first() is not None
    # longer than the record said: refused
    with pytest.raises(SyncRefused) as exc:
        _signed_call(node, "PUT", f"/sync/v1/files/{sha}?offset=0", b"%" * (size + 1),
                     "application/octet-stream")  # fmt: skip
    assert exc.value.code == "file_too_long"
    # the honest node then sends it whole from 0
    node.app.config["SYNC_FILE_BUDGET_BYTES"] = None
    result = run_sync(node.app)
    assert result is not None and result.files_done == 1
    assert _hub_file(doc_site.hub, sha) is not None
    assert protocol  # (imported for the receipt's base64 helpers)


def test_pages_attach_list_download_at_node_and_hub(doc_site: Site) -> None:
    import io

    from central_hub.models import ProcessingEntry as HubLogEntry
    from commune_node.models import ProcessingEntry as NodeLogEntry
    from tests.hub.test_pages import Person
    from tests.node.desk import csrf, login

    node = doc_site.node("a", AGENCY)
    code = take_in(node)
    client = node.app.test_client()
    login(client, "receiver")
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert 'id="attach-form"' in page and 'capture="environment"' in page
    assert 'accept="application/pdf,image/jpeg,image/png"' in page
    token = csrf(page)
    # a text file named like a picture: refused, naming the field; nothing stored
    r = client.post(
        f"/dossiers/{code}/documents",
        data={"csrf_token": token, "document": "to_khai",
              "files": [(io.BytesIO(b"not an image"), "scan.jpg")]},
        content_type="multipart/form-data", follow_redirects=True,
    )  # fmt: skip
    assert "scan.jpg" in r.get_data(as_text=True) and "files" in r.get_data(as_text=True)
    with node_db.read_session(node.app) as s:
        assert s.scalar(select(func.count()).select_from(StoredFile)) == 0
    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    def page_file(seed: int) -> FileStorage:
        return FileStorage(io.BytesIO(a4_page(seed)), f"{seed}.jpg", content_type="image/jpeg")

    form = MultiDict([("csrf_token", token), ("document", "to_khai"),
                      ("files", page_file(8)), ("files", page_file(9))])  # fmt: skip
    boundary, body = encode_multipart(form)  # (in memory: the test client would spool it)
    r = client.post(
        f"/dossiers/{code}/documents",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert r.status_code == 302
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert 'data-document="to_khai"' in page, page[page.find("flash") :][:500]
    sync_page = client.get("/sync/").get_data(as_text=True)
    assert 'data-files-waiting="1"' in sync_page and "1 tệp" in sync_page
    r = client.get(f"/dossiers/{code}/documents/1")
    assert r.status_code == 200 and r.data.startswith(b"%PDF-")
    with node_db.read_session(node.app) as s:
        purposes = list(s.scalars(select(NodeLogEntry.purpose)))
    assert "document 1 downloaded" in purposes

    node.app.config["SYNC_TRANSPORT"] = lambda: HttpTransport(doc_site.url)
    node.app.config["SYNC_FILE_BUDGET_BYTES"] = 1024
    run_sync(node.app)
    admin = Person(doc_site.hub.app, "administrator")
    nid = node_identity_of(node)
    text = admin.get(f"/nodes/{nid}").get_data(as_text=True)
    assert "1 file, 0.1 MB waiting, oldest 0 days" in text
    assert "1 file" in admin.get("/nodes").get_data(as_text=True)
    text = admin.get(f"/dossiers/{code}").get_data(as_text=True)
    assert "waiting for the commune" in text
    node.app.config["SYNC_FILE_BUDGET_BYTES"] = None
    run_sync(node.app)
    officer = Person(doc_site.hub.app, "hub_officer")
    text = officer.get(f"/dossiers/{code}").get_data(as_text=True)
    assert "scanned-documents" in text
    with doc_site.hub.db.read() as s:
        seq = s.scalars(select(FileRef.seq)).one()
    link = f"/dossiers/{code}/documents/{nid}/{seq}"
    assert link in text
    r = officer.get(link)
    assert r.status_code == 200 and r.data == client.get(f"/dossiers/{code}/documents/1").data
    auditor = Person(doc_site.hub.app, "auditor")
    assert auditor.get(link).status_code == 403  # commitments, not the citizen's papers
    with doc_site.hub.db.read() as s:
        logged = list(s.scalars(select(HubLogEntry.purpose)))
    assert f"document (record {seq}) downloaded" in logged
    assert "No file waiting" not in admin.get(f"/nodes/{nid}").get_data(as_text=True)


@dataclass
class FlakyTransport:
    """Real HTTP through a link that drops at random: before a request leaves (nothing
    reaches the hub) or after the hub answered (the answer is lost)."""

    inner: HttpTransport
    rng: Any
    rate: float = 0.3
    sent: int = 0

    def request(
        self, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Response:
        if self.rng.random() < self.rate / 2:
            raise LinkError("dropped before sending")
        resp = self.inner.request(method, path, body=body, headers=headers)
        self.sent += len(body)
        if self.rng.random() < self.rate / 2:
            raise LinkError("dropped before the answer")
        return resp


def test_random_cuts_every_file_arrives_once_with_its_hash(doc_site: Site) -> None:
    import random

    node = doc_site.node("a", AGENCY)
    codes = [take_in(node) for _ in range(3)]
    for i, code in enumerate(codes):
        assert attach(node, code, [a4_page(20 + i)]).status_code == 201
    with node_db.read_session(node.app) as s:
        files = {r.sha256: r.content for r in s.scalars(select(StoredFile))}
    link = FlakyTransport(HttpTransport(doc_site.url), random.Random(7))
    node.app.config["SYNC_TRANSPORT"] = lambda: link
    node.app.config["SYNC_FILE_CHUNK_BYTES"] = 4 * 1024
    for _run in range(400):
        try:
            run_sync(node.app)
        except LinkError:
            continue
        with node_db.read_session(node.app) as s:
            left = s.scalar(
                select(func.count())
                .select_from(StoredFile)
                .where(StoredFile.receipted_at.is_(None))
            )
        if not left:
            break
    else:
        pytest.fail("the files never all arrived")
    for sha, content in files.items():
        assert _hub_file(doc_site.hub, sha) == content
    with doc_site.hub.db.read() as s:
        assert s.scalar(select(func.count()).select_from(HubFile)) == len(files)
        assert s.scalar(select(func.count()).select_from(FilePart)) == 0
    total = sum(len(c) for c in files.values())
    assert link.sent < 1.5 * total  # records and retried chunks included: no whole restarts


def test_a_dossier_taken_in_during_an_upload_goes_before_the_rest_of_the_file(
    doc_site: Site,
) -> None:
    node = doc_site.node("a", AGENCY)
    code = take_in(node)
    assert attach(node, code, [a4_page(30), a4_page(31)]).status_code == 201
    taken: list[str] = []

    @dataclass
    class DeskBusy:
        inner: HttpTransport
        paths: list[str] = field(default_factory=list)

        def request(
            self, method: str, path: str, *, body: bytes = b"", headers: Any = None
        ) -> Response:
            self.paths.append(path)
            if path.startswith("/sync/v1/files/") and method == "PUT" and not taken:
                taken.append(take_in(node))  # the officer takes a dossier in meanwhile
            return self.inner.request(method, path, body=body, headers=headers)

    link = DeskBusy(HttpTransport(doc_site.url))
    node.app.config["SYNC_TRANSPORT"] = lambda: link
    node.app.config["SYNC_FILE_CHUNK_BYTES"] = 4 * 1024
    result = run_sync(node.app)
    assert result is not None and result.files_done == 1
    with doc_site.hub.db.read() as s:
        assert s.scalars(select(LogRecord).where(LogRecord.dossier_code == taken[0])).first()
    puts = [i for i, p in enumerate(link.paths) if p.startswith("/sync/v1/files/") and "?" in p]
    pushes = [i for i, p in enumerate(link.paths) if p.startswith("/sync/v1/push")]
    assert puts[0] < pushes[-1] < puts[-1]  # pushed in the middle of the file's chunks
    assert len(puts) - 1 > (len(puts) - 1) // 2 > 0
