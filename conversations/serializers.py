"""The public shapes of conversations and messages (shared/API.md "Objects").

Used by the REST API and by the event log, so a message looks the same whether it arrives
in a response, a replay or a live event.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from . import visitor_context
from .files.links import with_links
from .ids import MAX_ID, parse_id
from .models import (
    Attachment,
    AuthorKind,
    Conversation,
    Customer,
    Delivery,
    Message,
    Priority,
    Status,
)
from .people import avatar, public_name, user_name

User = get_user_model()


class CustomerOutput(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "name", "email"]


class AvatarOutput(serializers.Serializer):
    initials = serializers.CharField()
    color = serializers.CharField(help_text=_("A CSS colour (#rrggbb); white initials read on it."))


class PersonOutput(serializers.Serializer):
    """An agent as others see it: {"id", "name", "email", "avatar"}; `name` is what customers
    see (people.public_name), never the email."""

    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()
    email = serializers.EmailField()
    avatar = AvatarOutput()

    def get_name(self, user: Any) -> str:
        return public_name(user)


class TeamRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class PersonRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CallbackOutput(serializers.Serializer):
    phone = serializers.CharField()
    requested_at = serializers.DateTimeField()
    requested_by = PersonRefOutput(allow_null=True)


class SearchMatchOutput(serializers.Serializer):
    rank = serializers.FloatField(help_text=_("Higher is better (full-text rank)."))
    highlight = serializers.CharField(
        help_text=_(
            "HTML: the best matching message (or the customer's name and email), escaped, "
            "with <mark> around the matching words and no other tag: safe to insert as HTML."
        )
    )


class ConversationOutput(serializers.ModelSerializer):
    customer = CustomerOutput()
    team = TeamRefOutput(allow_null=True)
    assignee = PersonOutput(allow_null=True)
    labels = serializers.SerializerMethodField()
    callback = CallbackOutput(
        allow_null=True,
        read_only=True,
        help_text=_("Agents only: the customer asked to be called back on this number."),
    )
    # Output only; not read_only, which the schema would take for "always present".
    unread = serializers.IntegerField(
        required=False,
        help_text=_(
            "Agents only: customer messages since you last read the conversation (POST …/read)."
        ),
    )
    inbox = serializers.IntegerField(
        allow_null=True,
        source="inbox_id",
        help_text=_(
            "The inbox (channel account) it came through; null for history of other channels imported from another helpdesk."
        ),
    )
    search = SearchMatchOutput(
        required=False,
        help_text=_("Only in the list, when searching with q=: how and where it matched."),
    )

    class Meta:
        model = Conversation
        fields = [
            "id",
            "status",
            "channel",
            "customer",
            "team",
            "assignee",
            "priority",
            "labels",
            "snoozed_until",
            "cycle",
            "waiting_since",
            "last_message_preview",
            "created_at",
            "last_activity_at",
            "callback",
            "with_bot",
            "inbox",
            "unread",
            "search",
        ]

    def get_labels(self, conversation: Conversation) -> list[str]:
        return sorted(label.name for label in conversation.labels.all())

    def to_representation(self, conversation: Conversation) -> dict[str, Any]:
        return with_unread_count(conversation_payload(conversation), conversation)


def with_unread_count(payload: dict[str, Any], conversation: Conversation) -> dict[str, Any]:
    """`unread` (the reading agent's own count) when the query annotated it (selectors.with_unread)."""
    unread = getattr(conversation, "unread", None)
    return {**payload, "unread": unread} if unread is not None else payload


class AuthorOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AuthorKind.choices)
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField(
        help_text=_(
            "An agent's display name, else first and last name, else “Support agent”: "
            "never an email address."
        )
    )
    avatar = AvatarOutput(required=False, help_text=_("Agents only: initials and a colour."))


class MentionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AttachmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    content_type = serializers.CharField(help_text=_("Told from the file's bytes."))
    size = serializers.IntegerField(help_text=_("Bytes."))
    url = serializers.CharField(
        help_text=_(
            "A signed download link, relative to the helpdesk's address, that expires "
            "(HELPDESK_ATTACHMENT_URL_SECONDS): read the message again for a fresh one."
        )
    )
    thumbnail_url = serializers.CharField(
        required=False, help_text=_("Images only: a small version, for showing inline.")
    )


