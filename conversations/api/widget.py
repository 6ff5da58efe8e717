"""The customer's side: the widget's session, conversations, messages and rating."""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import get_language_from_request, gettext_lazy
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services, visitor_context
from ..authentication import (
    CustomerTokenAuthentication,
    IsWidgetCustomer,
    check_identity,
)
from ..files.links import customer_reader
from ..ids import parse_id
from ..models import Channel, Conversation, Customer, Message
from ..people import authors_with_profiles
from ..seams import campaign_invitations
from ..serializers import (
    ConversationStartInput,
    CustomerConversationOutput,
    CustomerMessageInput,
    MessageOutput,
    NpsInput,
    NpsOutput,
    NpsStateOutput,
    PageviewInput,
    RatingInput,
    RatingOutput,
    SessionInput,
    SessionOutput,
    iso,
)
from ..throttling import (
    RateLimitedMixin,
    WidgetConversationsThrottle,
    WidgetCustomerThrottle,
    WidgetMessagesThrottle,
    WidgetPageviewsThrottle,
    WidgetSessionsThrottle,
)
from .base import (
    MAX_ID,
    conversation_queryset,
    created_status,
    error_responses,
    get_or_404,
    team_by_ref,
    validated,
)
from .files import (
    MESSAGE_PARSERS,
    ConversationStartUpload,
    CustomerMessageUpload,
    message_input,
    message_request,
)
from .schema import ID as ID_SCHEMA

WIDGET_MESSAGES_LIMIT = 500


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
        if "attributes" in data:  # refused before anyone is created
            visitor_context.check_attributes(data["attributes"])
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
        if "attributes" in data:
            customer = services.customer_set_attributes(
                customer=customer, attributes=data["attributes"]
            )
        if "HTTP_ACCEPT_LANGUAGE" in request.META:  # the widget says which language it speaks
            language = get_language_from_request(request)
            customer = services.customer_update_profile(customer=customer, language=language)
        body = {"customer_token": customer.token, "customer": customer}
        return Response(SessionOutput(body).data, status=status.HTTP_201_CREATED)


class WidgetView(RateLimitedMixin, APIView):
    """A call of an authenticated widget customer, who sees only their own conversations."""

    authentication_classes = [CustomerTokenAuthentication]
    permission_classes = [IsWidgetCustomer]
    throttle_classes = [WidgetCustomerThrottle]

    @property
    def customer(self) -> Customer:
        return self.request.user.customer

    def get_conversation(self, pk: int) -> Conversation:
        own = conversation_queryset(selectors.customer_conversations(self.customer))
        return get_or_404(own, pk)

    def changeable_conversations(self) -> QuerySet[Conversation]:
        return selectors.customer_conversations(self.customer)

    def reader_context(self) -> dict[str, Any]:
        """Serializer context: files' links are signed for this customer (files/links.py)."""
        return {"reader": customer_reader(self.customer.pk)}


class WidgetConversationsView(WidgetView):
    post_throttle_classes = (WidgetConversationsThrottle,)
    parser_classes = MESSAGE_PARSERS

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
        request=message_request(ConversationStartInput, ConversationStartUpload),
        responses={
            201: CustomerConversationOutput,
            200: OpenApiResponse(
                CustomerConversationOutput, gettext_lazy("The same client_id again.")
            ),
            **error_responses(400, 401, 413, 415, 429),
        },
        tags=["widget"],
    )
    def post(self, request: Request) -> Response:
        """Start a conversation: JSON, or multipart/form-data with `files` as well."""
        data, files = message_input(request, ConversationStartInput, ConversationStartUpload)
        invitation = None
        if data.get("campaign") is not None:  # its team, not the widget's
            invitation = campaign_invitations()(campaign=data["campaign"])
        team = None if invitation else team_by_ref(data.get("team") or None)
        conversation, created = services.conversation_start(
            customer=self.customer,
            body=data["body"],
            client_id=data["client_id"],
            channel=Channel.WEB,
            team=team,
            files=files,
            invitation=invitation,
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
    parser_classes = MESSAGE_PARSERS

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "after",
                ID_SCHEMA,
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
            selectors.public_messages(conversation, after=after).prefetch_related(
                authors_with_profiles(), "attachments"
            )[: WIDGET_MESSAGES_LIMIT + 1]
        )
        has_more = len(messages) > WIDGET_MESSAGES_LIMIT
        messages = messages[:WIDGET_MESSAGES_LIMIT]
        results = MessageOutput(messages, many=True, context=self.reader_context()).data
        return Response({"results": results, "has_more": has_more})

    @staticmethod
    def after_param(request: Request) -> int | None:
        after = request.query_params.get("after")
        if after in (None, ""):
            return None
        pk = parse_id(after)
        if pk is None:
            raise ValidationError({"after": [_("A message id (a whole number).")]})
        return pk

    @extend_schema(
        request=message_request(CustomerMessageInput, CustomerMessageUpload),
        responses={
            201: MessageOutput,
            200: OpenApiResponse(MessageOutput, gettext_lazy("The same client_id again.")),
            **error_responses(400, 401, 404, 413, 415, 429),
        },
        tags=["widget"],
    )
    def post(self, request: Request, pk: int) -> Response:
        """Post a message: JSON, or multipart/form-data with `files` (docs/attachments.md)."""
        data, files = message_input(request, CustomerMessageInput, CustomerMessageUpload)
        message, created = post_message(
            self.changeable_conversations(),
            pk,
            author=services.Author.customer(),
            body=data["body"],
            client_id=data["client_id"],
            files=files,
        )
        output = MessageOutput(message, context=self.reader_context())
        return Response(output.data, status=created_status(created))


