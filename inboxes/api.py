"""The channels' API (shared/API.md "Attachments and channels"): admins create inboxes;
platforms post webhooks; systems post to the api channel; agents retry a failed reply."""

import json
import uuid
from typing import Any

from django.conf import settings
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations.api.base import (
    AgentView,
    created_status,
    error_responses,
    get_or_404,
    team_by_ref,
    validated,
)
from conversations.errors import InvalidInput
from conversations.models import Channel, Inbox
from conversations.serializers import (
    IdOrNameField,
    MessageOutput,
    StrictCharField,
    TeamRefOutput,
    body_field,
)
from conversations.services import customer_update_profile
from conversations.throttling import PerIPThrottle, RateLimitedMixin

from . import services
from .platforms.api import ApiChannel
from .registry import Inbound, plugin_for, webhook_channels

# Every channel setting an inbox may take (which ones a channel needs: registry, per plug-in).
SETTING_NAMES = (
    "phone_number_id", "page_id", "access_token", "app_secret", "verify_token",
    "bot_token", "secret_token", "api_base_url",
)  # fmt: skip


# --- Throttles: per inbox, counted before any signature is checked ---------------------------


class PerInboxThrottle(PerIPThrottle):
    """Per inbox, not per address: a platform posts from many addresses."""

    def ident(self, request: Request) -> str:
        view_kwargs = request.parser_context.get("kwargs", {}) if request.parser_context else {}
        return f"inbox-{view_kwargs.get('pk', 0)}"


class ChannelWebhookThrottle(PerInboxThrottle):
    scope = "channel_webhook"


class ChannelMessagesThrottle(PerInboxThrottle):
    scope = "channel_messages"


# --- Inboxes (admins) ------------------------------------------------------------------------


class AdminsOnly(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_superuser)


class InboxInput(serializers.Serializer):
    channel = serializers.ChoiceField(choices=[])  # the registered channels (see __init__)
    name = StrictCharField(max_length=100, needs_text=True)
    team = IdOrNameField(
        required=False, allow_null=True, help_text=gettext_lazy("A team id or name.")
    )
    webhook_url = serializers.URLField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text=gettext_lazy("api channel: where agents' replies are posted, signed."),
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["channel"] = serializers.ChoiceField(choices=webhook_channels())
        for name in SETTING_NAMES:
            fields[name] = StrictCharField(
                required=False,
                allow_blank=True,
                max_length=services.SETTING_MAX_LENGTH,
                help_text=gettext_lazy(
                    "A channel setting (docs/channels.md lists each channel's)."
                ),
            )
        fields["api_base_url"] = serializers.URLField(
            required=False,
            allow_blank=True,
            max_length=services.SETTING_MAX_LENGTH,
            help_text=gettext_lazy(
                "The platform's API base, version included (default: the operator's)."
            ),
        )
        return fields


class InboxOutput(serializers.Serializer):
    id = serializers.IntegerField()
    channel = serializers.CharField()
    name = serializers.CharField()
    team = TeamRefOutput(allow_null=True)
    webhook_url = serializers.CharField(
        required=False, help_text=gettext_lazy("api channel: where replies are posted.")
    )
    inbound_url = serializers.CharField(
        help_text=gettext_lazy("The URL to give the platform (its webhook callback URL).")
    )
    settings = serializers.DictField(
        child=serializers.CharField(), help_text=gettext_lazy("Without the secrets.")
    )
    created_at = serializers.DateTimeField()
    secret = serializers.CharField(
        required=False,
        help_text=gettext_lazy("api channel, in the creation's answer only: keep it now."),
    )


def inbound_url(inbox: Inbox) -> str:
    name = (
        "inboxes_api:channel-messages"
        if inbox.channel == Channel.API
        else "inboxes_api:channel-webhook"
    )
    return settings.HELPDESK_PUBLIC_URL.rstrip("/") + reverse(name, args=[inbox.pk])


def inbox_payload(inbox: Inbox, secret: str = "") -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": inbox.pk,
        "channel": inbox.channel,
        "name": inbox.name,
        "team": {"id": inbox.team.pk, "name": inbox.team.name} if inbox.team else None,
        "inbound_url": inbound_url(inbox),
        "settings": services.public_settings(inbox),
        "created_at": inbox.created_at.isoformat(),
    }
    if inbox.channel == Channel.API:
        payload["webhook_url"] = inbox.webhook_url
    if secret:
        payload["secret"] = secret
    return payload


class InboxesView(AgentView):
    permission_classes = [*AgentView.permission_classes, AdminsOnly]

    @extend_schema(
        responses={
            200: inline_serializer("InboxList", {"results": InboxOutput(many=True)}),
            **error_responses(401, 403),
        },
        tags=["channels"],
    )
    def get(self, request: Request) -> Response:
        inboxes = Inbox.objects.select_related("team").filter(channel__in=webhook_channels())
        return Response({"results": [inbox_payload(inbox) for inbox in inboxes]})

    @extend_schema(
        request=InboxInput,
        responses={201: InboxOutput, **error_responses(400, 401, 403)},
        tags=["channels"],
    )
    def post(self, request: Request) -> Response:
        data = validated(InboxInput, request.data)
        inbox, secret = services.inbox_create(
            channel=data["channel"],
            name=data["name"],
            team=team_by_ref(data.get("team")),
            webhook_url=data.get("webhook_url", ""),
            channel_settings={name: data[name] for name in SETTING_NAMES if name in data},
        )
        return Response(inbox_payload(inbox, secret), status=status.HTTP_201_CREATED)


