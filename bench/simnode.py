"""A light simulated commune node: its own key and chain, speaking the real sync protocol
(signed requests, enrolment proof, batches, receipts) with :mod:`common.protocol`, without a
desk database. Used where the benchmark measures the hub (ingest, reconnect storm) and the
client must cost as little as possible."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from common import keys, personal, protocol


@dataclass
class Answer:
    status: int
    body: Any
    seconds: float
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class SimNode:
    agency: str
    commune: str
    url: str
    key: keys.PrivateKey = field(default_factory=keys.generate)
    session: requests.Session = field(default_factory=requests.Session)
    hub_public: keys.PublicKey | None = None
    hub_encryption: personal.EncryptionPublicKey | None = None  # seal personal data to it

    @property
    def node_id(self) -> str:
        return keys.key_id(self.key)

    def enrol(self, code: str) -> None:
        public_hex = keys.public_bytes(self.key).hex()
        proof = keys.sign(self.key, protocol.enrol_message(code, self.node_id, public_hex))
        body = {
            "code": code,
            "node_id": self.node_id,
            "public_key": public_hex,
            "agency_code": self.agency,
            "proof": protocol.b64(proof),
        }
        r = self.session.post(self.url + "/sync/v1/enrol", json=body, timeout=60)
        if r.status_code != 201:
            raise RuntimeError(f"enrolment refused: {r.status_code} {r.text[:300]}")
        self.hub_public = keys.public_from_hex(r.json()["hub_public_key"])
        sealed_to = r.json().get("encryption_key")  # the key personal data is sealed to
        self.hub_encryption = (
            personal.encryption_public_from_hex(
                protocol.encryption_key_of(
                    protocol.unb64(sealed_to), self.hub_public, hub_id=r.json()["hub_id"]
                )
            )
            if sealed_to
            else None
        )

    def call(self, method: str, path: str, body: bytes = b"", *, content_type: str = "") -> Answer:
        headers = protocol.sign_request(
            self.key,
            method=method,
            path=path,
            body=body,
            timestamp=int(time.time()),
            nonce=secrets.token_hex(16),
            node=self.node_id,
        )
        if content_type:
            headers["Content-Type"] = content_type
        t0 = time.perf_counter()
        r = self.session.request(method, self.url + path, data=body or None, headers=headers)
        elapsed = time.perf_counter() - t0
        ctype = r.headers.get("Content-Type", "")
        parsed: Any = r.json() if ctype.startswith("application/json") else r.content
        return Answer(r.status_code, parsed, elapsed, dict(r.headers))

    def status(self) -> Answer:
        return self.call("GET", "/sync/v1/status?waiting=0")

    def push(self, body: bytes, *, waiting: int = 0) -> Answer:
        return self.call(
            "POST",
            f"/sync/v1/push?waiting={waiting}",
            body,
            content_type=protocol.BATCH_CONTENT_TYPE,
        )

    def pull(self, after: int = 0) -> Answer:
        return self.call("GET", f"/sync/v1/pull?after={after}")

    def check_receipt(self, answer: Answer, last_id: str) -> int:
        """Verify the push answer's receipt with the hub key; the seq it acknowledges."""
        assert self.hub_public is not None
        raw = protocol.unb64(answer.body["receipt"], "receipt")
        body = protocol.open_statement(protocol.RECEIPT_PREFIX, raw, self.hub_public)
        if body["node"] != self.node_id or body["id"] != last_id:
            raise RuntimeError(f"receipt does not match: {json.dumps(body)[:200]}")
        return int(body["seq"])
