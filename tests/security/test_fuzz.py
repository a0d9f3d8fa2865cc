"""Hostile input: every JSON endpoint of the node (``/api/v1``) and the hub (``/sync/v1``)
fuzzed from its own OpenAPI document with schemathesis (valid and invalid requests; the
hub's requests signed with a real enrolled node key), the sync payload parsers fuzzed with
hypothesis, and the classic attacks by hand: oversized bodies, deep nesting, wrong content
types, invalid UTF-8, NFD strings, huge integers, a zlib bomb.

Always: no 5xx, no unhandled exception, an error body with a documented code, bounded
memory."""

from __future__ import annotations

import contextlib
import json
import secrets
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from central_hub.services import nodes as hub_nodes
from central_hub.web.openapi import ERROR_CODES
from common import canonical, errors, keys, protocol, record
from common.personal import SEAL_PREFIX
from tests.hub.fixtures import Hub, make_hub
from tests.node.conftest import Node, make_node
from tests.support import MovableClock

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


@schemathesis.serializer(protocol.BATCH_CONTENT_TYPE)
def _batch(ctx: Any, value: Any) -> bytes:
    """Push bodies: whatever bytes were generated (the hub must refuse them cleanly)."""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogatepass")


def _all_codes() -> set[str]:
    """Every error code the project defines (DossierError subclasses) and the HTTP ones."""
    from common_web.errors import HTTP_CODE as _HTTP_CODE

    out = set(_HTTP_CODE.values()) | {"internal", "http_error", "error"}
    stack: list[type[errors.DossierError]] = [errors.DossierError]
    while stack:
        cls = stack.pop()
        out.add(cls.code)
        stack.extend(cls.__subclasses__())
    return out


NODE_CODES = _all_codes() - {"internal"}


def _operations(schema: Any) -> list[Any]:
    return [r.ok() for r in schema.get_all_operations()]


def _check_json_error(status: int, body: bytes, codes: set[str], where: str) -> None:
    assert status < 500, where
    if status >= 400:
        err = json.loads(body)["error"]
        assert err["code"] in codes, (where, err)
        assert err.get("message") and err.get("message_vi"), where


# ----------------------------------------------------------------------------- node


@pytest.fixture
def fuzz_node(tmp_path: Path, clock: MovableClock) -> Iterator[Node]:
    n = make_node(tmp_path / "node", clock)
    from tests.sync.helpers import take_in

    take_in(n)
    yield n


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_node_api_from_its_openapi_document(fuzz_node: Node, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_node.app)
    auth = {"Authorization": f"Bearer {fuzz_node.tokens['leader']}"}
    seen = 0
    for op in _operations(schema):

        @FUZZ
        @given(case=op.as_strategy(generation_mode=mode))
        def one(case: Any) -> None:
            r = case.call(headers=auth)
            _check_json_error(r.status_code, r.content, NODE_CODES, f"{case.method} {case.path}")

        with contextlib.suppress(Unsatisfiable):  # nothing invalid to make for this one
            one()
        seen += 1
    assert seen >= 20


# ----------------------------------------------------------------------------- hub


@pytest.fixture
def enrolled_hub(tmp_path: Path, hub_clock: MovableClock) -> Iterator[tuple[Hub, keys.PrivateKey]]:
    hub = make_hub(tmp_path / "hub", hub_clock)
    key = keys.generate()
    public_hex = keys.public_bytes(key).hex()
    with hub.db.write() as s:
        code = hub_nodes.issue_code(
            s, commune_name="Xã Đăk Pxi", agency_code="000.00.12.H26", clock=hub_clock
        )
        hub_nodes.enrol(
            s,
            code=code,
            node_id=keys.key_id(key),
            public_key_hex=public_hex,
            proof=keys.sign(key, protocol.enrol_message(code, keys.key_id(key), public_hex)),
            agency_code="000.00.12.H26",
            clock=hub_clock,
        )
    yield hub, key
    hub.db.engine.dispose()