class MessageOutput(serializers.ModelSerializer):
    """A message; its attachments' links are signed for the reader in the context
    (`reader`: files/links.py), and left out without one."""

    author = serializers.SerializerMethodField()
    mentions = serializers.SerializerMethodField(
        help_text=_(
            "The agents a private note mentions with @ (docs/workspace.md); empty for "
            "every other message."
        )
    )
    delivery = serializers.ChoiceField(
        choices=Delivery.choices,
        allow_null=True,
        help_text=_(
            "Replies that leave through an inbox's channel: how far they got. Null otherwise."
        ),
    )
    attachments = AttachmentOutput(many=True, read_only=True)

    class Meta:
        model = Message
        fields = ["id", "conversation", "client_id", "author", "body", "private", "created_at"]
        fields += ["mentions", "delivery", "attachments"]

    @extend_schema_field(AuthorOutput)
    def get_author(self, message: Message) -> dict[str, Any]:
        return message_author(message)

    @extend_schema_field(MentionOutput(many=True))
    def get_mentions(self, message: Message) -> list[dict[str, Any]]:
        return message_mentions(message)

    def to_representation(self, message: Message) -> dict[str, Any]:
        return for_reader(message_payload(message), self.context.get("reader"))


def for_reader(message: dict[str, Any], reader: str | None) -> dict[str, Any]:
    """The message shape as `reader` gets it: with links to its files (files/links.py)."""
    return with_links(message, reader) if reader else message


def message_author(message: Message) -> dict[str, Any]:
    kind = message.author_kind
    customer = message.conversation.customer if kind == AuthorKind.CUSTOMER else None
    agent = message.agent if kind == AuthorKind.AGENT and message.agent_id else None
    if kind == AuthorKind.AGENT and agent is None:  # a campaign's invitation from a team
        return team_author(message.conversation.team)
    return author_shape(kind, customer=customer, agent=agent)


def team_author(team: Any) -> dict[str, Any]:
    """An agent message that no agent wrote (a campaign's invitation sent as its team, or an
    agent deleted since): the team speaks."""
    name = team.name if team is not None else str(AuthorKind.AGENT.label)
    return {"kind": AuthorKind.AGENT, "id": None, "name": name}


def author_shape(kind: str, *, customer: Any = None, agent: Any = None) -> dict[str, Any]:
    """Who wrote a message: the customer (for their messages), the agent, or a bot/system."""
    if kind == AuthorKind.CUSTOMER:
        return {"kind": kind, "id": customer.pk, "name": customer.name}
    if kind == AuthorKind.AGENT and agent is not None:
        return {"kind": kind, "id": agent.pk, "name": public_name(agent), "avatar": avatar(agent)}
    return {"kind": kind, "id": None, "name": str(AuthorKind(kind).label)}  # JSON, not lazy


# The shapes themselves, as plain dicts of JSON primitives. The output serializers above
# declare the fields (for the OpenAPI schema) and delegate here: the REST API, the event log
# and live events all answer with exactly these, and building them costs no DRF machinery
# on the hot path of every change.


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    text = (moment if moment.tzinfo is UTC else moment.astimezone(UTC)).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def person_payload(user: Any) -> dict[str, Any] | None:
    if not user:
        return None
    return {"id": user.pk, "name": public_name(user), "email": user.email, "avatar": avatar(user)}


def conversation_payload(conversation: Conversation) -> dict[str, Any]:
    customer, team = conversation.customer, conversation.team
    return conversation_shape(
        id=conversation.pk,
        status=str(conversation.status),
        channel=conversation.channel,
        customer=customer_shape(customer),
        team=team_shape(team),
        assignee=person_payload(conversation.assignee),
        priority=str(conversation.priority),
        labels=sorted(label.name for label in conversation.labels.all()),
        snoozed_until=conversation.snoozed_until,
        cycle=conversation.cycle,
        waiting_since=conversation.waiting_since,
        last_message_preview=conversation.last_message_preview,
        created_at=conversation.created_at,
        last_activity_at=conversation.last_activity_at,
        callback=callback_payload(conversation),
        with_bot=conversation.with_bot,
        inbox=conversation.inbox_id,
    )


def customer_shape(customer: Customer) -> dict[str, Any]:
    return {"id": customer.pk, "name": customer.name, "email": customer.email}


def team_shape(team: Any) -> dict[str, Any] | None:
    return {"id": team.pk, "name": team.name} if team else None


