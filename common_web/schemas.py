"""Input schemas (marshmallow) for every form and API call, and the one function that turns
marshmallow's complaints into :class:`common.errors.ValidationError` in both languages."""

from __future__ import annotations

import unicodedata
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate
from marshmallow import ValidationError as MarshmallowError

from common.errors import FieldProblem, ValidationError

# marshmallow's English messages, and what a Vietnamese officer reads instead.
_VI = {
    "Missing data for required field.": "Thiếu thông tin bắt buộc.",
    "Not a valid integer.": "Không phải số nguyên hợp lệ.",
    "Not a valid string.": "Không phải chuỗi ký tự hợp lệ.",
    "Not a valid boolean.": "Không phải giá trị đúng/sai hợp lệ.",
    "Not a valid datetime.": "Không phải ngày giờ hợp lệ.",
    "Not a valid date.": "Không phải ngày hợp lệ.",
    "Not a valid mapping type.": "Không phải đối tượng hợp lệ.",
    "Not a valid list.": "Không phải danh sách hợp lệ.",
    "Unknown field.": "Trường không được phép.",
    "Field may not be null.": "Không được để trống.",
    "Invalid input type.": "Kiểu dữ liệu không hợp lệ.",
    "Invalid input.": "Dữ liệu không hợp lệ.",
}


def _vi(message: str) -> str:
    if message in _VI:
        return _VI[message]
    if message.startswith("Must be one of"):
        return "Giá trị không thuộc danh sách cho phép" + message[len("Must be one of") :]
    if message.startswith("Length must be"):
        return "Độ dài không hợp lệ (" + message + ")"
    if message.startswith("Must be greater than or equal to") or message.startswith("Must be "):
        return "Giá trị ngoài khoảng cho phép (" + message + ")"
    return message


def _flatten(messages: Any, prefix: str = "") -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix or "_schema"
            problems.extend(_flatten(value, name))
    elif isinstance(messages, list):
        for item in messages:
            if isinstance(item, dict | list):
                problems.extend(_flatten(item, prefix))
            else:
                problems.append(FieldProblem(prefix, "invalid", _vi(str(item)), str(item)))
    else:
        problems.append(FieldProblem(prefix, "invalid", _vi(str(messages)), str(messages)))
    return problems


def load(schema: Schema, data: Any) -> dict[str, Any]:
    """Validate ``data``; raise ValidationError naming each bad field in vi and en."""
    if not isinstance(data, dict):
        raise ValidationError(
            [
                FieldProblem(
                    "_body",
                    "not_object",
                    "Dữ liệu phải là một đối tượng JSON.",
                    "The body must be a JSON object.",
                )
            ]
        )
    try:
        result: dict[str, Any] = schema.load(data)
    except MarshmallowError as exc:
        problems = _flatten(exc.messages)
        # Say everything at once: add the domain checks of the fields marshmallow accepted.
        checker = getattr(schema, "domain_problems", None)
        if checker is not None:
            named = {p.field for p in problems}
            problems += [p for p in checker(data) if p.field not in named]
        raise ValidationError(problems) from exc
    return result


