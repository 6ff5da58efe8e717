"""Saved views of the inbox: /api/v1/views, each with the count of conversations it shows.

A view's filters are the inbox list's query parameters, checked and applied by the list's own
filter code (agent.apply_list_filters), so a view shows exactly what the list would with
that query; `GET /api/v1/conversations?view={id}` is that list.
"""

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from .. import selectors, services
from ..errors import HelpdeskError
from ..models import Conversation, SavedView
from ..pagination import capped_counts
from ..serializers import IdOrNameField, StrictCharField, TeamRefOutput
from .agent import LIST_FILTER_SCHEMAS, VIEW_FILTERS, apply_list_filters, filter_conversations
from .base import AgentView, error_responses, get_or_404, team_by_ref, validated
from .schema import NO_NUL

# What each filter takes, as the list's query parameters say (team: an id or a name).
FILTER_PROPERTIES = {
    parameter.name: parameter.type
    for parameter in LIST_FILTER_SCHEMAS
    if parameter.name in VIEW_FILTERS
}
FILTER_PROPERTIES["team"] = {"type": "string", "pattern": NO_NUL}


@extend_schema_field(
    {"type": "object", "properties": FILTER_PROPERTIES, "additionalProperties": False}
)
class ViewFiltersField(serializers.Field):
    """The list's filters by name, each a string as in a query; empty ones are dropped."""

    default_error_messages = {
        "not_an_object": _("An object of the list's filters by name."),
        "unknown": _("Unknown filter “{name}”."),
        "not_a_string": _("Each filter's value is a string, as in the list's query."),
    }

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if not isinstance(data, dict):
            self.fail("not_an_object")
        for name, value in data.items():
            if name not in VIEW_FILTERS:
                self.fail("unknown", name=name)
            if not isinstance(value, str):
                self.fail("not_a_string")
        return {name: value for name, value in data.items() if value.strip()}

    def to_representation(self, value: dict[str, str]) -> dict[str, str]:
        return value


class SavedViewInput(serializers.Serializer):
    name = StrictCharField(max_length=80, help_text=gettext_lazy("What the sidebar shows."))
    filters = ViewFiltersField(
        help_text=gettext_lazy(
            "The inbox list's filters: status, assignee (“me” is whoever reads the view), "
            "team, channel, label, priority, attribute, callback, q, ordering."
        )
    )
    team = IdOrNameField(
        required=False,
        allow_null=True,
        help_text=gettext_lazy(
            "Shared with this team's agents (a team id or name; its members and admins may "
            "create it); left out or null: the view is yours alone. Set when created."
        ),
    )
    position = serializers.IntegerField(
        required=False, min_value=0, max_value=10_000, help_text=gettext_lazy("Its place, from 0.")
    )


class SavedViewPatchInput(SavedViewInput):
    team = None  # a view stays personal or shared as it was created

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, partial=True, **kwargs)


class SavedViewOutput(serializers.ModelSerializer):
    filters = ViewFiltersField()
    team = TeamRefOutput(
        allow_null=True, help_text=gettext_lazy("Shared with this team; null: yours.")
    )
    shared = serializers.SerializerMethodField()
    can_change = serializers.SerializerMethodField()
    count = serializers.SerializerMethodField(
        help_text=gettext_lazy(
            "The conversations it shows that you may read: exact up to 1,000, an estimate "
            "beyond (count_exact: false); null when its filters no longer apply (a team deleted)."
        )
    )
    count_exact = serializers.SerializerMethodField()

    class Meta:
        model = SavedView
        fields = ["id", "name", "filters", "position", "team", "shared", "can_change"]
        fields += ["count", "count_exact"]

    def get_shared(self, view: SavedView) -> bool:
        return view.team_id is not None

    def get_can_change(self, view: SavedView) -> bool:
        user = self.context["request"].user
        return selectors.may_change_saved_view(user, view, self.context["their_teams"])

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_count(self, view: SavedView) -> int | None:
        return self.context["counts"][view.pk][0]

    def get_count_exact(self, view: SavedView) -> bool:
        return self.context["counts"][view.pk][1]


def view_counts(request: Request, views: list[SavedView]) -> dict[int, tuple[int | None, bool]]:
    """Each view's (count, exact) of the conversations it shows this agent, counted in one
    statement; (None, True) for a view whose filters no longer apply."""
    visible = selectors.conversations_visible_to_agent(request.user)
    shown = {}
    for view in views:
        try:
            shown[view.pk] = filter_conversations(request, visible, view.filters)[0]
        except (ValidationError, HelpdeskError):
            continue
    counts = dict(zip(shown, capped_counts(list(shown.values())), strict=True))
    return {view.pk: counts.get(view.pk, (None, True)) for view in views}


def check_filters(request: Request, filters: dict[str, str]) -> dict[str, str]:
    """The list's own check of its filters (400 naming the filter), without reading any."""
    apply_list_filters(request, Conversation.objects.none(), filters)
    return filters


class SavedViewsBase(AgentView):
    def output(self, views: SavedView | list[SavedView], *, many: bool = False) -> Any:
        """The view(s) with their counts for this agent (one capped count each)."""
        every = views if many else [views]
        counts = view_counts(self.request, every)
        their_teams = set(self.request.user.teams.values_list("pk", flat=True))
        context = {"request": self.request, "counts": counts, "their_teams": their_teams}
        return SavedViewOutput(views, many=many, context=context).data


@extend_schema(tags=["agents"])
class SavedViewListView(SavedViewsBase):
    @extend_schema(
        operation_id="views_list",
        responses={
            200: inline_serializer("SavedViews", {"results": SavedViewOutput(many=True)}),
            **error_responses(401, 403),
        },
    )
    def get(self, request: Request) -> Response:
        """Your views and your teams' shared views, in order, each with its count."""
        views = list(selectors.saved_views_for_agent(request.user))
        return Response({"results": self.output(views, many=True)})

    @extend_schema(
        request=SavedViewInput,
        responses={201: SavedViewOutput, **error_responses(400, 401, 403, 409)},
    )
    def post(self, request: Request) -> Response:
        """Save filters as a view: yours, or with `team` shared with the team."""
        data = validated(SavedViewInput, request.data)
        view = services.saved_view_create(
            by=request.user,
            name=data["name"],
            filters=check_filters(request, data["filters"]),
            team=team_by_ref(data.get("team")),
            position=data.get("position"),
        )
        return Response(self.output(view), status.HTTP_201_CREATED)


@extend_schema(tags=["agents"])
class SavedViewDetailView(SavedViewsBase):
    def get_view(self, pk: int) -> SavedView:
        return get_or_404(selectors.saved_views_readable_by(self.request.user), pk)

    @extend_schema(responses={200: SavedViewOutput, **error_responses(401, 403, 404)})
    def get(self, request: Request, pk: int) -> Response:
        return Response(self.output(self.get_view(pk)))

    @extend_schema(
        request=SavedViewPatchInput,
        responses={200: SavedViewOutput, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request: Request, pk: int) -> Response:
        """Rename it, change its filters or its place (its owner; a shared one: its team's
        agents and admins)."""
        view = self.get_view(pk)
        changes = validated(SavedViewPatchInput, request.data)
        if "filters" in changes:
            check_filters(request, changes["filters"])
        view = services.saved_view_update(view=view, by=request.user, **changes)
        return Response(self.output(view))

    @extend_schema(responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request: Request, pk: int) -> Response:
        services.saved_view_delete(view=self.get_view(pk), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
