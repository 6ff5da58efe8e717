"""What the OpenAPI schema (/api/schema/) says beyond what drf-spectacular reads from the views:
the error shape, documented once and attached to every operation for the answers every
operation can give, and the text rules of the API's string fields. Schemathesis holds the
schema to it (tests/test_api_schema_fuzz.py).
"""

import re
from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import PolymorphicProxySerializer

from ..ids import MAX_ID

ERROR_REF = {"$ref": "#/components/schemas/ErrorOutput"}

# PostgreSQL text holds no NUL, and DRF's CharField refuses it.
NO_NUL = "^[^\\u0000]*$"
# ... and at least one character that is not white space (blank after trimming is refused).
SOME_TEXT = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"

PATH_PARAMETER = re.compile(r"{[^}]+}")

# An id as parse_id reads it: ASCII digits within bigint.
ID = {"type": "integer", "minimum": 0, "maximum": MAX_ID}


def text_pattern(*, needs_text: bool) -> str:
    return SOME_TEXT if needs_text else NO_NUL


class StrictCharFieldExtension(OpenApiSerializerFieldExtension):
    """A StrictCharField as it is validated: no NUL, and text when it must have some."""

    target_class = "conversations.serializers.StrictCharField"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if direction != "request":
            return schema
        needs_text = (
            field.needs_text
            or field.checked_by_service
            or (not field.allow_blank and field.trim_whitespace)
        )
        schema["pattern"] = text_pattern(needs_text=needs_text)
        if not field.allow_blank:
            schema["minLength"] = max(schema.get("minLength", 0), 1)
        if field.max_length_hint is not None:
            schema["maxLength"] = field.max_length_hint()
        return schema


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


def _answers_every_operation_can_give(path: str, operation: dict[str, Any]) -> dict[str, str]:
    """Status → description of the errors that follow from the operation's own shape."""
    answers: dict[str, str] = {}
    has_input = "requestBody" in operation or any(
        parameter.get("in") == "query" for parameter in operation.get("parameters", [])
    )
    if has_input:
        answers["400"] = _("Invalid input: `fields` says which and why.")
    if operation.get("security") and {} not in operation["security"]:
        answers["401"] = _("No credentials, or credentials that are not valid.")
        answers["403"] = _("These credentials may not use this operation.")
    if PATH_PARAMETER.search(path):
        answers["404"] = _("Nothing with that id that you may see.")
    if "requestBody" in operation:
        answers["413"] = _("The request body is too large.")
        answers["415"] = _("A content type this operation does not read.")
    answers["503"] = _("The database is out of reach for now: try again after `Retry-After`.")
    return answers


class HelpdeskAutoSchema(AutoSchema):
    """drf-spectacular's, plus the answers that follow from the view itself: 429 when it is
    rate limited."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is not None and self.view.get_throttles():
            operation.setdefault("responses", {}).setdefault(
                "429", _error_response(_("Too many requests: try again after `Retry-After`."))
            )
        return operation

    def _get_request_for_media_type(self, serializer: Any, direction: str = "request") -> Any:
        schema, required = super()._get_request_for_media_type(serializer, direction)
        # A choice of inputs (one per bulk action) needs one of them: a body is required.
        return schema, required or isinstance(serializer, PolymorphicProxySerializer)


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: every operation documents the errors it can answer, in the one
    error shape; what a view declares itself (409 at_capacity, 429…) is kept."""
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in _answers_every_operation_can_give(path, operation).items():
                responses.setdefault(status, _error_response(description))
    return result
