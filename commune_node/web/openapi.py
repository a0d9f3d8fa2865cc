"""The OpenAPI 3.1 document of the node's API, built from the same marshmallow schemas that
validate requests, so the document cannot drift from what the server accepts."""

from __future__ import annotations

from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from common_web import schemas

_ERROR = {"$ref": "#/components/responses/Error"}


def _op(summary: str, *, ok: str = "200", body: str | None = None, params: list[Any] | None = None,
        errors: tuple[str, ...] = ("401",)) -> dict[str, Any]:  # fmt: skip
    op: dict[str, Any] = {
        "summary": summary,
        "security": [{"bearer": []}],
        "responses": {
            ok: {
                "description": "OK",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    }
    for status in errors:
        op["responses"][status] = _ERROR
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    if params:
        op["parameters"] = params
    return op


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_CODE = {
    "name": "code",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "maxLength": 64},
}


@cache
def openapi_document() -> dict[str, Any]:
    spec = APISpec(
        title="Commune node API",
        version="1",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "JSON API of one commune desk. "
            "Errors: {error: {code, message, message_vi}}."
        },
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.response(
        "Error",
        {
            "description": "A refusal with a machine code and words in English and Vietnamese",
            "content": {"application/json": {"schema": {"type": "object", "required": ["error"]}}},
        },
    )
    spec.components.schema("Intake", schema=schemas.IntakeSchema)
    component: dict[type, str] = {}  # one component per payload schema class
    for name in sorted(schemas.ACTION_NAMES):
        cls = type(schemas.action_schema(name))
        if cls not in component:
            component[cls] = f"Action_{name}"
            spec.components.schema(component[cls], schema=cls)

    spec.path("/api/v1/node", operations={"get": _op("This node's identity and chain head")})
    spec.path(
        "/api/v1/procedures",
        operations={
            "get": _op(
                "List or search the procedure catalogue",
                params=[
                    _query(
                        "q",
                        {"type": "string", "maxLength": 100},
                        "search text, diacritics optional",
                    )
                ],
            )
        },
    )
    spec.path(
        "/api/v1/dossiers",
        operations={
            "get": _op("List dossiers with filters", errors=("400", "401"), params=[
                _query("status", {"type": "integer", "minimum": 1, "maximum": 10}, "portal status code"),  # noqa: E501
                _query("procedure", {"type": "string"}, "procedure code"),
                _query("q", {"type": "string", "maxLength": 100}, "dossier code (with or without the agency part), ID number, phone, or words of the applicant's name"),  # noqa: E501
                _query("due", {"type": "string", "enum": ["today", "overdue", "soon"]}, "due filter"),  # noqa: E501
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "page size"),
                _query("offset", {"type": "integer", "minimum": 0}, "rows to skip"),
            ]),
            "post": _op("Take in a dossier", ok="201", body="Intake",
                        errors=("400", "401", "403", "409", "413", "415", "422"), params=[{
                            "name": "Idempotency-Key", "in": "header", "required": False,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                            "description": "the same key sent again with the same body gives "
                                           "the dossier the first request made (201, same "
                                           "body); with another body: 422",
                        }]),
        },
    )  # fmt: skip
    spec.path(
        "/api/v1/dossiers/{code}",
        operations={"get": _op("One dossier with its signed events", params=[_CODE],
                               errors=("401", "404"))},
    )  # fmt: skip
    for name in sorted(schemas.ACTION_NAMES):
        spec.path(
            f"/api/v1/dossiers/{{code}}/actions/{name}",
            operations={
                "post": _op(
                    f"Lifecycle action: {name}",
                    body=component[type(schemas.action_schema(name))],
                    params=[_CODE],
                    errors=("400", "401", "403", "404", "409", "413", "415", "422"),
                )
            },
        )
    spec.path(
        "/api/v1/events",
        operations={"get": _op("The node's signed event log after a sequence number",
                               errors=("400", "401"), params=[
            _query("after", {"type": "integer", "minimum": 0}, "last seq already read"),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 5000}, "page size"),
        ])},
    )  # fmt: skip
    doc: dict[str, Any] = spec.to_dict()
    doc["paths"]["/api/v1/openapi.json"] = {
        "get": {"summary": "This document", "responses": {"200": {"description": "OK"}}}
    }
    return doc