def signed_call(hub: Hub, key: keys.PrivateKey, case: Any) -> Any:
    """Send a schemathesis case to the hub, signed exactly over the bytes that are sent."""
    kw = case.as_transport_kwargs(base_url="http://localhost")
    body: bytes
    if "json" in kw:
        body = json.dumps(kw["json"]).encode()
    else:
        raw = kw.get("data", b"") or b""
        body = raw if isinstance(raw, bytes) else str(raw).encode("utf-8", "surrogatepass")
    query = urlencode(kw.get("params") or {}, doseq=True)
    path = case.formatted_path + (f"?{query}" if query else "")
    headers = {k: str(v) for k, v in (kw.get("headers") or {}).items()}
    headers.update(
        protocol.sign_request(
            key,
            method=case.method,
            path=path,
            body=body,
            timestamp=int(hub.clock().timestamp()),
            nonce=secrets.token_hex(16),
            node=keys.key_id(key),
        )
    )
    return hub.app.test_client().open(path, method=case.method, data=body, headers=headers)


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_hub_sync_api_from_its_openapi_document_with_signed_requests(
    enrolled_hub: tuple[Hub, keys.PrivateKey], mode: GenerationMode
) -> None:
    hub, key = enrolled_hub
    schema = schemathesis.openapi.from_wsgi("/sync/v1/openapi.json", hub.app)
    codes = set(ERROR_CODES) | {"not_found", "method_not_allowed", "bad_encoding"}
    authenticated = 0
    for op in _operations(schema):

        @FUZZ
        @given(case=op.as_strategy(generation_mode=mode))
        def one(case: Any) -> None:
            nonlocal authenticated
            r = signed_call(hub, key, case)
            _check_json_error(r.status_code, r.data, codes, f"{case.method} {case.path}")
            if r.status_code not in (401, 403):
                authenticated += 1

        with contextlib.suppress(Unsatisfiable):
            one()
    assert authenticated > 0  # the signatures were good: the fuzz reached the views


def test_hub_refuses_each_hostile_body(enrolled_hub: tuple[Hub, keys.PrivateKey]) -> None:
    hub, key = enrolled_hub
    client = hub.app.test_client()
    node = keys.key_id(key)

    def push(body: bytes, content_type: str = protocol.BATCH_CONTENT_TYPE) -> Any:
        path = "/sync/v1/push"
        headers = protocol.sign_request(key, method="POST", path=path, body=body,
                                        timestamp=int(hub.clock().timestamp()),
                                        nonce=secrets.token_hex(16), node=node)  # fmt: skip
        return client.post(path, data=body, headers={**headers, "Content-Type": content_type})

    cases: list[tuple[str, bytes, str, set[int]]] = [
        ("oversized", b"\0" * (5 * 1024 * 1024), protocol.BATCH_CONTENT_TYPE, {413}),
        ("zlib bomb", zlib.compress(b"\0" * (64 * 1024 * 1024), 9), protocol.BATCH_CONTENT_TYPE, {400}),
        ("not zlib", b"\xff\xfe garbage", protocol.BATCH_CONTENT_TYPE, {400}),
        ("wrong content type", protocol.encode_batch([]), "application/json", {415}),
        ("invalid utf-8 record", protocol.encode_batch([record.PREFIX + b"{\"a\":\"\xff\"}" + b"\0" * 64]),
         protocol.BATCH_CONTENT_TYPE, {400}),
        ("frame too long", zlib.compress(protocol.BATCH_MAGIC + b"\xff\xff\xff\x7f"), protocol.BATCH_CONTENT_TYPE, {400}),
    ]  # fmt: skip
    for name, body, ctype, expected in cases:
        tracemalloc.start()
        r = push(body, ctype)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert r.status_code in expected, (name, r.status_code, r.data[:200])
        _check_json_error(r.status_code, r.data, set(ERROR_CODES), name)
        assert peak < 64 * 1024 * 1024, (name, peak)  # bounded memory, even for the bomb
    deep = b"[" * 8_000 + b"]" * 8_000  # within the enrolment's 16 KiB, nested far too deep
    r = client.post("/sync/v1/enrol", data=deep, content_type="application/json")
    assert r.status_code == 400
    r = client.post("/sync/v1/enrol", data=deep * 13, content_type="application/json")
    assert r.status_code == 413  # over the limit: refused before it is read
    r = client.post("/sync/v1/enrol", data=b'{"code": "\xff"}', content_type="application/json")
    assert r.status_code == 400
    huge = b'{"code":"A","node_id":"' + b"0" * 32 + b'","public_key":"' + b"0" * 64
    r = client.post("/sync/v1/enrol", data=huge + b'","proof":' + b"9" * 5000 + b"}",
                    content_type="application/json")  # fmt: skip
    assert r.status_code in (400, 403) and r.status_code < 500