def conversation_shape(
    *,
    id: int,
    status: str,
    channel: str,
    customer: dict[str, Any],
    team: dict[str, Any] | None,
    assignee: dict[str, Any] | None,
    priority: str,
    labels: list[str],
    snoozed_until: datetime | None,
    cycle: int,
    waiting_since: datetime | None,
    last_message_preview: str,
    created_at: datetime,
    last_activity_at: datetime,
    callback: dict[str, Any] | None = None,
    with_bot: bool = False,
    inbox: int | None = None,
) -> dict[str, Any]:
    """The conversation shape from plain values; the bulk importer builds it without rows."""
    return {
        "id": id,
        "status": status,
        "channel": channel,
        "customer": customer,
        "team": team,
        "assignee": assignee,
        "priority": priority,
        "labels": labels,
        "snoozed_until": iso(snoozed_until),
        "cycle": cycle,
        "waiting_since": iso(waiting_since),
        "last_message_preview": last_message_preview,
        "created_at": iso(created_at),
        "last_activity_at": iso(last_activity_at),
        "callback": callback,
        "with_bot": with_bot,
        "inbox": inbox,
    }


def callback_payload(conversation: Conversation) -> dict[str, Any] | None:
    """The "call back by phone" escalation, for agents only (customer_view drops it)."""
    if not conversation.callback_phone:
        return None  # the usual case: no query for the requester
    by = conversation.callback_requested_by
    return {
        "phone": conversation.callback_phone,
        "requested_at": iso(conversation.callback_requested_at),
        "requested_by": {"id": by.pk, "name": user_name(by)} if by else None,
    }


# What a customer may see of a conversation: the same shape, without the helpdesk's inside
# (agents' email addresses, triage labels) and without changes that only agents care about.
CUSTOMER_CHANGES = {"status", "cycle", "reopened", "resolved", "snoozed_until", "rating"}


def customer_view(payload: dict[str, Any]) -> dict[str, Any]:
    shown = {**payload, "labels": []}
    shown.pop("callback", None)  # an internal escalation
    shown.pop("inbox", None)  # the helpdesk's own configuration
    if payload.get("assignee"):
        shown["assignee"] = {**payload["assignee"], "email": None}
    return shown


def customer_event(event: dict[str, Any]) -> dict[str, Any]:
    """An event envelope as a customer's socket sends it."""
    if not str(event.get("type", "")).startswith("conversation."):
        return event
    shown = {**event, "data": customer_view(event["data"])}
    if "change" in event:
        change = {k: v for k, v in event["change"].items() if k in CUSTOMER_CHANGES}
        if change:
            shown["change"] = change
        else:
            del shown["change"]
    return shown


class CustomerConversationOutput(ConversationOutput):
    """The conversation in the widget API: customer_view() of the public shape."""

    class Meta(ConversationOutput.Meta):
        fields = [
            name for name in ConversationOutput.Meta.fields if name not in ("callback", "inbox")
        ]

    def to_representation(self, conversation: Conversation) -> dict[str, Any]:
        return customer_view(conversation_payload(conversation))


def message_payload(message: Message) -> dict[str, Any]:
    return message_shape(
        id=message.pk,
        conversation=message.conversation_id,
        client_id=message.client_id,
        author=message_author(message),
        body=message.body,
        private=message.private,
        created_at=message.created_at,
        mentions=message_mentions(message),
        delivery=message.delivery,
        attachments=[attachment_shape(attachment) for attachment in message.attachments.all()],
    )


def message_mentions(message: Message) -> list[dict[str, Any]]:
    """The agents a private note mentions (conversations/mentions.py), as colleagues see
    them; a public message mentions nobody and costs no query."""
    if not message.private or message.pk is None:
        return []
    return [
        {"id": mention.user_id, "name": user_name(mention.user)}
        for mention in message.mentions.all()
    ]


def attachment_shape(attachment: Attachment) -> dict[str, Any]:
    """A file as the event log keeps it: without links, which each reader gets signed."""
    return {
        "id": attachment.pk,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
    }


def message_shape(
    *,
    id: int,
    conversation: int,
    client_id: str,
    author: dict[str, Any],
    body: str,
    private: bool,
    created_at: datetime,
    mentions: list[dict[str, Any]] | None = None,
    delivery: str = "",
    attachments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "id": id,
        "conversation": conversation,
        "client_id": client_id,
        "author": author,
        "body": body,
        "private": private,
        "created_at": iso(created_at),
        "mentions": mentions or [],
        "delivery": delivery or None,
        "attachments": attachments or [],
    }