# --- Platforms' webhooks ----------------------------------------------------------------------


class RawBodyParser(BaseParser):
    """The webhook's bytes as they came: the signature is over the raw body."""

    media_type = "*/*"

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> bytes:
        return stream.read() if stream is not None else b""


class BadSignature(exceptions.AuthenticationFailed):
    default_code = "bad_signature"

    def __init__(self) -> None:
        super().__init__(_("The request's signature does not check out."))


class WebhookOutput(serializers.Serializer):
    created = serializers.IntegerField(help_text=gettext_lazy("New customer messages."))
    duplicate = serializers.IntegerField(help_text=gettext_lazy("Messages already received."))
    statuses = serializers.IntegerField(help_text=gettext_lazy("Replies whose delivery moved."))
    ignored = serializers.IntegerField(
        help_text=gettext_lazy("Messages with nothing to store (white space alone).")
    )


def channel_inbox(pk: int, *, channel: str | None = None) -> Inbox:
    inboxes = Inbox.objects.select_related("team").filter(channel__in=webhook_channels())
    inbox = get_or_404(inboxes.filter(channel=channel) if channel else inboxes, pk)
    if plugin_for(inbox.channel) is None:
        raise Http404
    return inbox


class ChannelWebhookView(RateLimitedMixin, APIView):
    """Where a platform posts (WhatsApp, Messenger, Instagram: X-Hub-Signature-256;
    Telegram: X-Telegram-Bot-Api-Secret-Token). See docs/channels.md."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [ChannelWebhookThrottle]
    parser_classes = [RawBodyParser]

    @extend_schema(
        parameters=[
            OpenApiParameter("hub.mode", str, required=False),
            OpenApiParameter("hub.verify_token", str, required=False),
            OpenApiParameter("hub.challenge", str, required=False),
        ],
        responses={
            (200, "text/plain"): OpenApiResponse(
                OpenApiTypes.STR, gettext_lazy("hub.challenge, as sent")
            ),
            **error_responses(403, 404, 429),
        },
        auth=[],
        tags=["channels"],
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        inbox = channel_inbox(pk)
        challenge = plugin_for(inbox.channel).handshake(inbox, request.query_params)
        if challenge is None:
            raise exceptions.PermissionDenied(_("The verify token does not match."))
        return HttpResponse(challenge, content_type="text/plain; charset=utf-8")

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        responses={200: WebhookOutput, **error_responses(400, 401, 404, 429)},
        auth=[],
        tags=["channels"],
    )
    def post(self, request: Request, pk: int) -> Response:
        inbox = channel_inbox(pk)
        plugin = plugin_for(inbox.channel)
        body = request.data if isinstance(request.data, bytes) else b""
        if isinstance(plugin, ApiChannel) or not plugin.signature_ok(inbox, request.headers, body):
            raise BadSignature
        try:
            payload = json.loads(body)
            items = plugin.parse(inbox, payload)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise InvalidInput(_("The body is not a webhook this channel sends.")) from error
        return Response(services.receive(inbox, items))

    def get_authenticate_header(self, request: Request) -> str:
        return 'Signature realm="channel"'  # a bad signature is a 401, not a 403


# --- The api channel --------------------------------------------------------------------------


class ApiCustomerInput(serializers.Serializer):
    external_id = StrictCharField(
        max_length=200, help_text=gettext_lazy("Your id of the customer.")
    )
    name = StrictCharField(required=False, allow_blank=True, max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True)


class ApiMessageInput(serializers.Serializer):
    customer = ApiCustomerInput()
    body = body_field()
    external_id = StrictCharField(
        required=False,
        max_length=200,
        help_text=gettext_lazy("Your id of the message: the same one again creates nothing."),
    )


class ApiChannelMessagesView(RateLimitedMixin, APIView):
    """A system posts a customer's message to its api inbox (Bearer: the inbox's secret)."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [ChannelMessagesThrottle]

    @extend_schema(
        request=ApiMessageInput,
        responses={
            201: MessageOutput,
            200: OpenApiResponse(MessageOutput, gettext_lazy("The same external_id again.")),
            **error_responses(400, 401, 404, 429),
        },
        auth=[{"inboxSecret": []}],
        tags=["channels"],
    )
    def post(self, request: Request, pk: int) -> Response:
        inbox = channel_inbox(pk, channel=Channel.API)
        if not plugin_for(Channel.API).bearer_ok(inbox, request.headers):
            raise exceptions.NotAuthenticated(_("Give the inbox's secret as a Bearer token."))
        data = validated(ApiMessageInput, request.data)
        customer = data["customer"]
        inbound = Inbound(
            sender=customer["external_id"],
            name=customer.get("name", ""),
            body=data["body"],
            external_id=data.get("external_id") or f"helpdesk-{uuid.uuid4().hex}",
        )
        message, created = services.receive_message(inbox=inbox, inbound=inbound)
        if customer.get("email"):
            customer_update_profile(customer=message.conversation.customer, email=customer["email"])
        return Response(MessageOutput(message).data, status=created_status(created))

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="inbox"'


# --- Agents: send a failed reply again --------------------------------------------------------


class MessageRetryView(AgentView):
    @extend_schema(
        request=None,
        responses={200: MessageOutput, **error_responses(401, 403, 404, 409)},
        tags=["channels"],
    )
    def post(self, request: Request, pk: int, message_pk: int) -> Response:
        conversation = self.get_conversation(pk)
        message = get_or_404(
            conversation.messages.select_related("conversation__customer"), message_pk
        )
        message = services.message_retry(message=message)
        return Response(MessageOutput(message).data)
