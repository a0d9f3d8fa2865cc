"""docs/records.md is enough to write a verifier: this one uses only the standard library,
``rfc8785`` and ``cryptography`` — none of the project's code — on records the node made."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask.testing import FlaskClient

from tests.node.conftest import Node

PREFIX = b"vn-dossier/event/v2\n"
FIELDS = {"actor", "anchor", "at", "data", "dossier", "key", "node", "prev", "seq", "type"}


def verify_chain(records: list[bytes], public_raw: bytes) -> list[dict[str, Any]]:
    public = Ed25519PublicKey.from_public_bytes(public_raw)
    key_id = hashlib.sha256(public_raw).hexdigest()[:32]
    previous_id = None
    bodies = []
    for n, raw in enumerate(records, start=1):
        assert raw.startswith(PREFIX) and len(raw) <= 65536
        body_bytes, signature = raw[len(PREFIX) : -64], raw[-64:]
        public.verify(signature, raw[:-64])  # raises if the signature is wrong

        def no_dupes(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            assert len({k for k, _ in pairs}) == len(pairs)
            return dict(pairs)

        body = json.loads(body_bytes.decode("utf-8"), object_pairs_hook=no_dupes)
        assert rfc8785.dumps(body) == body_bytes  # canonical
        for text in _strings(body):
            assert unicodedata.is_normalized("NFC", text)
        assert set(body) == FIELDS
        assert body["key"] == key_id and body["node"] == key_id  # first key: node id = key id
        assert body["seq"] == n and body["prev"] == previous_id
        previous_id = hashlib.sha256(raw).hexdigest()
        bodies.append(body)
    return bodies


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_an_independent_verifier_accepts_the_nodes_chain(node: Node, client: FlaskClient) -> None:
    import base64

    form = {
        "procedure": "1.004873.000.00.00.H38",
        "applicant_name": "Đặng Thị Ánh Tuyết",
        "id_number": "062195001234",
        "address": "thôn Pờ Y",
        "phone": "0912345678",
        "documents": {"to_khai": {"original": 1}},
    }
    code = node.api(client, "POST", "/dossiers", json=form).json["dossier"]["code"]
    node.api(client, "POST", f"/dossiers/{code}/actions/processing", json={})
    info = node.api(client, "GET", "/node").json
    events = node.api(client, "GET", "/events?after=0").json["events"]
    raws = [base64.b64decode(e["record"]) for e in events]
    bodies = verify_chain(raws, bytes.fromhex(info["public_key"]))
    assert [b["type"] for b in bodies] == ["dossier.received", "dossier.processing"]
    pd = bodies[0]["data"]["pd"]  # version 2: the record commits to the person's data
    assert "name" not in bodies[0]["data"]["applicant"] and "Tuyết".encode() not in raws[0]
    # The commitment recomputed from docs/records.md alone ("Personal data"): SHA-256 of
    # the prefix and the JCS array [salt, path, value], with the salt the node kept apart.
    from commune_node import db
    from commune_node.models import PersonalDisclosure

    with db.read_session(node.app) as s:
        kept = {
            r.path: (r.salt, r.value)
            for r in s.query(PersonalDisclosure).filter_by(dossier_code=code)
        }
    salt, value = kept["applicant.name"]
    assert value == "Đặng Thị Ánh Tuyết"
    disclosure = rfc8785.dumps([salt, "applicant.name", value])
    assert (
        hashlib.sha256(b"vn-dossier/disclosure/v1\n" + disclosure).hexdigest()
        == pd["applicant.name"]
    )
    wrong = rfc8785.dumps([salt, "applicant.name", "Đặng Thị Ánh Tuyet"])
    assert hashlib.sha256(b"vn-dossier/disclosure/v1\n" + wrong).hexdigest() != pd["applicant.name"]
    assert set(pd) == set(kept) >= {"applicant.name", "applicant.id_number", "applicant.phone"}
    tampered = raws[0].replace(pd["applicant.name"].encode(), b"0" * 64)
    try:
        verify_chain([tampered], bytes.fromhex(info["public_key"]))
    except Exception:  # any failure: signature, JSON or canonical form
        pass
    else:
        raise AssertionError("a tampered record passed the independent verifier")