class WidgetHandoffView(WidgetView):
    @extend_schema(
        request=None,
        responses={200: CustomerConversationOutput, **error_responses(401, 404, 409)},
        operation_id="widget_conversation_handoff",
        tags=["widget"],
    )
    def post(self, request: Request, pk: int) -> Response:
        """ "Talk to a person": the conversation goes from the bot to its team's queue, routed
        like a new one. 409 `no_bot` when no bot is answering it (docs/bot.md)."""
        conversation = self.get_conversation(pk)
        services.conversation_hand_over(
            conversation=conversation, within=self.changeable_conversations()
        )
        return Response(CustomerConversationOutput(self.get_conversation(pk)).data)


class WidgetAnsweredView(WidgetView):
    @extend_schema(
        request=None,
        responses={200: CustomerConversationOutput, **error_responses(401, 404, 409)},
        operation_id="widget_conversation_answered",
        tags=["widget"],
    )
    def post(self, request: Request, pk: int) -> Response:
        """ "This answered my question" under the bot's answer: resolved without a person.
        409 `no_bot` when no bot is answering it (docs/bot.md)."""
        conversation = self.get_conversation(pk)
        services.conversation_answered_by_bot(
            conversation=conversation, within=self.changeable_conversations()
        )
        return Response(CustomerConversationOutput(self.get_conversation(pk)).data)


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


class WidgetNpsView(WidgetView):
    """The NPS question ("How likely are you to recommend us?"): whether to ask it, and the
    answer, at most once per HELPDESK_NPS_INTERVAL_DAYS."""

    @extend_schema(
        responses={200: NpsStateOutput, **error_responses(401)},
        operation_id="widget_nps_state",
        tags=["widget"],
    )
    def get(self, request: Request) -> Response:
        ask_again_at = selectors.nps_asked_again_at(self.customer)
        if ask_again_at is not None and ask_again_at <= timezone.now():
            ask_again_at = None
        body = {"ask": ask_again_at is None, "ask_again_at": ask_again_at}
        return Response(NpsStateOutput(body).data)

    @extend_schema(
        request=NpsInput,
        responses={201: NpsOutput, **error_responses(400, 401, 404, 409)},
        operation_id="widget_nps_answer",
        tags=["widget"],
    )
    def post(self, request: Request) -> Response:
        data = validated(NpsInput, request.data)
        conversation = None
        if data.get("conversation") is not None:
            conversation = Conversation(pk=data["conversation"])
        try:
            response = services.customer_answer_nps(
                customer=self.customer,
                score=data["score"],
                comment=data.get("comment", ""),
                conversation=conversation,
            )
        except Conversation.DoesNotExist as error:  # not one of theirs: as if it did not exist
            raise Http404 from error
        return Response(NpsOutput(response).data, status=status.HTTP_201_CREATED)


class WidgetPageviewsView(WidgetView):
    """A page the customer opened (on load, and on each route of a single-page shop)."""

    post_throttle_classes = (WidgetPageviewsThrottle,)

    @extend_schema(
        request=PageviewInput,
        responses={
            201: inline_serializer(
                "WidgetPageview",
                {
                    "url": serializers.CharField(),
                    "title": serializers.CharField(),
                    "at": serializers.DateTimeField(),
                },
            ),
            **error_responses(400, 401, 429),
        },
        tags=["widget"],
    )
    def post(self, request: Request) -> Response:
        data = validated(PageviewInput, request.data)
        pageview = services.pageview_record(
            customer=self.customer,
            url=data["url"],
            title=data.get("title", ""),
            referrer=data.get("referrer", ""),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            time_zone=data.get("time_zone", ""),
        )
        body = {"url": pageview.url, "title": pageview.title, "at": iso(pageview.at)}
        return Response(body, status=status.HTTP_201_CREATED)