def test_node_api_refuses_each_hostile_body(fuzz_node: Node) -> None:
    client = fuzz_node.app.test_client()
    auth = {"Authorization": f"Bearer {fuzz_node.tokens['receiver']}"}
    good = {
        "procedure": "1.004873.000.00.00.H38",
        "applicant_name": "Nguyễn Văn Đức",
        "id_number": "062095001234",
        "phone": "0912345678",
        "address": "thôn 3",
        "documents": {"to_khai": {"original": 1}},
    }

    def post(data: bytes, ctype: str = "application/json") -> Any:
        return client.post("/api/v1/dossiers", data=data, headers={**auth, "Content-Type": ctype})

    nfd = {**good, "applicant_name": "Nguyễn Văn Đức".encode().decode()}
    import unicodedata

    nfd["applicant_name"] = unicodedata.normalize("NFD", "Nguyễn Văn Đức")
    cases: list[tuple[str, bytes, str, set[int]]] = [
        ("oversized", b"{" + b" " * (300 * 1024) + b"}", "application/json", {413}),
        ("deep nesting", b"[" * 50_000 + b"]" * 50_000, "application/json", {400}),
        ("wrong content type", json.dumps(good).encode(), "text/plain", {415}),
        ("invalid utf-8", b'{"procedure": "\xff\xfe"}', "application/json", {400}),
        ("huge integer", json.dumps({**good, "sets": 10**400}).encode(), "application/json", {400, 422}),
        ("float for integer", json.dumps({**good, "channel": 1.5}).encode(), "application/json", {422}),
        ("NFD name", json.dumps(nfd).encode(), "application/json", {201, 422}),
        ("not an object", b"[1, 2, 3]", "application/json", {400, 422}),
        ("null bytes", json.dumps({**good, "address": "a\u0000b"}).encode(), "application/json", {201, 422}),
    ]  # fmt: skip
    for name, body, ctype, expected in cases:
        r = post(body, ctype)
        assert r.status_code in expected, (name, r.status_code, r.data[:300])
        _check_json_error(r.status_code, r.data, NODE_CODES, name)
        if name == "NFD name" and r.status_code == 201:  # normalised, never stored as NFD
            stored = r.json["dossier"]["applicant"]["name"]
            assert unicodedata.is_normalized("NFC", stored)


# ----------------------------------------------------------------------------- parsers


def _only_documented(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except errors.DossierError as exc:
        assert exc.code in NODE_CODES | set(ERROR_CODES), exc.code


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=4096))
def test_decode_batch_refuses_any_bytes_cleanly(body: bytes) -> None:
    _only_documented(lambda: protocol.decode_batch(body))


# A frame that begins with the sealed-box prefix is, by the batch format, the sealed personal
# data of the record before it (docs/sync-protocol.md): the round trip holds for every other
# frame; frames with the prefix are fuzzed below as disclosures that break the rules.
frames = st.lists(
    st.binary(max_size=300).filter(lambda f: not f.startswith(SEAL_PREFIX)), max_size=20
)


@settings(max_examples=300, deadline=None)
@given(records=frames, tail=st.binary(max_size=8), cut=st.integers(0, 50))
def test_decode_batch_of_crafted_frames(records: list[bytes], tail: bytes, cut: int) -> None:
    raw = protocol.encode_frames(records)
    assert protocol.decode_batch(zlib.compress(raw)) == records
    _only_documented(lambda: protocol.decode_batch(zlib.compress(raw[: len(raw) - cut] + tail)))
    _only_documented(lambda: protocol.decode_batch(zlib.compress(raw)[: max(0, len(raw) - cut)]))


@settings(max_examples=200, deadline=None)
@given(records=frames, at=st.integers(0, 20), box=st.binary(max_size=64))
def test_sealed_frames_out_of_place_are_refused_cleanly(
    records: list[bytes], at: int, box: bytes
) -> None:
    crafted = list(records)
    crafted.insert(min(at, len(crafted)), SEAL_PREFIX + box)
    _only_documented(
        lambda: protocol.decode_batch_sealed(zlib.compress(protocol.encode_frames(crafted)))
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=20)
    | st.floats(allow_nan=True),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(value=json_values, junk=st.binary(max_size=64))
def test_record_parse_refuses_anything_but_a_record(value: Any, junk: bytes) -> None:
    body = json.dumps(value).encode()
    for raw in (record.PREFIX + body + junk, record.PREFIX + body + b"\0" * 64, junk, body):
        _only_documented(lambda raw=raw: record.parse(raw))  # type: ignore[misc]
        _only_documented(lambda raw=raw: canonical.decode(raw))  # type: ignore[misc]


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_canonical_round_trip_or_refusal(value: Any) -> None:
    def check() -> None:
        data = canonical.encode(value)
        assert canonical.decode(data) == value

    _only_documented(check)


def test_nested_and_nfd_records_are_refused() -> None:
    deep: Any = "x"
    for _ in range(40):
        deep = [deep]
    import unicodedata

    for value in (deep, {"name": unicodedata.normalize("NFD", "Đức")}, {"n": 2**60}):
        with pytest.raises(errors.DossierError):
            canonical.encode(value)
