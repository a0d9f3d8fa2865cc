"""The OpenAPI 3.1 document of the hub's sync API (``/sync/v1``); prose in
docs/sync-protocol.md. ``tests/test_docs.py`` fails when a sync route is missing here."""

from __future__ import annotations

from functools import cache
from typing import Any

ERROR_CODES = [
    "missing_auth",
    "unknown_node",
    "unknown_key",
    "node_replaced",
    "key_revoked",
    "bad_request_signature",
    "stale_timestamp",
    "replayed",
    "enrol_refused",
    "bad_batch",
    "bad_record",
    "foreign_record",
    "bad_signature",
    "gap",
    "equivocation",
    "fork",
    "node_quarantined",
    "log_recovering",
    "bad_refill",
    "dead_letter_limit",
    "encryption_key_retired",
    "rate_limited",
    "hub_busy",
    "bad_request",
    "unsupported_media_type",
    "request_entity_too_large",
    "internal",
]
_SIGNED: list[dict[str, list[str]]] = [{"nodeSignature": []}]
_ERROR = {
    "description": "Refused: {error: {code, message, message_vi, retryable, detail}}",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_BATCH = {"application/vnd.vn-dossier.batch": {"schema": {"type": "string", "format": "binary"}}}
_REPORT = [
    {
        "name": "waiting",
        "in": "query",
        "schema": {"type": "integer", "minimum": 0},
        "description": "records the node holds without a receipt",
    },
    {
        "name": "oldest",
        "in": "query",
        "schema": {"type": "integer", "minimum": 0},
        "description": "Unix time of the oldest of them",
    },
    {
        "name": "known",
        "in": "query",
        "schema": {"type": "integer", "minimum": 0, "maximum": 2**53},
        "description": "size of the newest hub checkpoint the node verified (0: none); a "
        "claim: only with that checkpoint as evidence (header X-Known-Checkpoint) does a size "
        "larger than the hub's log raise a log_behind_witness alert and open a log recovery",
    },
    {
        "name": "sealing",
        "in": "query",
        "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "description": "id of the hub encryption key the node seals personal data to (the "
        "hub counts, per key, the nodes that may still seal to it)",
    },
    {
        "name": "X-Known-Checkpoint",
        "in": "header",
        "schema": {"type": "string", "format": "byte"},
        "description": "version 2 of the report: the hub-signed checkpoint of size known",
    },
]


_NOTIFY_REQUEST = {
    "type": "object",
    "required": ["messages"],
    "properties": {
        "version": {
            "enum": [1, 2],
            "description": "2: a message is only id, dossier, kind and record; the hub builds "
            "recipient and text from its own records. Absent (1): the other fields an older "
            "node sends are ignored.",
        },
        "messages": {
            "type": "array",
            "maxItems": 100,
            "items": {
                "type": "object",
                "required": ["id", "dossier", "kind"],
                "properties": {
                    "id": {"type": "string", "pattern": "^[0-9A-Za-z]{1,32}$"},
                    "dossier": {"type": "string", "maxLength": 64},
                    "kind": {"enum": ["received", "supplement", "apology", "result"]},
                    "record": {
                        "type": "string",
                        "pattern": "^[0-9a-f]{1,64}$",
                        "description": "id of the dossier record whose event the notice "
                        "tells about",
                    },
                },
            },
        },
        "ids": {
            "type": "array",
            "maxItems": 100,
            "description": "ids of messages handed over before: only their status is wanted",
            "items": {"type": "string", "pattern": "^[0-9A-Za-z]{1,32}$"},
        },
    },
}


_B64 = {"type": "string", "format": "byte"}
_REFILL_REQUEST = {
    "type": "object",
    "properties": {
        "anchor": {**_B64, "description": "the newest hub checkpoint the node verified"},
        "ranges": {
            "type": "array",
            "maxItems": 200,
            "items": {
                "type": "object",
                "required": ["checkpoint", "first_leaf", "frontier", "records"],
                "properties": {
                    "checkpoint": _B64,
                    "first_leaf": {"type": "integer", "minimum": 0},
                    "frontier": {
                        "type": "array",
                        "maxItems": 64,
                        "items": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    },
                    "records": {"type": "array", "minItems": 1, "items": _B64},
                },
            },
        },
        "records": {"type": "array", "items": _B64},
    },
}


def _json_ok(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }


@cache
def openapi_document() -> dict[str, Any]:
    errors = {code: _ERROR for code in ("400", "401", "403", "409", "413", "415")}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Hub sync API",
            "version": "1",
            "description": "Signed sync between commune nodes and the hub. "
            "Request signing, batches and error codes: docs/sync-protocol.md.",
        },
        "components": {
            "securitySchemes": {
                "nodeSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Signature",
                    "description": "Ed25519 over method, path, body hash, X-Timestamp, X-Nonce, "
                    "X-Node, X-Key (all five headers required)",
                }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string", "enum": ERROR_CODES},
                                "message": {"type": "string"},
                                "message_vi": {"type": "string"},
                                "retryable": {"type": "boolean"},
                                "detail": {"type": "object"},
                            },
                        }
                    },
                }
            },
        },
        "paths": {
            "/sync/v1/openapi.json": {
                "get": {"summary": "This document", "responses": {"200": _json_ok("OpenAPI")}}
            },
            "/sync/v1/hello": {
                "get": {
                    "summary": "Hub identity, time and latest checkpoint",
                    "responses": {"200": _json_ok("hub identity")},
                }
            },
            "/sync/v1/enrol": {
                "post": {
                    "summary": "Enrol a node with a one-time code",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["code", "node_id", "public_key", "proof"],
                                    "properties": {
                                        "code": {"type": "string", "maxLength": 40},
                                        "node_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                                        "public_key": {
                                            "type": "string",
                                            "pattern": "^[0-9a-f]{64}$",
                                        },
                                        "agency_code": {"type": "string"},
                                        "proof": {"type": "string", "format": "byte"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {"201": _json_ok("enrolled"), "400": _ERROR, "403": _ERROR},
                }
            },
            "/sync/v1/enrolment": {
                "get": {
                    "summary": "The hub's signed enrolment of this node (kept by the node)",
                    "security": _SIGNED,
                    "responses": {"200": _json_ok("{enrolment}"), **errors},
                }
            },
            "/sync/v1/reintroduce": {
                "post": {
                    "summary": "A node the hub no longer knows presents the enrolment the hub "
                    "signed, with its key's proof (not a signed request)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["enrolment", "proof"],
                                    "properties": {
                                        "enrolment": {"type": "string", "format": "byte"},
                                        "proof": {"type": "string", "format": "byte"},
                                        "evidence": {
                                            "type": "array",
                                            "maxItems": 20,
                                            "items": {"type": "string", "format": "byte"},
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": {"200": _json_ok("node re-created"), "400": _ERROR, "403": _ERROR},
                }
            },
            "/sync/v1/status": {
                "get": {
                    "summary": "How far the hub stored this node's chain",
                    "security": _SIGNED,
                    "parameters": _REPORT,
                    "responses": {"200": _json_ok("status"), **errors},
                }
            },
            "/sync/v1/push": {
                "post": {
                    "summary": "Push a batch of records; answers with a signed receipt",
                    "security": _SIGNED,
                    "parameters": _REPORT,
                    "requestBody": {"required": True, "content": _BATCH},
                    "responses": {"200": _json_ok("receipt, dead letters"), **errors},
                }
            },
            "/sync/v1/refill": {
                "post": {
                    "summary": "Give back records a hub restored from a backup lost: "
                    "pinned ranges with their receipt proofs, and unpinned records",
                    "security": _SIGNED,
                    "parameters": _REPORT,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _REFILL_REQUEST}},
                    },
                    "responses": {"200": _json_ok("recovering, size, target, head"), **errors},
                }
            },
            "/sync/v1/notify": {
                "post": {
                    "summary": "Hand over citizen notifications (idempotent by message id); "
                    "answers each message's delivery status (docs/notifications.md)",
                    "security": _SIGNED,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _NOTIFY_REQUEST}},
                    },
                    "responses": {
                        "200": _json_ok(
                            "{results: [{id, status, ...}]}; status refused or deferred "
                            "for a message the hub did not take, with error"
                        ),
                        **errors,
                    },
                }
            },
            "/sync/v1/proof/inclusion": {
                "get": {
                    "summary": "RFC 9162 inclusion proof of one of the node's records",
                    "security": _SIGNED,
                    "parameters": [
                        {
                            "name": "seq",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1},
                        },
                        {
                            "name": "size",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1},
                        },
                    ],
                    "responses": {"200": _json_ok("leaf, hashes, checkpoint"), **errors},
                }
            },
            "/sync/v1/proof/consistency": {
                "get": {
                    "summary": "RFC 9162 consistency proof between two checkpoint sizes",
                    "security": _SIGNED,
                    "parameters": [
                        {
                            "name": "old",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1},
                        },
                        {
                            "name": "new",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1},
                        },
                    ],
                    "responses": {"200": _json_ok("hashes, checkpoint"), **errors},
                }
            },
            "/sync/v1/records": {
                "get": {
                    "summary": "The node's own stored records first..last (at most 500), "
                    "for a node repairing a record damaged on its disk",
                    "security": _SIGNED,
                    "parameters": [
                        {
                            "name": "first",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1},
                        },
                        {
                            "name": "last",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "batch of the node's records in seq order",
                            "content": {"application/vnd.vn-dossier.batch": {}},
                        },
                        **errors,
                    },
                }
            },
            "/sync/v1/pull": {
                "get": {
                    "summary": "Hub records addressed to this node after a cursor",
                    "security": _SIGNED,
                    "parameters": [
                        {
                            "name": "after",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 0},
                        },
                        {
                            "name": "max_bytes",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1024, "maximum": 4194304},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "batch; X-Feed-Ids lists feed ids",
                            "content": _BATCH,
                        },
                        **errors,
                    },
                }
            },
            "/sync/v1/history": {
                "get": {
                    "summary": "This node's own stored records after a seq",
                    "security": _SIGNED,
                    "parameters": [
                        {
                            "name": "after",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 0},
                        },
                        {
                            "name": "max_bytes",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1024, "maximum": 4194304},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "batch; X-History-Head gives the writer's head seq",
                            "content": _BATCH,
                        },
                        **errors,
                    },
                }
            },
        },
    }
