"""The REST API of conversations (shared/API.md): the customer widget and the agents' side.

Thin views: validate with an input serializer, call a service or a selector, answer with
the public shapes of serializers.py. Errors take the one shape of helpdesk/api_errors.py.
"""

from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.translation import get_language_from_request, gettext_lazy
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import inbound, search, selectors, services
from .authentication import (
    AGENT_AUTHENTICATION,
    CustomerTokenAuthentication,
    IsStaffAgent,
    IsWidgetCustomer,
    check_identity,
)
from .errors import InvalidInput
from .models import Channel, Conversation, Customer, Message, Status, Team
from .pagination import CappedCountPaginator
from .serializers import (
    AgentMessageInput,
    ConversationDetailOutput,
    ConversationOutput,
    ConversationPatchInput,
    ConversationStartInput,
    CustomerConversationOutput,
    CustomerMessageInput,
    MessageOutput,
    RatingInput,
    RatingOutput,
    SessionInput,
    SessionOutput,
    StrictCharField,
    TransferInput,
)
from .throttling import (
    InboundEmailThrottle,
    RateLimitedMixin,
    WidgetConversationsThrottle,
    WidgetMessagesThrottle,
    WidgetSessionsThrottle,
)

User = get_user_model()
MAX_ID = 2**63 - 1  # larger ids cannot exist (bigint); answering 404 beats a database error
WIDGET_MESSAGES_LIMIT = 500


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


def post_message(
    conversations: QuerySet[Conversation], pk: int, **fields: Any
) -> tuple[Message, bool]:
    """services.message_post to conversation `pk` if it is one of `conversations` (else 404).
    The service checks that as it locks the row: one query for both."""
    if pk > MAX_ID:
        raise Http404
    try:
        return services.message_post(
            conversation=Conversation(pk=pk), within=conversations, **fields
        )
    except Conversation.DoesNotExist as error:
        raise Http404 from error


