"""The agents' side: the conversation list with its filters and search, a conversation,
changing and transferring it, its messages, and what the agent has read."""

from collections.abc import Mapping, Sequence
from typing import Any

import django_filters
from django.db import transaction
from django.db.models import F, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from .. import search, selectors, services, visitor_context
from ..ids import parse_id
from ..models import Conversation, Priority, Status
from ..pagination import CappedCountPaginator, StrictPageNumberPagination
from ..serializers import (
    AgentMessageInput,
    ConversationDetailOutput,
    ConversationOutput,
    ConversationPatchInput,
    MessageOutput,
    TransferInput,
)
from .base import (
    MAX_ID,
    AgentView,
    Team,
    agent_user_by_ref,
    conversation_queryset,
    created_status,
    error_responses,
    get_or_404,
    team_by_ref,
    validated,
)
from .files import MESSAGE_PARSERS, AgentMessageUpload, message_input, message_request
from .schema import ID as ID_SCHEMA
from .schema import NO_NUL
from .widget import post_message


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


# The whitespace a list filter ignores around its values: ASCII only, as its schema says
# (a pattern's \s means more in JavaScript than str.strip() drops in Python).
SPACE = " \t\n\r\f\v"


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
    priority = django_filters.CharFilter(
        method="filter_priority",
        help_text=gettext_lazy("A priority, or several separated by commas."),
    )
    mentioned = django_filters.CharFilter(
        method="filter_mentioned",
        help_text=gettext_lazy("“me”: conversations with a private note that mentions you."),
    )
    callback = django_filters.CharFilter(
        method="filter_callback",
        help_text=gettext_lazy("“true”: only those flagged call back by phone; “false”: others."),
    )
    label = django_filters.CharFilter(
        method="filter_label", help_text=gettext_lazy("Conversations with this label.")
    )
    customer = django_filters.CharFilter(
        method="filter_customer",
        help_text=gettext_lazy("One customer's conversations (an id)."),
    )
    attribute = django_filters.CharFilter(
        method="filter_attribute",
        max_length=300,
        help_text=gettext_lazy(
            "Customers with this custom attribute: “name:value” (the value compared as text, "
            "any case: plan:gold, orders:3, vip:true), or “name” alone for any value."
        ),
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
        fields = ["status", "assignee", "team", "channel", "callback", "label", "customer"]
        fields += ["attribute", "priority", "q", "mentioned"]

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        statuses = [part.strip(SPACE) for part in value.split(",") if part.strip(SPACE)]
        if not statuses:  # only commas: no status asked, as an empty value
            return queryset
        unknown = [part for part in statuses if part not in Status.values]
        if unknown:
            raise ValidationError({"status": [_("Choose open, pending, snoozed or resolved.")]})
        return queryset.filter(status__in=statuses)

    def filter_priority(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        priorities = [part.strip(SPACE) for part in value.split(",") if part.strip(SPACE)]
        if not priorities:
            return queryset
        if any(part not in Priority.values for part in priorities):
            raise ValidationError({"priority": [_("Choose low, normal, high or urgent.")]})
        return queryset.filter(priority__in=priorities)

    def filter_assignee(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip(SPACE).lower()
        if value == "me":
            return queryset.filter(assignee=self.request.user)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if (pk := parse_id(value)) is not None:
            return queryset.filter(assignee_id=pk)
        raise ValidationError({"assignee": [_("An agent id, “me” or “none”.")]})

    def filter_mentioned(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value.strip(SPACE).lower() != "me":
            raise ValidationError({"mentioned": [_("Only “me”.")]})
        return selectors.mentioning(queryset, self.request.user)

    def filter_team(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if value.lower() == "none":
            return queryset.filter(team__isnull=True)
        if value.lower() == "mine":
            return queryset.filter(team__in=Team.objects.filter(members=self.request.user))
        pk = parse_id(value)
        return queryset.filter(team=team_by_ref(value if pk is None else pk))

    def filter_customer(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if (pk := parse_id(value.strip())) is None:
            raise ValidationError({"customer": [_("A customer id (a whole number).")]})
        return queryset.filter(customer_id=pk)

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

    def filter_attribute(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        key, has_value, wanted = value.strip(SPACE).partition(":")
        if not visitor_context.ATTRIBUTE_KEY.match(key):
            raise ValidationError({"attribute": [_("“name:value”, e.g. plan:gold.")]})
        queryset = queryset.alias(attribute=KeyTextTransform(key, "customer__attributes"))
        if not has_value:
            return queryset.filter(attribute__isnull=False)
        return queryset.filter(attribute__iexact=wanted.strip(SPACE))

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset  # ConversationListView searches last, over the other filters' result


# The list's filters a saved view may hold; the rest of a list's query is paging.
VIEW_FILTERS = ("status", "assignee", "team", "channel", "label", "priority", "attribute")
VIEW_FILTERS += ("callback", "mentioned", "q", "ordering")


def apply_list_filters(
    request: Request, conversations: QuerySet[Conversation], params: Mapping[str, Any]
) -> QuerySet[Conversation]:
    """The inbox list's filters and ordering over `conversations` (the search is left to
    filter_conversations). The one place that reads and checks them: the list, saved views
    and their counts. A bad value raises ValidationError (400, naming the filter)."""
    filterset = ConversationFilter(params, queryset=conversations, request=request)
    if not filterset.is_valid():
        raise translate_validation(filterset.errors)
    return filterset.qs


def filter_conversations(
    request: Request, conversations: QuerySet[Conversation], params: Mapping[str, Any]
) -> tuple[QuerySet[Conversation] | Sequence[Conversation], search.SearchResults | None]:
    """apply_list_filters, then the search `q` over what they leave: (conversations, the
    search's results or None)."""
    conversations = apply_list_filters(request, conversations, params)
    text = search.clean_search_text(params.get("q", ""))
    if not text:
        return conversations, None
    by_rank = not params.get("ordering")
    found = selectors.search_conversations(conversations, text, by_rank=by_rank)
    return found.conversations, found


def _either_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" for c in word)


_STATUS = "(" + "|".join(Status.values) + ")"
_SP = "[ \\t\\n\\r\\f\\v]*"  # SPACE in a pattern (a pattern's \s means more in JavaScript)
_PRIORITY = "(" + "|".join(Priority.values) + ")"
_ORDER = "-?(last_activity_at|waiting_since|created_at|id)"
# What the filter methods above accept, for the schema (they refuse the rest with 400).
LIST_FILTER_SCHEMAS = [
    OpenApiParameter(
        "status",
        {"type": "string", "pattern": rf"^{_SP}{_STATUS}?{_SP}(,{_SP}{_STATUS}?{_SP})*$"},
        description=gettext_lazy("A status, or several separated by commas."),
    ),
    OpenApiParameter(
        "priority",
        {"type": "string", "pattern": rf"^{_SP}{_PRIORITY}?{_SP}(,{_SP}{_PRIORITY}?{_SP})*$"},
        description=gettext_lazy("A priority, or several separated by commas."),
    ),
    OpenApiParameter(
        "assignee",
        {
            "type": "string",
            "pattern": rf"^{_SP}({_either_case('me')}|{_either_case('none')}|[0-9]{{1,18}})?{_SP}$",
        },
        description=gettext_lazy("An agent id, “me” or “none”."),
    ),
    # Django's form fields behind the text filters refuse NUL.
    *(
        OpenApiParameter(
            name,
            {"type": "string", "pattern": NO_NUL, **limit},
            description=ConversationFilter.base_filters[name].extra.get("help_text", ""),
        )
        for name, limit in [
            ("q", {"maxLength": search.MAX_QUERY_LENGTH}),
            ("label", {}),
            ("channel", {}),
        ]
    ),
    OpenApiParameter(
        "customer", ID_SCHEMA, description=gettext_lazy("One customer's conversations (an id).")
    ),
    # One string, as it is sent (an array's empty value and [""] read the same in a query).
    OpenApiParameter(
        "ordering",
        {"type": "string", "pattern": rf"^({_ORDER}(,{_ORDER})*)?$"},
        description=ConversationFilter.base_filters["ordering"].extra.get("help_text", ""),
    ),
    OpenApiParameter(
        "attribute",
        {
            "type": "string",
            "maxLength": 300,
            # Empty: no filter; a name alone: any value.
            "pattern": rf"^{_SP}({visitor_context.ATTRIBUTE_NAME[1:-1]}({_SP}|:[^\u0000]*))?$",
        },
        description=ConversationFilter.base_filters["attribute"].extra.get("help_text", ""),
    ),
    OpenApiParameter(
        "view",
        ID_SCHEMA,
        description=gettext_lazy(
            "A saved view's id: its filters apply (a filter also given in the query replaces "
            "the view's). One the agent may not read answers 404."
        ),
    ),
    OpenApiParameter(
        "mentioned",
        {"type": "string", "pattern": rf"^{_SP}({_either_case('me')})?{_SP}$"},
        description=gettext_lazy("“me”: conversations with a private note that mentions you."),
    ),
    OpenApiParameter(
        "callback",
        # Empty: no filter, as for every other one.
        {
            "type": "string",
            "pattern": rf"^{_SP}({_either_case('true')}|{_either_case('false')})?{_SP}$",
        },
        description=gettext_lazy("“true”: only those flagged call back by phone; “false”: others."),
    ),
]


class ConversationPagination(StrictPageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100
    django_paginator_class = CappedCountPaginator

    def get_page_size(self, request: Request) -> int:
        """As asked, at most max_page_size; a page size that is not a whole number from 1 is
        refused (DRF would quietly use the default)."""
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        size = parse_id(value)
        if size is None or size < 1:
            raise ValidationError({"page_size": [_("A whole number from 1.")]})
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1  # 0 or past the end: 404
        return parameters

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
@extend_schema_view(
    get=extend_schema(
        parameters=LIST_FILTER_SCHEMAS,
        responses={200: ConversationOutput(many=True), **error_responses(404)},
    )
)
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
        params = self.filters_asked(request)
        conversations, found = filter_conversations(request, self.get_queryset(), params)
        page = self.paginate_queryset(conversations)
        results = self.get_serializer(page, many=True).data
        if found is not None:
            matches = found.search_fields(page)
            for result in results:
                result["search"] = matches[result["id"]]
        return self.get_paginated_response(results)

    def filters_asked(self, request: Request) -> Mapping[str, Any]:
        """The query's filters; with `view`, the saved view's, each overridden by the same
        filter in the query."""
        view_ref = request.query_params.get("view")
        if view_ref is None:
            return request.query_params
        pk = parse_id(view_ref.strip(SPACE))
        if pk is None:
            raise ValidationError({"view": [_("A saved view's id (a whole number).")]})
        view = get_or_404(selectors.saved_views_readable_by(request.user), pk)
        asked = {
            name: request.query_params[name]
            for name in VIEW_FILTERS
            if name in request.query_params
        }
        return {**view.filters, **asked}


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
        detail = ConversationDetailOutput(self.with_messages(pk), context=self.reader_context())
        return Response(detail.data)

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
        """Resolve every reference first (a bad one changes nothing), then change it."""
        changes = {
            name: data[name]
            for name in ("priority", "labels", "status", "snoozed_until", "callback_phone")
            if name in data
        }
        if "team" in data:
            changes["team"] = team_by_ref(data["team"])
        if "assignee" in data:
            changes["assignee"] = agent_user_by_ref(data["assignee"])
        services.conversation_change(
            conversation=conversation, by=self.request.user, force=data["force"], **changes
        )


class ConversationTransferView(AgentView):
    @extend_schema(
        request=TransferInput,
        responses={200: ConversationOutput, **error_responses(400, 401, 403, 404, 409)},
        tags=["agents"],
    )
    def post(self, request: Request, pk: int) -> Response:
        """Transfer to a team and/or a colleague with a private note (docs/assignment.md)."""
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
    parser_classes = MESSAGE_PARSERS

    @extend_schema(
        responses={
            200: inline_serializer("ConversationMessages", {"results": MessageOutput(many=True)}),
            **error_responses(401, 403, 404),
        },
        tags=["agents"],
    )
    def get(self, request: Request, pk: int) -> Response:
        conversation = self.with_messages(pk)
        messages = MessageOutput(
            conversation.messages.all(), many=True, context=self.reader_context()
        )
        return Response({"results": messages.data})

    @extend_schema(
        request=message_request(AgentMessageInput, AgentMessageUpload),
        responses={
            201: MessageOutput,
            200: OpenApiResponse(MessageOutput, gettext_lazy("The same client_id again.")),
            **error_responses(400, 401, 403, 404, 409, 413, 415),
        },
        tags=["agents"],
    )
    def post(self, request: Request, pk: int) -> Response:
        """Post a reply or a private note: JSON, or multipart/form-data with `files`
        (docs/attachments.md)."""
        data, files = message_input(request, AgentMessageInput, AgentMessageUpload)
        message, created = post_message(
            self.changeable_conversations(),
            pk,
            author=services.Author.of_agent(request.user),
            body=data["body"],
            client_id=data["client_id"],
            private=data["private"],
            files=files,
        )
        output = MessageOutput(message, context=self.reader_context())
        return Response(output.data, status=created_status(created))


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
        data = validated(ReadInput, request.data)  # no body: {} (a JSON [] is refused)
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
