"""What agents know about a customer: the context panel (pages, browser, local time, custom
attributes, notes) and the visitors on the site now, to whom an agent can reach out."""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from .. import selectors, services
from ..live.presence import customer_is_online
from ..models import Conversation, Customer, CustomerNote, PageView
from ..people import user_name
from ..serializers import ConversationOutput, StrictCharField, client_id_field, iso
from .base import (
    MAX_ID,
    AgentView,
    conversation_queryset,
    created_status,
    error_responses,
    get_or_404,
    team_by_ref,
    validated,
)


class PageviewOutput(serializers.Serializer):
    url = serializers.CharField()
    title = serializers.CharField()
    at = serializers.DateTimeField()


class NoteAuthorOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CustomerNoteOutput(serializers.Serializer):
    id = serializers.IntegerField()
    body = serializers.CharField()
    author = NoteAuthorOutput(allow_null=True)
    created_at = serializers.DateTimeField()
    mine = serializers.BooleanField(help_text=gettext_lazy("Written by the agent asking."))


class VisitorOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.CharField()
    language = serializers.CharField()
    browser = serializers.CharField()
    time_zone = serializers.CharField()
    online = serializers.BooleanField()
    current_page = PageviewOutput(allow_null=True)


class CustomerContextOutput(VisitorOutput):
    identifier = serializers.CharField(allow_null=True)
    external_id = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField(allow_null=True)
    attributes = serializers.DictField(
        help_text=gettext_lazy("Custom attributes sent by the embedding site (identify).")
    )
    pageviews = PageviewOutput(many=True, help_text=gettext_lazy("Newest first."))
    notes = CustomerNoteOutput(many=True, help_text=gettext_lazy("Newest first."))


class NoteInput(serializers.Serializer):
    body = StrictCharField(
        trim_whitespace=False, help_text=gettext_lazy("At most 2000 characters.")
    )


class VisitorConversationInput(serializers.Serializer):
    body = StrictCharField(
        trim_whitespace=False, help_text=gettext_lazy("The agent's first message.")
    )
    client_id = client_id_field()
    team = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=100)


def pageview_payload(pageview: PageView | None) -> dict[str, Any] | None:
    if pageview is None:
        return None
    return {"url": pageview.url, "title": pageview.title, "at": iso(pageview.at)}


def note_payload(note: CustomerNote, user: Any) -> dict[str, Any]:
    author = note.author
    return {
        "id": note.pk,
        "body": note.body,
        "author": {"id": author.pk, "name": user_name(author)} if author else None,
        "created_at": iso(note.created_at),
        "mine": note.author_id == user.pk,
    }


def visitor_payload(customer: Customer, pageviews: list[PageView], online: bool) -> dict[str, Any]:
    return {
        "id": customer.pk,
        "name": customer.name,
        "email": customer.email,
        "language": customer.language,
        "browser": customer.browser,
        "time_zone": customer.time_zone,
        "online": online,
        "current_page": pageview_payload(pageviews[0] if pageviews else None),
    }


class CustomerView(AgentView):
    def visible_customers(self) -> QuerySet[Customer]:
        return selectors.customers_visible_to_agent(self.request.user)

    def get_customer(self, pk: int) -> Customer:
        return get_or_404(self.visible_customers(), pk)


class CustomerDetailView(CustomerView):
    @extend_schema(
        responses={200: CustomerContextOutput, **error_responses(401, 403, 404)},
        operation_id="customers_retrieve",
        tags=["agents"],
    )
    def get(self, request: Request, pk: int) -> Response:
        customer = self.get_customer(pk)
        pageviews = selectors.recent_pageviews([customer])[customer.pk]
        notes = customer.notes.select_related("author")
        return Response(
            {
                **visitor_payload(customer, pageviews, customer_is_online(customer.pk)),
                "identifier": customer.identifier,
                "external_id": customer.external_id,
                "created_at": iso(customer.created_at),
                "last_seen_at": iso(customer.last_seen_at),
                "attributes": customer.attributes or {},
                "pageviews": [pageview_payload(pageview) for pageview in pageviews],
                "notes": [note_payload(note, request.user) for note in notes],
            }
        )


class CustomerNotesView(CustomerView):
    @extend_schema(
        responses={
            200: inline_serializer("CustomerNotes", {"results": CustomerNoteOutput(many=True)}),
            **error_responses(401, 403, 404),
        },
        operation_id="customer_notes_list",
        tags=["agents"],
    )
    def get(self, request: Request, pk: int) -> Response:
        notes = self.get_customer(pk).notes.select_related("author")
        return Response({"results": [note_payload(note, request.user) for note in notes]})

    @extend_schema(
        request=NoteInput,
        responses={201: CustomerNoteOutput, **error_responses(400, 401, 403, 404)},
        tags=["agents"],
    )
    def post(self, request: Request, pk: int) -> Response:
        customer = self.get_customer(pk)
        data = validated(NoteInput, request.data)
        note = services.customer_note_create(
            customer=customer, author=request.user, body=data["body"]
        )
        return Response(note_payload(note, request.user), status=status.HTTP_201_CREATED)


class CustomerNoteView(CustomerView):
    @extend_schema(
        responses={
            204: OpenApiResponse(description=gettext_lazy("Deleted.")),
            **error_responses(401, 403, 404, 409),
        },
        tags=["agents"],
    )
    def delete(self, request: Request, pk: int, note_pk: int) -> Response:
        customer = self.get_customer(pk)
        if note_pk > MAX_ID:
            raise Http404
        note = customer.notes.filter(pk=note_pk).first()
        if note is None:
            raise Http404
        services.customer_note_delete(note=note, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VisitorsView(CustomerView):
    @extend_schema(
        responses={
            200: inline_serializer("Visitors", {"results": VisitorOutput(many=True)}),
            **error_responses(401, 403),
        },
        operation_id="visitors_list",
        tags=["agents"],
    )
    def get(self, request: Request) -> Response:
        visitors = selectors.visitors_online(request.user)
        current = selectors.current_pageviews(visitors)
        results = [
            visitor_payload(visitor, [current[visitor.pk]] if visitor.pk in current else [], True)
            for visitor in visitors
        ]
        return Response({"results": results})


class VisitorConversationsView(CustomerView):
    @extend_schema(
        request=VisitorConversationInput,
        responses={
            201: ConversationOutput,
            200: OpenApiResponse(ConversationOutput, gettext_lazy("The same client_id again.")),
            **error_responses(400, 401, 403, 404, 409),
        },
        operation_id="visitor_conversations_create",
        tags=["agents"],
    )
    def post(self, request: Request, pk: int) -> Response:
        customer = self.get_customer(pk)
        data = validated(VisitorConversationInput, request.data)
        conversation, created = services.conversation_start_by_agent(
            customer=customer,
            agent=request.user,
            body=data["body"],
            client_id=data["client_id"],
            team=team_by_ref(data.get("team") or None),
        )
        conversation = conversation_queryset(Conversation.objects).get(pk=conversation.pk)
        return Response(ConversationOutput(conversation).data, status=created_status(created))