class Text(fields.String):
    """A string field, trimmed and in Unicode NFC whatever the sender typed: text decomposed
    by an input method (Unikey's "Unicode tổ hợp") or pasted from a PDF is the same text, and a
    record may only hold NFC (docs/records.md)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        return unicodedata.normalize("NFC", text).strip()


class DocumentCount(Schema):
    class Meta:
        unknown = RAISE

    original = fields.Integer(load_default=0, strict=True, validate=validate.Range(0, 20))
    certified_copy = fields.Integer(load_default=0, strict=True, validate=validate.Range(0, 20))
    photocopy = fields.Integer(load_default=0, strict=True, validate=validate.Range(0, 20))


class IntakeSchema(Schema):
    """A dossier taken in at the desk (or registered from an online submission)."""

    class Meta:
        unknown = RAISE

    procedure = fields.String(required=True, validate=validate.Length(1, 64))
    channel = fields.Integer(load_default=1, strict=True, validate=validate.OneOf([1, 2, 3]))
    outcome = fields.String(
        load_default="receive",
        validate=validate.OneOf(["receive", "register", "supplement", "refuse"]),
    )
    applicant_name = Text(required=True, validate=validate.Length(1, 100))
    id_type = fields.String(
        load_default="cccd", validate=validate.OneOf(["cccd", "passport", "other"])
    )
    id_number = Text(required=True, validate=validate.Length(1, 30))
    phone = Text(load_default="", validate=validate.Length(0, 20))
    email = Text(load_default="", validate=validate.Length(0, 254))
    address = Text(required=True, validate=validate.Length(1, 300))
    request = Text(load_default="", validate=validate.Length(0, 1000))
    sets = fields.Integer(load_default=1, strict=True, validate=validate.Range(1, 20))
    notify = fields.String(
        load_default="sms", validate=validate.OneOf(["sms", "zalo", "email", "none"])
    )
    documents = fields.Dict(
        keys=fields.String(validate=validate.Length(1, 64)),
        values=fields.Nested(DocumentCount),
        load_default=dict,
    )
    # outcome=supplement: what is missing and why (form 02); outcome=refuse: why (form 03)
    missing = fields.List(fields.String(validate=validate.Length(1, 64)), load_default=list)
    reason = Text(load_default="", validate=validate.Length(0, 1000))

    def domain_problems(self, raw: dict[str, Any]) -> list[FieldProblem]:
        """The person checks on the raw values, so one answer lists every problem. (The
        intake service repeats them with today's date, which also refuses future births.)"""
        from datetime import date

        from common import validators

        id_type = raw.get("id_type", "cccd")
        checks = {
            "applicant_name": lambda v: validators.validate_name(v, field="applicant_name"),
            "id_number": lambda v: validators.validate_id_document(
                id_type if id_type in validators.ID_TYPES else "cccd", v, today=date.max
            ),
            "phone": lambda v: validators.validate_phone(v, field="phone"),
            "email": lambda v: validators.validate_email(v, field="email"),
        }
        out: list[FieldProblem] = []
        for name, check in checks.items():
            value = raw.get(name)
            if isinstance(value, str) and value.strip():
                out += check(unicodedata.normalize("NFC", value).strip())
        return out


class FormIntakeSchema(IntakeSchema):
    """The same, from an HTML form: unknown keys ignored."""

    class Meta:
        unknown = EXCLUDE


def action_schema(action: str) -> Schema:
    """The payload schema of one lifecycle action."""
    return _ACTION_SCHEMAS[action]()


class _Action(Schema):
    class Meta:
        unknown = RAISE

    note = Text(load_default="", validate=validate.Length(0, 1000))


class _Reason(_Action):
    reason = Text(required=True, validate=validate.Length(1, 1000))


class _Supplement(_Action):
    missing = fields.List(
        fields.String(validate=validate.Length(1, 64)), required=True, validate=validate.Length(1)
    )
    reason = Text(required=True, validate=validate.Length(1, 1000))


class _SupplementReceived(_Action):
    documents = fields.Dict(
        keys=fields.String(validate=validate.Length(1, 64)),
        values=fields.Nested(DocumentCount),
        load_default=dict,
    )


class _Processing(_Action):
    # The officer "Chuyển xử lý" hands the dossier to (form 06's receiver); their user name.
    recipient = Text(load_default="", validate=validate.Length(0, 64))


class _Payment(_Action):
    amount = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10**12))


class _FeePaid(_Action):
    amount = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10**12))
    receipt_no = Text(load_default="", validate=validate.Length(0, 50))


class _Resolved(_Action):
    result = Text(required=True, validate=validate.Length(1, 1000))
    electronic_result = fields.Boolean(load_default=False)
    result_no = Text(load_default="", validate=validate.Length(0, 50))


class _Returned(_Action):
    collected_by = Text(load_default="", validate=validate.Length(0, 100))


class _Apology(_Action):
    reason = Text(required=True, validate=validate.Length(1, 1000))
    new_due = fields.Date(required=True)


class _Rated(_Action):
    rating = fields.Integer(required=True, strict=True, validate=validate.OneOf([1, 2, 3]))


_ACTION_SCHEMAS: dict[str, type[Schema]] = {
    "accepted": _Action,
    "refused": _Reason,
    "supplement_requested": _Supplement,
    "supplement_received": _SupplementReceived,
    "forwarded": _Action,
    "processing": _Processing,
    "payment_requested": _Payment,
    "fee_paid": _FeePaid,
    "resolved": _Resolved,
    "result_returned": _Returned,
    "withdrawn": _Reason,
    "stopped": _Reason,
    "apologised": _Apology,
    "rated": _Rated,
}

ACTION_NAMES = frozenset(_ACTION_SCHEMAS)

RATINGS = {3: ("Rất hài lòng", "Very satisfied"), 2: ("Hài lòng", "Satisfied"),
           1: ("Không hài lòng", "Not satisfied")}  # fmt: skip
