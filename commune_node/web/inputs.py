"""From HTML form fields to the dicts the marshmallow schemas load, and back to widgets.

HTML forms send only strings and flat names; the schemas (``common_web.schemas``) expect
integers, booleans, lists and nested document counts. These functions only reshape: every
rule stays in the schemas and services, so a bad value still reaches them and is reported
against its field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields
from werkzeug.datastructures import MultiDict

from common_web import schemas

KINDS = ("original", "certified_copy", "photocopy")
FIELD_LABELS: dict[str, Any] = {
    "note": _l("Note"),
    "reason": _l("Reason"),
    "missing": _l("Missing documents"),
    "documents": _l("Documents received"),
    "amount": _l("Amount (VND)"),
    "receipt_no": _l("Receipt number"),
    "result": _l("Result"),
    "electronic_result": _l("Electronic result (digitally signed)"),
    "result_no": _l("Result document number"),
    "collected_by": _l("Collected by"),
    "new_due": _l("New appointment date"),
    "rating": _l("Satisfaction"),
    "recipient": _l("Hand to (officer)"),
}
_LONG_TEXT = frozenset({"note", "reason", "result"})


@dataclass(frozen=True)
class FieldSpec:
    """One input of an action's form: its name, widget kind, label and whether required."""

    name: str
    kind: str  # text, textarea, int, bool, date, missing, documents, rating
    required: bool

    @property
    def label(self) -> str:
        return str(FIELD_LABELS.get(self.name, self.name))


def _kind(name: str, field: fields.Field) -> str:
    if name == "rating":
        return "rating"
    if name == "recipient":
        return "officer"
    if isinstance(field, fields.List):
        return "missing"
    if isinstance(field, fields.Dict):
        return "documents"
    if isinstance(field, fields.Boolean):
        return "bool"
    if isinstance(field, fields.Date):
        return "date"
    if isinstance(field, fields.Integer):
        return "int"
    return "textarea" if name in _LONG_TEXT else "text"


def action_fields(action: str) -> list[FieldSpec]:
    """The inputs of one action's form, read from its schema (required ones first)."""
    schema: Schema = schemas.action_schema(action)
    specs = [FieldSpec(name, _kind(name, f), f.required) for name, f in schema.fields.items()]
    return sorted(specs, key=lambda s: (not s.required, s.name == "note"))


def number(value: str | None) -> Any:
    """A typed whole number as an int; anything else as typed, for the schema to refuse."""
    text = (value or "").strip()
    return int(text) if text.isdigit() and len(text) < 16 else text


def document_counts(form: MultiDict[str, str], doc_ids: list[str]) -> dict[str, Any]:
    """``{doc_id: {original, certified_copy, photocopy}}`` for each ticked document."""
    ticked = set(form.getlist("received"))
    out: dict[str, Any] = {}
    for doc_id in doc_ids:
        if doc_id in ticked:
            out[doc_id] = {k: number(form.get(f"doc-{doc_id}-{k}", "0")) for k in KINDS}
    return out


def action_payload(action: str, form: MultiDict[str, str], doc_ids: list[str]) -> dict[str, Any]:
    """The dict ``schemas.action_schema(action)`` loads, from the action's HTML form."""
    out: dict[str, Any] = {}
    for spec in action_fields(action):
        raw = form.get(spec.name)
        if spec.kind == "missing":
            out[spec.name] = form.getlist("missing")
        elif spec.kind == "documents":
            out[spec.name] = document_counts(form, doc_ids)
        elif spec.kind == "bool":
            out[spec.name] = raw is not None
        elif raw is None or (raw.strip() == "" and not spec.required):
            continue
        elif spec.kind in ("int", "rating"):
            out[spec.name] = number(raw)
        else:
            out[spec.name] = raw
    return out


INTAKE_TEXT = (
    "applicant_name", "id_type", "id_number", "phone", "email", "address", "request", "reason",
)  # fmt: skip


def intake_payload(
    form: MultiDict[str, str], doc_ids: list[str], required_ids: list[str]
) -> dict[str, Any]:
    """The dict ``schemas.FormIntakeSchema`` loads, from the intake page.

    When the officer asks for a supplement without ticking what is missing, the missing
    list is every required document not ticked as received: one request lists everything.
    """
    out: dict[str, Any] = {k: form[k] for k in INTAKE_TEXT if k in form}
    out["procedure"] = form.get("procedure", "")
    out["outcome"] = form.get("outcome", "receive")
    out["notify"] = form.get("notify", "sms")
    out["channel"] = number(form.get("channel", "1"))
    out["sets"] = number(form.get("sets", "1"))
    out["documents"] = document_counts(form, doc_ids)
    missing = [m for m in form.getlist("missing") if m]
    if out["outcome"] == "supplement" and not missing:
        missing = [d for d in required_ids if d not in out["documents"]]
    out["missing"] = missing
    return out
