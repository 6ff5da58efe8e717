"""Inbound email: replies to our emails land in their conversation (email continuity;
the parsing and matching are in conversations/mail/inbound.py)."""

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..mail import inbound
from ..serializers import (
    MessageOutput,
    StrictCharField,
)
from ..throttling import (
    InboundEmailThrottle,
    RateLimitedMixin,
)
from .base import error_responses, validated


class RawEmailParser(BaseParser):
    """The raw RFC 822 message, as bytes (within inbound.MAX_EMAIL_BYTES)."""

    media_type = "message/rfc822"

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> bytes:
        raw = stream.read(inbound.MAX_EMAIL_BYTES + 1) if stream is not None else b""
        if len(raw) > inbound.MAX_EMAIL_BYTES:
            raise inbound.EmailTooLarge(_("The email is too large."))
        return raw


class PlainTextEmailParser(RawEmailParser):
    media_type = "text/plain"


@extend_schema_field(
    {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
)
class StringOrStringsField(serializers.JSONField):
    """A string or a list of strings (validated by InboundEmailInput._strings)."""


def inbound_string(max_length: int | None = None, **kwargs: Any) -> StrictCharField:
    return StrictCharField(max_length=max_length, allow_blank=True, trim_whitespace=False, **kwargs)


class InboundAttachmentInput(serializers.Serializer):
    """One attachment of the parsed form; its type is told from its bytes, as for a raw email
    (conversations/files/checks.py), so `content_type` is only what the provider says."""

    filename = inbound_string(max_length=1000, required=False)
    content_type = inbound_string(max_length=255, required=False)
    content = inbound_string(help_text=gettext_lazy("The file's bytes, base64-encoded."))


class InboundEmailInput(serializers.Serializer):
    """The parsed form of an email, for providers that post JSON."""

    _from = inbound_string(
        max_length=1000, help_text=gettext_lazy("'Name <address>' or an address.")
    )
    to = StringOrStringsField(
        required=False,
        help_text=gettext_lazy("The recipient address(es): a string or a list of strings."),
    )
    subject = inbound_string(max_length=1000, required=False)
    text = inbound_string(required=False)
    html = inbound_string(required=False)
    message_id = inbound_string(max_length=998, required=False)
    in_reply_to = inbound_string(max_length=10000, required=False)
    references = StringOrStringsField(
        required=False, help_text=gettext_lazy("Message-IDs: one header value or a list.")
    )
    attachments = InboundAttachmentInput(
        many=True,
        required=False,
        help_text=gettext_lazy(
            "The email's files; one that breaks the attachment limits is left out, not the text."
        ),
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = fields.pop("_from")  # "from" is a Python keyword
        return fields

    def validate_to(self, value: Any) -> list[str]:
        return self._strings(value)

    def validate_references(self, value: Any) -> list[str]:
        return self._strings(value)

    @staticmethod
    def _strings(value: Any) -> list[str]:
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(item, str) for item in values):
            raise ValidationError(_("A string or a list of strings."))
        return values[:100]

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        has_text = (data.get("text") or "").strip() or (data.get("html") or "").strip()
        if not has_text and not data.get("attachments"):
            raise ValidationError(
                {"text": [_("Give the text (or the html, or attachments) of the email.")]}
            )
        return data


class InboundEmailOutput(serializers.Serializer):
    status = serializers.CharField(help_text=gettext_lazy("created, duplicate or ignored"))
    conversation = serializers.IntegerField(allow_null=True)
    new_conversation = serializers.BooleanField()
    message = MessageOutput(allow_null=True)
    reason = serializers.CharField(required=False)


class InboundEmailView(RateLimitedMixin, APIView):
    """A mail provider (or an MTA pipe) delivers a customer's email; see docs/email.md."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [InboundEmailThrottle]
    parser_classes = [JSONParser, RawEmailParser, PlainTextEmailParser]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # throttles first: guesses are counted too
        inbound.check_inbound_secret(
            request.headers.get("Authorization", ""), request.headers.get("X-Helpdesk-Secret", "")
        )

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if isinstance(exc, inbound.InboundUnauthenticated):
            response["WWW-Authenticate"] = 'Bearer realm="inbound-email"'
        return response

    @extend_schema(
        request={
            "application/json": InboundEmailInput,
            "message/rfc822": OpenApiTypes.BINARY,
            "text/plain": OpenApiTypes.BINARY,
        },
        responses={
            201: InboundEmailOutput,
            200: OpenApiResponse(InboundEmailOutput, gettext_lazy("The same email again.")),
            202: OpenApiResponse(
                InboundEmailOutput, gettext_lazy("An automatic reply, not posted.")
            ),
            **error_responses(400, 401, 403, 413, 415, 429, 503),
        },
        auth=[{"inboundSecret": []}],
        tags=["inbound"],
    )
    def post(self, request: Request) -> Response:
        if isinstance(request.data, bytes):
            email = inbound.parse_raw(request.data)
        else:
            email = inbound.parse_fields(validated(InboundEmailInput, request.data))
        received = inbound.receive_email(email)
        answer = {
            "status": received.status,
            "conversation": received.conversation.pk if received.conversation else None,
            "new_conversation": received.new_conversation,
            "message": MessageOutput(received.message).data if received.message else None,
        }
        if received.reason:
            answer["reason"] = received.reason
        codes = {"created": status.HTTP_201_CREATED, "ignored": status.HTTP_202_ACCEPTED}
        return Response(answer, status=codes.get(received.status, status.HTTP_200_OK))