# --- Inputs of the REST API (validated shapes; services enforce the rules) --------------------


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of quietly turning them into text.

    `needs_text`: white space alone is refused too, even where the value is kept untrimmed.
    `checked_by_service`: a service refuses white space alone and more than
    `max_length_hint()` characters itself, with its own codes; the field only tells the
    schema (api/schema.py).
    """

    default_error_messages = {
        "invalid": _("Must be a string."),
        "no_text": _("Write something other than white space."),
    }

    def __init__(
        self,
        *,
        needs_text: bool = False,
        checked_by_service: bool = False,
        max_length_hint: Callable[[], int] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.needs_text = needs_text
        self.checked_by_service = checked_by_service
        self.max_length_hint = max_length_hint

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if self.needs_text and not data.strip():
            self.fail("no_text")
        return super().to_internal_value(data)


class StrictSlugField(serializers.SlugField):
    """A SlugField that refuses numbers instead of quietly turning them into text."""

    default_error_messages = {"not_a_string": _("Must be a string.")}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


@extend_schema_field(
    {"oneOf": [{"type": "integer"}, {"type": "string"}], "nullable": True},
)
class IdOrNameField(serializers.Field):
    """A reference by id or by name/email: an integer, a string, or null."""

    default_error_messages = {"invalid": _("Give an id or a name.")}

    def to_internal_value(self, data: Any) -> int | str:
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            self.fail("invalid")
        if isinstance(data, str):
            data = data.strip()
            if not data or len(data) > 255 or "\x00" in data:  # PostgreSQL text holds no NUL
                self.fail("invalid")
            pk = parse_id(data)
            return data if pk is None else pk
        return data

    def to_representation(self, value: Any) -> Any:
        return value


def body_field() -> StrictCharField:
    # White space alone and over-long bodies are refused by services.check_body (codes
    # "invalid", "too_long"); the field only tells the schema so.
    return StrictCharField(
        allow_blank=False,
        trim_whitespace=False,
        checked_by_service=True,
        max_length_hint=lambda: settings.HELPDESK_MAX_MESSAGE_LENGTH,
    )


def client_id_field() -> StrictCharField:
    # services.check_client_id: some text, within the column's 100 characters.
    return StrictCharField(trim_whitespace=False, needs_text=True, max_length=100)


_ATTRIBUTE_VALUE = {
    "oneOf": [
        {"type": "string", "maxLength": visitor_context.ATTRIBUTE_VALUE_LIMIT},
        {"type": "number"},
        {"type": "boolean"},
    ],
    "nullable": True,
}


@extend_schema_field(
    {
        "type": "object",
        "maxProperties": visitor_context.ATTRIBUTES_MAX_KEYS,
        "propertyNames": {"pattern": visitor_context.ATTRIBUTE_NAME},
        "additionalProperties": _ATTRIBUTE_VALUE,
    }
)
class AttributesField(serializers.JSONField):
    """Custom attributes: visitor_context.check_attributes checks them (its errors name the
    attribute); the schema says the same, names included (propertyNames)."""


@extend_schema_field(
    {"type": "string", "maxLength": visitor_context.URL_LIMIT, "pattern": visitor_context.HTTP_URL}
)
class HttpUrlField(serializers.CharField):
    """An http(s) address as visitor_context.check_page_url takes it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, max_length=visitor_context.URL_LIMIT, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return visitor_context.check_page_url(data, field=self.field_name, required=False)


class OptionalHttpUrlField(HttpUrlField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, allow_blank=True, **kwargs)


extend_schema_field(
    {
        "type": "string",
        "maxLength": visitor_context.URL_LIMIT,
        "pattern": f"^$|{visitor_context.HTTP_URL}",
    }
)(OptionalHttpUrlField)


class SessionInput(serializers.Serializer):
    name = StrictCharField(required=False, allow_blank=True, max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    identifier = StrictCharField(required=False, allow_blank=True, max_length=255)
    identifier_hash = StrictCharField(required=False, allow_blank=True, max_length=128)
    customer_token = StrictCharField(required=False, allow_blank=True, allow_null=True)
    attributes = AttributesField(
        required=False,
        help_text=_(
            "Custom attributes from the embedding site: a flat object of strings, numbers and "
            "booleans (null removes one), merged into what is stored."
        ),
    )


class PageviewInput(serializers.Serializer):
    url = HttpUrlField(help_text=_("The page's address, http(s)."))
    title = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text=_("The page's title; kept to its first 300 characters."),
    )
    referrer = OptionalHttpUrlField()
    time_zone = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text=_("The browser's IANA time zone, e.g. Europe/Istanbul."),
    )