def conversation_queryset(queryset: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """Everything the conversation shape reads, in a fixed number of queries."""
    return queryset.select_related(
        "customer", "team", "assignee", "callback_requested_by"
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


# --- Customer side (widget) ------------------------------------------------------------------


class WidgetSessionView(RateLimitedMixin, APIView):
    """Start or resume a widget session; answers the token the widget keeps."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [WidgetSessionsThrottle]

    @extend_schema(
        request=SessionInput,
        responses={201: SessionOutput, **error_responses(400, 403, 429)},
        auth=[],
        tags=["widget"],
    )
    def post(self, request: Request) -> Response:
        data = validated(SessionInput, request.data)
        name, email = data.get("name", ""), data.get("email", "")
        # A stale or unknown token just starts a new session: the widget needs no error here.
        current = selectors.customer_by_token(data.get("customer_token"))
        if data.get("identifier"):
            identifier = check_identity(data["identifier"], data.get("identifier_hash", ""))
            customer = services.customer_identify(
                identifier=identifier, current=current, name=name, email=email
            )
        elif current is not None:
            customer = services.customer_update_profile(customer=current, name=name, email=email)
        else:
            customer = services.customer_create(name=name, email=email)
        if "HTTP_ACCEPT_LANGUAGE" in request.META:  # the widget says which language it speaks
            language = get_language_from_request(request)
            customer = services.customer_update_profile(customer=customer, language=language)
        body = {"customer_token": customer.token, "customer": customer}
        return Response(SessionOutput(body).data, status=status.HTTP_201_CREATED)


class WidgetView(RateLimitedMixin, APIView):
    """A call of an authenticated widget customer, who sees only their own conversations."""

    authentication_classes = [CustomerTokenAuthentication]
    permission_classes = [IsWidgetCustomer]
    throttle_classes: list = []

    @property
    def customer(self) -> Customer:
        return self.request.user.customer

    def get_conversation(self, pk: int) -> Conversation:
        own = conversation_queryset(selectors.customer_conversations(self.customer))
        return get_or_404(own, pk)

    def changeable_conversations(self) -> QuerySet[Conversation]:
        return selectors.customer_conversations(self.customer)


class WidgetConversationsView(WidgetView):
    post_throttle_classes = (WidgetConversationsThrottle,)

    @extend_schema(
        responses={
            200: inline_serializer(
                "WidgetConversations", {"results": CustomerConversationOutput(many=True)}
            ),
            **error_responses(401),
        },
        operation_id="widget_conversations_list",
        tags=["widget"],
    )
    def get(self, request: Request) -> Response:
        conversations = conversation_queryset(selectors.customer_conversations(self.customer))
        return Response({"results": CustomerConversationOutput(conversations, many=True).data})

    @extend_schema(
        request=ConversationStartInput,
        responses={
            201: CustomerConversationOutput,
            200: OpenApiResponse(
                CustomerConversationOutput, gettext_lazy("The same client_id again.")
            ),
            **error_responses(400, 401, 429),
        },
        tags=["widget"],
    )
    def post(self, request: Request) -> Response:
        data = validated(ConversationStartInput, request.data)
        team = team_by_ref(data.get("team") or None)
        conversation, created = services.conversation_start(
            customer=self.customer,
            body=data["body"],
            client_id=data["client_id"],
            channel=Channel.WEB,
            team=team,
        )
        conversation = self.get_conversation(conversation.pk)
        return Response(
            CustomerConversationOutput(conversation).data, status=created_status(created)
        )


class WidgetConversationView(WidgetView):
    @extend_schema(
        responses={200: CustomerConversationOutput, **error_responses(401, 404)}, tags=["widget"]
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(CustomerConversationOutput(self.get_conversation(pk)).data)


class WidgetMessagesView(WidgetView):
    post_throttle_classes = (WidgetMessagesThrottle,)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "after",
                OpenApiTypes.INT,
                description=gettext_lazy("Only messages after this message id."),
            )
        ],
        responses={
            200: inline_serializer(
                "WidgetMessages",
                {"results": MessageOutput(many=True), "has_more": serializers.BooleanField()},
            ),
            **error_responses(400, 401, 404),
        },
        tags=["widget"],
    )
    def get(self, request: Request, pk: int) -> Response:
        conversation = self.get_conversation(pk)
        after = self.after_param(request)
        messages = list(
            selectors.public_messages(conversation, after=after).select_related("agent")[
                : WIDGET_MESSAGES_LIMIT + 1
            ]
        )
        has_more = len(messages) > WIDGET_MESSAGES_LIMIT
        messages = messages[:WIDGET_MESSAGES_LIMIT]
        return Response({"results": MessageOutput(messages, many=True).data, "has_more": has_more})

    @staticmethod
    def after_param(request: Request) -> int | None:
        after = request.query_params.get("after")
        if after in (None, ""):
            return None
        if not after.isdigit() or int(after) > MAX_ID:
            raise ValidationError({"after": [_("A message id (a whole number).")]})
        return int(after)

    @extend_schema(
        request=CustomerMessageInput,
        responses={
            201: MessageOutput,
            200: OpenApiResponse(MessageOutput, gettext_lazy("The same client_id again.")),
            **error_responses(400, 401, 404, 429),
        },
        tags=["widget"],
    )
    def post(self, request: Request, pk: int) -> Response:
        data = validated(CustomerMessageInput, request.data)
        message, created = post_message(
            self.changeable_conversations(),
            pk,
            author=services.Author.customer(),
            body=data["body"],
            client_id=data["client_id"],
        )
        return Response(MessageOutput(message).data, status=created_status(created))


class WidgetRatingView(WidgetView):
    @extend_schema(
        request=RatingInput,
        responses={201: RatingOutput, **error_responses(400, 401, 404, 409)},
        tags=["widget"],
    )
    def post(self, request: Request, pk: int) -> Response:
        conversation = self.get_conversation(pk)
        data = validated(RatingInput, request.data)
        rating = services.conversation_rate(
            conversation=conversation, score=data["score"], comment=data.get("comment", "")
        )
        return Response(RatingOutput(rating).data, status=status.HTTP_201_CREATED)


# --- Agent side ------------------------------------------------------------------------------


class AgentView(APIView):
    authentication_classes = AGENT_AUTHENTICATION
    permission_classes = [IsStaffAgent]

    def visible_conversations(self) -> QuerySet[Conversation]:
        return conversation_queryset(selectors.conversations_visible_to_agent(self.request.user))

    def get_conversation(self, pk: int) -> Conversation:
        return get_or_404(self.visible_conversations(), pk)

    def changeable_conversations(self) -> QuerySet[Conversation]:
        return selectors.conversations_visible_to_agent(self.request.user)

    def with_messages(self, pk: int) -> Conversation:
        """The conversation with every message, private notes included, oldest first, and
        the agent's `unread` count."""
        every_message = Message.objects.select_related("agent").order_by("created_at", "id")
        conversations = selectors.with_unread(self.visible_conversations(), self.request.user)
        return get_or_404(conversations.prefetch_related(Prefetch("messages", every_message)), pk)


class NullsLastOrderingFilter(django_filters.OrderingFilter):
    """Orders with empty values last in both directions and on every database (SQLite puts
    NULLs first when ascending), then by id so pages never shuffle."""

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        if not value:
            return qs
        ordering = []
        for param in value:
            if not param:
                continue
            field = self.get_ordering_value(param)
            name = field.lstrip("-")
            if not Conversation._meta.get_field(name).null:
                ordering.append(field)  # plain, as the list's indexes are: no NULLs to place
            elif field.startswith("-"):
                ordering.append(F(name).desc(nulls_last=True))
            else:
                ordering.append(F(name).asc(nulls_last=True))
        return qs.order_by(*ordering, "-last_activity_at", "-id")


class ConversationFilter(django_filters.FilterSet):
    status = django_filters.CharFilter(
        method="filter_status", help_text=gettext_lazy("A status, or several separated by commas.")
    )
    assignee = django_filters.CharFilter(
        method="filter_assignee", help_text=gettext_lazy("An agent id, “me” or “none”.")
    )
    team = django_filters.CharFilter(
        method="filter_team",
        help_text=gettext_lazy("A team id or name, “none”, or “mine” (the teams you are in)."),
    )
    channel = django_filters.CharFilter(field_name="channel")
    callback = django_filters.CharFilter(
        method="filter_callback",
        help_text=gettext_lazy("“true”: only those flagged call back by phone; “false”: others."),
    )
    label = django_filters.CharFilter(
        method="filter_label", help_text=gettext_lazy("Conversations with this label.")
    )
    customer = django_filters.NumberFilter(
        field_name="customer_id", help_text=gettext_lazy("One customer's conversations (an id).")
    )
    q = django_filters.CharFilter(
        method="filter_text",
        max_length=search.MAX_QUERY_LENGTH,
        help_text=gettext_lazy(
            "Words in the messages (private notes included) or the customer's name or email, "
            "in web search syntax: “quoted phrase”, or, -word. Results come best "
            "first (unless `ordering` is given), each with `search`: {rank, highlight}; the "
            "highlight is HTML-escaped text with <mark> around the matching words, safe to "
            "insert as HTML."
        ),
    )
    ordering = NullsLastOrderingFilter(
        fields=["last_activity_at", "waiting_since", "created_at", "id"],
        help_text=gettext_lazy(
            "A field, “-” first for descending; empty values always last "
            "(waiting_since: the longest-waiting customer first)."
        ),
    )

    class Meta:
        model = Conversation
        fields = ["status", "assignee", "team", "channel", "callback", "label", "customer", "q"]

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        statuses = [part.strip() for part in value.split(",") if part.strip()]
        unknown = [part for part in statuses if part not in Status.values]
        if unknown:
            raise ValidationError({"status": [_("Choose open, pending, snoozed or resolved.")]})
        return queryset.filter(status__in=statuses)

    def filter_assignee(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip().lower()
        if value == "me":
            return queryset.filter(assignee=self.request.user)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value.isdigit() and int(value) <= MAX_ID:
            return queryset.filter(assignee_id=int(value))
        raise ValidationError({"assignee": [_("An agent id, “me” or “none”.")]})

    def filter_team(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if value.lower() == "none":
            return queryset.filter(team__isnull=True)
        if value.lower() == "mine":
            return queryset.filter(team__in=Team.objects.filter(members=self.request.user))
        ref = int(value) if value.isdigit() else value
        return queryset.filter(team=team_by_ref(ref))

    def filter_callback(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip().lower()
        if value not in ("true", "false"):
            raise ValidationError({"callback": [_("“true” or “false”.")]})
        return (
            queryset.exclude(callback_phone="")
            if value == "true"
            else queryset.filter(callback_phone="")
        )

    def filter_label(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(labels__name__iexact=value)  # label names are unique: no duplicates

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset  # ConversationListView searches last, over the other filters' result


class ConversationPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100
    django_paginator_class = CappedCountPaginator

    def get_paginated_response(self, data: list[dict[str, Any]]) -> Response:
        response = super().get_paginated_response(data)
        response.data["count_exact"] = self.page.paginator.count_exact
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        answer = super().get_paginated_response_schema(schema)
        answer["properties"]["count_exact"] = {
            "type": "boolean",
            "description": gettext_lazy(
                "False when `count` is an estimate (beyond 1,000 conversations)."
            ),
        }
        return answer


@extend_schema(tags=["agents"])
class ConversationListView(AgentView, generics.ListAPIView):
    serializer_class = ConversationOutput
    pagination_class = ConversationPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = ConversationFilter

    def get_queryset(self) -> QuerySet[Conversation]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the schema
            return Conversation.objects.none()
        conversations = selectors.with_unread(self.visible_conversations(), self.request.user)
        return conversations.order_by("-last_activity_at", "-id")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        conversations = self.filter_queryset(self.get_queryset())
        found = None
        text = search.clean_search_text(request.query_params.get("q", ""))
        if text:
            by_rank = not request.query_params.get("ordering")
            found = selectors.search_conversations(conversations, text, by_rank=by_rank)
            conversations = found.conversations
        page = self.paginate_queryset(conversations)
        results = self.get_serializer(page, many=True).data
        if found is not None:
            matches = found.search_fields(page)
            for result in results:
                result["search"] = matches[result["id"]]
        return self.get_paginated_response(results)


class ConversationChangeInput(ConversationPatchInput):
    force = serializers.BooleanField(
        required=False,
        default=False,
        help_text=gettext_lazy(
            "Supervisors only: assign even when the agent is at capacity "
            "(otherwise that answers 409 at_capacity)."
        ),
    )


class ConversationDetailView(AgentView):
    @extend_schema(
        responses={200: ConversationDetailOutput, **error_responses(401, 403, 404)}, tags=["agents"]
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(ConversationDetailOutput(self.with_messages(pk)).data)

    @extend_schema(
        request=ConversationChangeInput,
        responses={200: ConversationOutput, **error_responses(400, 401, 403, 404, 409)},
        tags=["agents"],
    )
    def patch(self, request: Request, pk: int) -> Response:
        conversation = self.get_conversation(pk)
        data = validated(ConversationChangeInput, request.data)
        with transaction.atomic():  # all of the change or none of it
            self.apply(conversation, data)
        # Read back without the visibility filter: the agent may just have handed it away.
        changed = conversation_queryset(Conversation.objects).get(pk=pk)
        return Response(ConversationOutput(changed).data)

    def apply(self, conversation: Conversation, data: dict[str, Any]) -> None:
        """Resolve every reference first (a bad one changes nothing), then call the services."""
        by = self.request.user
        updates: dict[str, Any] = {}
        if "team" in data:
            updates["team"] = team_by_ref(data["team"])
        if "priority" in data:
            updates["priority"] = data["priority"]
        if "labels" in data:
            updates["labels"] = data["labels"]
        assignee = agent_user_by_ref(data["assignee"]) if "assignee" in data else None
        if "assignee" in data:  # first: it locks the agent, and agents lock before conversations
            services.check_assign(
                conversation=conversation, assignee=assignee, by=by, force=data["force"]
            )
        if updates:
            services.conversation_update(conversation=conversation, by=by, **updates)
        if "assignee" in data:
            services.conversation_assign(conversation=conversation, assignee=assignee, by=by)
        if "status" in data or data.get("snoozed_until"):
            services.conversation_set_status(
                conversation=conversation,
                status=data.get("status", Status.SNOOZED),
                snoozed_until=data.get("snoozed_until"),
                by=by,
            )
        if "callback_phone" in data:
            services.conversation_request_callback(
                conversation=conversation, phone=data["callback_phone"], by=by
            )


class ConversationTransferView(AgentView):
    @extend_schema(
        request=TransferInput,
        responses={200: ConversationOutput, **error_responses(400, 401, 403, 404, 409)},
        tags=["agents"],
    )
    def post(self, request: Request, pk: int) -> Response:
        """Transfer to a team and/or a colleague with a private note (README "Transfer")."""
        conversation = self.get_conversation(pk)
        data = validated(TransferInput, request.data)
        references: dict[str, Any] = {}
        if "team" in data:
            references["team"] = team_by_ref(data["team"])
        if data.get("assignee") is not None:
            references["assignee"] = agent_user_by_ref(data["assignee"])
        services.conversation_transfer(
            conversation=conversation,
            by=request.user,
            note=data["note"],
            force=data["force"],
            **references,
        )
        changed = conversation_queryset(Conversation.objects).get(pk=pk)
        return Response(ConversationOutput(changed).data)


class ConversationMessagesView(AgentView):
    @extend_schema(
        responses={
            200: inline_serializer("ConversationMessages", {"results": MessageOutput(many=True)}),
            **error_responses(401, 403, 404),
        },
        tags=["agents"],
    )
    def get(self, request: Request, pk: int) -> Response:
        conversation = self.with_messages(pk)
        return Response({"results": MessageOutput(conversation.messages.all(), many=True).data})

    @extend_schema(
        request=AgentMessageInput,
        responses={
            201: MessageOutput,
            200: OpenApiResponse(MessageOutput, gettext_lazy("The same client_id again.")),
            **error_responses(400, 401, 403, 404),
        },
        tags=["agents"],
    )
    def post(self, request: Request, pk: int) -> Response:
        data = validated(AgentMessageInput, request.data)
        message, created = post_message(
            self.changeable_conversations(),
            pk,
            author=services.Author.of_agent(request.user),
            body=data["body"],
            client_id=data["client_id"],
            private=data["private"],
        )
        return Response(MessageOutput(message).data, status=created_status(created))


class ReadInput(serializers.Serializer):
    message = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_ID,
        help_text=gettext_lazy("Read up to this message id (default: the last message)."),
    )


class ReadOutput(serializers.Serializer):
    conversation = serializers.IntegerField()
    last_read_message = serializers.IntegerField()
    read_at = serializers.DateTimeField()
    unread = serializers.IntegerField()


class ConversationReadView(AgentView):
    """The agent has read the conversation (the workspace says so when it shows it)."""

    @extend_schema(
        request=ReadInput,
        responses={200: ReadOutput, **error_responses(400, 401, 403, 404)},
        tags=["agents"],
    )
    def post(self, request: Request, pk: int) -> Response:
        conversation = self.get_conversation(pk)
        data = validated(ReadInput, request.data if request.data else {})
        marker = services.conversation_mark_read(
            conversation=conversation, user=request.user, through=data.get("message")
        )
        unread = selectors.with_unread(Conversation.objects.filter(pk=pk), request.user)
        answer = {
            "conversation": conversation.pk,
            "last_read_message": marker.last_read_message_id,
            "read_at": marker.read_at,
            "unread": unread.values_list("unread", flat=True).get(),
        }
        return Response(ReadOutput(answer).data)


# --- Inbound email (email continuity, conversations/inbound.py) ------------------------------


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


def inbound_string(max_length: int | None = None, **kwargs: Any) -> StrictCharField:
    return StrictCharField(max_length=max_length, allow_blank=True, trim_whitespace=False, **kwargs)


class InboundEmailInput(serializers.Serializer):
    """The parsed form of an email, for providers that post JSON."""

    _from = inbound_string(
        max_length=1000, help_text=gettext_lazy("'Name <address>' or an address.")
    )
    to = serializers.JSONField(
        required=False,
        help_text=gettext_lazy("The recipient address(es): a string or a list of strings."),
    )
    subject = inbound_string(max_length=1000, required=False)
    text = inbound_string(required=False)
    html = inbound_string(required=False)
    message_id = inbound_string(max_length=998, required=False)
    in_reply_to = inbound_string(max_length=10000, required=False)
    references = serializers.JSONField(
        required=False, help_text=gettext_lazy("Message-IDs: one header value or a list.")
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
        if not (data.get("text") or "").strip() and not (data.get("html") or "").strip():
            raise ValidationError({"text": [_("Give the text (or the html) of the email.")]})
        return data


class InboundEmailOutput(serializers.Serializer):
    status = serializers.CharField(help_text=gettext_lazy("created, duplicate or ignored"))
    conversation = serializers.IntegerField(allow_null=True)
    new_conversation = serializers.BooleanField()
    message = MessageOutput(allow_null=True)
    reason = serializers.CharField(required=False)


class InboundEmailView(RateLimitedMixin, APIView):
    """A mail provider (or an MTA pipe) delivers a customer's email; see README."""

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
        auth=[],
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
