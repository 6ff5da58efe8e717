"""The public shapes of conversations and messages (shared/API.md "Objects").

Used by the REST API and by the event log, so a message looks the same whether it arrives
in a response, a replay or a live event.
"""

import json
from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from .models import AuthorKind, Conversation, Customer, Message

User = get_user_model()


def user_name(user: Any) -> str:
    return user.get_full_name() or user.email or user.get_username()


class CustomerOutput(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "name", "email"]


class PersonOutput(serializers.Serializer):
    """An agent as others see it: {"id", "name", "email"}."""

    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()
    email = serializers.EmailField()

    def get_name(self, user: Any) -> str:
        return user_name(user)


class TeamRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ConversationOutput(serializers.ModelSerializer):
    customer = CustomerOutput()
    team = TeamRefOutput(allow_null=True)
    assignee = PersonOutput(allow_null=True)
    labels = serializers.SerializerMethodField()

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
        ]

    def get_labels(self, conversation: Conversation) -> list[str]:
        return sorted(label.name for label in conversation.labels.all())


class MessageOutput(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["id", "conversation", "client_id", "author", "body", "private", "created_at"]

    def get_author(self, message: Message) -> dict[str, Any]:
        return message_author(message)


def message_author(message: Message) -> dict[str, Any]:
    kind = message.author_kind
    if kind == AuthorKind.CUSTOMER:
        customer = message.conversation.customer
        return {"kind": kind, "id": customer.pk, "name": customer.name}
    if kind == AuthorKind.AGENT and message.agent_id:
        return {"kind": kind, "id": message.agent_id, "name": user_name(message.agent)}
    return {"kind": kind, "id": None, "name": AuthorKind(kind).label}


def as_primitives(data: Any) -> Any:
    """Plain JSON types only: event payloads travel through msgpack and JSON columns."""
    return json.loads(json.dumps(data))


def conversation_payload(conversation: Conversation) -> dict[str, Any]:
    return as_primitives(ConversationOutput(conversation).data)


def message_payload(message: Message) -> dict[str, Any]:
    return as_primitives(MessageOutput(message).data)