class SessionOutput(serializers.Serializer):
    customer_token = serializers.CharField()
    customer = CustomerOutput()


def campaign_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text=_(
            "The campaign whose invitation the customer answers: the conversation starts with "
            "it, in the campaign's team (`team` is then ignored)."
        ),
    )


class ConversationStartInput(serializers.Serializer):
    body = body_field()
    client_id = client_id_field()
    team = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=100)
    campaign = campaign_field()


class CustomerMessageInput(serializers.Serializer):
    body = body_field()
    client_id = client_id_field()


class AgentMessageInput(CustomerMessageInput):
    private = serializers.BooleanField(required=False, default=False)


class RatingInput(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = StrictCharField(required=False, allow_blank=True, max_length=2000)


class RatingOutput(serializers.Serializer):
    score = serializers.IntegerField()
    comment = serializers.CharField()


class NpsInput(serializers.Serializer):
    score = serializers.IntegerField(
        min_value=0, max_value=10, help_text=_("How likely the customer is to recommend you.")
    )
    comment = StrictCharField(required=False, allow_blank=True, max_length=2000)
    conversation = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=MAX_ID,
        help_text=_("The customer's conversation the question followed (its team and agent)."),
    )


class NpsOutput(serializers.Serializer):
    score = serializers.IntegerField()
    comment = serializers.CharField()
    conversation = serializers.IntegerField(source="conversation_id", allow_null=True)
    created_at = serializers.DateTimeField()


class NpsStateOutput(serializers.Serializer):
    """Whether the widget should ask the NPS question now."""

    ask = serializers.BooleanField(
        help_text=_("True unless the customer answered within HELPDESK_NPS_INTERVAL_DAYS.")
    )
    ask_again_at = serializers.DateTimeField(
        allow_null=True, help_text=_("When the customer may answer again; null: now.")
    )


class ConversationPatchInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    assignee = IdOrNameField(
        required=False, allow_null=True, help_text=_("An agent id, an email, or null.")
    )
    team = IdOrNameField(
        required=False, allow_null=True, help_text=_("A team id, a name, or null.")
    )
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    labels = serializers.ListField(
        child=StrictSlugField(max_length=50, allow_unicode=True),
        required=False,
        max_length=50,
    )
    snoozed_until = serializers.DateTimeField(required=False, allow_null=True)
    callback_phone = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text=_("Call the customer back on this number (an escalation); null clears it."),
    )


class TransferInput(serializers.Serializer):
    team = IdOrNameField(
        required=False, allow_null=True, help_text=_("A team id, a name, or null.")
    )
    assignee = IdOrNameField(
        required=False,
        allow_null=True,
        help_text=_("An agent id or email; left out: the team's queue."),
    )
    note = StrictCharField(
        allow_blank=True,
        trim_whitespace=False,
        help_text=_("Why: a private note for the colleagues who take over."),
    )
    force = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_("Supervisors only: assign even when the agent is at capacity."),
    )


class CustomerDetailOutput(serializers.ModelSerializer):
    """The customer as agents see them in a conversation's detail."""

    class Meta:
        model = Customer
        fields = ["id", "name", "email", "identifier", "external_id", "language", "created_at"]
        fields += ["last_seen_at"]


class ConversationDetailOutput(ConversationOutput):
    customer = CustomerDetailOutput()
    messages = MessageOutput(many=True, read_only=True)

    class Meta(ConversationOutput.Meta):
        fields = [*ConversationOutput.Meta.fields, "messages"]

    def to_representation(self, conversation: Conversation) -> dict[str, Any]:
        reader = self.context.get("reader")
        messages = [
            for_reader(message_payload(message), reader) for message in conversation.messages.all()
        ]
        payload = with_unread_count(conversation_payload(conversation), conversation)
        customer = conversation.customer
        # What an agent knows about the customer, beyond the public shape's id, name, email.
        payload["customer"] = {
            **payload["customer"],
            "identifier": customer.identifier,
            "external_id": customer.external_id,
            "language": customer.language,
            "created_at": iso(customer.created_at),
            "last_seen_at": iso(customer.last_seen_at),
        }
        return {**payload, "messages": messages}
