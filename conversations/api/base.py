"""What every endpoint of the helpdesk shares (the agents' and reports' apps build on it too):
the error shape in the schema, input validation, lookups by id or reference, and the base view
of authenticated agents.

Errors take the one shape `{"error": {"code", "message", "fields"?}}` (errors.py); the project's
exception handler turns DRF's own errors into it.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import serializers, status
from rest_framework.views import APIView

from .. import selectors
from ..authentication import (
    AGENT_AUTHENTICATION,
    IsStaffAgent,
)
from ..errors import InvalidInput
from ..files.links import user_reader
from ..ids import MAX_ID
from ..models import Conversation, Mention, Message, Team
from ..people import authors_with_profiles
from ..throttling import PerAgentThrottle, RateLimitedMixin
from . import schema  # noqa: F401 - registers the schema's field extension

User = get_user_model()


class ErrorBodyOutput(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(required=False)


class ErrorOutput(serializers.Serializer):
    """Every 4xx answer: {"error": {"code", "message", "fields"?}}."""

    error = ErrorBodyOutput()


def error_responses(*codes: int) -> dict[int, type[serializers.Serializer]]:
    return dict.fromkeys(codes, ErrorOutput)


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(_("Send a JSON object."))
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def get_or_404(queryset: QuerySet, pk: int) -> Any:
    if pk > MAX_ID:
        raise Http404
    try:
        return queryset.get(pk=pk)
    except queryset.model.DoesNotExist as error:
        raise Http404 from error


def conversation_queryset(queryset: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """Everything the conversation shape reads, in a fixed number of queries."""
    return queryset.select_related(
        "customer", "team", "assignee__public_profile", "callback_requested_by"
    ).prefetch_related("labels")


def created_status(created: bool) -> int:
    return status.HTTP_201_CREATED if created else status.HTTP_200_OK


def team_by_ref(ref: int | str | None, *, field: str = "team") -> Any:
    """A team by id or by name (any letter case); None stays None."""
    if ref is None:
        return None
    lookup = {"pk": ref} if isinstance(ref, int) else {"name__iexact": ref}
    if isinstance(ref, int) and ref > MAX_ID:
        lookup = {"pk": 0}
    team = Team.objects.filter(**lookup).first()
    if team is None:
        message = _("No team “%(team)s”.") % {"team": ref}
        raise InvalidInput(message, fields={field: message})
    return team


def agent_user_by_ref(ref: int | str | None) -> Any:
    """An agent (an active staff user) by id or email; None stays None."""
    if ref is None:
        return None
    agents = User.objects.filter(is_active=True, is_staff=True)
    if isinstance(ref, int):
        user = agents.filter(pk=ref).first() if ref <= MAX_ID else None
    else:
        user = agents.filter(Q(email__iexact=ref) | Q(username__iexact=ref)).order_by("pk").first()
    if user is None:
        message = _("No agent “%(agent)s”.") % {"agent": ref}
        raise InvalidInput(message, fields={"assignee": message})
    return user


class AgentView(RateLimitedMixin, APIView):
    authentication_classes = AGENT_AUTHENTICATION
    permission_classes = [IsStaffAgent]
    throttle_classes = [PerAgentThrottle]  # HELPDESK_RATE_AGENT per agent

    def visible_conversations(self) -> QuerySet[Conversation]:
        return conversation_queryset(selectors.conversations_visible_to_agent(self.request.user))

    def reader_context(self) -> dict[str, Any]:
        """Serializer context: files' links are signed for this user (files/links.py)."""
        return {"reader": user_reader(self.request.user.pk)}

    def get_conversation(self, pk: int) -> Conversation:
        return get_or_404(self.visible_conversations(), pk)

    def changeable_conversations(self) -> QuerySet[Conversation]:
        return selectors.conversations_visible_to_agent(self.request.user)

    def with_messages(self, pk: int) -> Conversation:
        """The conversation with every message, private notes included, oldest first, and
        the agent's `unread` count."""
        mentions = Mention.objects.select_related("user__public_profile")
        every_message = Message.objects.prefetch_related(
            authors_with_profiles(), Prefetch("mentions", mentions), "attachments"
        ).order_by("created_at", "id")
        conversations = selectors.with_unread(self.visible_conversations(), self.request.user)
        return get_or_404(conversations.prefetch_related(Prefetch("messages", every_message)), pk)
