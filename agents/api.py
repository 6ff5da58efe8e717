"""The agents' REST API (shared/API.md): the agent's own profile, canned responses, and the
widget's availability question (mounted under /api/v1/widget/, answered from agents' data)."""

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations.api.base import (
    AgentView,
    error_responses,
    get_or_404,
    team_by_ref,
    validated,
)
from conversations.api.schema import ID as ID_SCHEMA
from conversations.errors import InvalidInput
from conversations.ids import parse_id
from conversations.models import BotMode
from conversations.people import avatar, display_name, public_name, user_name
from conversations.selectors import agents_who_may_read
from conversations.serializers import (
    AvatarOutput,
    StrictCharField,
    StrictSlugField,
    TeamRefOutput,
)
from conversations.services import public_profile_save
from conversations.throttling import RateLimitedMixin, WidgetAvailabilityThrottle

from . import selectors
from .alerts import ALERT_FIELDS, alert_settings_of, alert_settings_save
from .canned import canned_response_create, render_canned
from .models import Agent, AlertSettings, CannedResponse, Presence
from .services import agent_for, agent_set_presence

# --- The widget asks: can someone answer now? ------------------------------------------------


class AvailabilityOutput(serializers.Serializer):
    agents_online = serializers.IntegerField()
    can_chat_live = serializers.BooleanField()
    estimated_wait_seconds = serializers.IntegerField(
        allow_null=True,
        help_text=gettext_lazy(
            "While nobody can chat live but someone is online: about how long a new "
            "conversation waits. Null without enough recent history, or when it would be "
            "over two hours."
        ),
    )
    typical_reply_seconds = serializers.IntegerField(
        allow_null=True,
        help_text=gettext_lazy(
            "How long the team's customers waited for a first reply lately (the median of "
            "the last 14 days); null with fewer than three answered conversations."
        ),
    )
    open_now = serializers.BooleanField(
        help_text=gettext_lazy("Whether the team is within its business hours now.")
    )
    opens_at = serializers.DateTimeField(
        allow_null=True,
        help_text=gettext_lazy("When a closed team opens again; null while it is open."),
    )


class WidgetAvailabilityView(RateLimitedMixin, APIView):
    """Public (no token needed: the widget asks before a session exists), rate limited."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [WidgetAvailabilityThrottle]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "team", OpenApiTypes.STR, description=gettext_lazy("A team name; else the default.")
            )
        ],
        responses={200: AvailabilityOutput, **error_responses(400, 429)},
        auth=[],
        tags=["widget"],
    )
    def get(self, request: Request) -> Response:
        name = request.query_params.get("team", "").strip()
        team = selectors.team_by_name(name) if "\x00" not in name else None
        if name and team is None:
            message = _("No team “%(team)s”.") % {"team": name[:100]}
            raise InvalidInput(message, fields={"team": message})
        return Response(AvailabilityOutput(selectors.availability(team)).data)


# --- The agent's own profile -----------------------------------------------------------------


class AgentOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.SerializerMethodField(
        help_text=gettext_lazy("As colleagues see the agent (the email when nameless).")
    )
    display_name = serializers.SerializerMethodField(
        help_text=gettext_lazy("The name the agent chose to show customers, or empty.")
    )
    public_name = serializers.SerializerMethodField(
        help_text=gettext_lazy("What customers see: never the email address.")
    )
    avatar = serializers.SerializerMethodField()
    email = serializers.EmailField(source="user.email")
    teams = TeamRefOutput(many=True, source="teams.all")
    presence = serializers.CharField()
    capacity = serializers.IntegerField()
    open_assigned = serializers.SerializerMethodField()

    def get_name(self, agent: Agent) -> str:
        return user_name(agent.user)

    def get_display_name(self, agent: Agent) -> str:
        return display_name(agent.user)

    def get_public_name(self, agent: Agent) -> str:
        return public_name(agent.user)

    @extend_schema_field(AvatarOutput)
    def get_avatar(self, agent: Agent) -> dict[str, str]:
        return avatar(agent.user)

    def get_open_assigned(self, agent: Agent) -> int:
        return selectors.open_assigned_count(agent.user)


class AgentMeInput(serializers.Serializer):
    presence = serializers.ChoiceField(choices=Presence.choices, required=False)
    display_name = StrictCharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        checked_by_service=True,
        max_length_hint=lambda: 80,
        help_text=gettext_lazy(
            "The name customers see; empty: the first and last name, else “Support agent”."
        ),
    )


@extend_schema(tags=["agents"])
class AgentMeView(AgentView):
    def agent(self) -> Agent:
        return agent_for(self.request.user)

    @extend_schema(responses={200: AgentOutput, **error_responses(401, 403)})
    def get(self, request: Request) -> Response:
        return Response(AgentOutput(self.agent()).data)

    @extend_schema(
        request=AgentMeInput, responses={200: AgentOutput, **error_responses(400, 401, 403)}
    )
    def patch(self, request: Request) -> Response:
        data = validated(AgentMeInput, request.data)
        agent = self.agent()
        if "display_name" in data:
            public_profile_save(user=agent.user, display_name=data["display_name"])
        if "presence" in data:
            agent = agent_set_presence(agent=agent, presence=data["presence"])
        return Response(AgentOutput(agent).data)


# --- Who and where to hand a conversation to (the workspace's assign lists) -------------------


class AgentListOutput(AgentOutput):
    def get_open_assigned(self, agent: Agent) -> int:
        return agent.open_assigned  # annotated by selectors.agents_with_load: no query per agent


class TeamOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    is_default = serializers.BooleanField()
    member = serializers.BooleanField(help_text=gettext_lazy("Whether you are in this team."))
    bot = serializers.ChoiceField(
        choices=BotMode.choices,
        help_text=gettext_lazy(
            "When the bot answers new conversations first: off, when no agent can take "
            "the chat, or always (docs/bot.md)."
        ),
    )


class TeamInput(serializers.Serializer):
    bot = serializers.ChoiceField(choices=BotMode.choices)


@extend_schema(tags=["agents"])
class AgentListView(AgentView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "conversation",
                ID_SCHEMA,
                description=gettext_lazy(
                    "Only the agents who may read this conversation (whom a private note "
                    "can mention)."
                ),
            )
        ],
        responses={
            200: inline_serializer("Agents", {"results": AgentListOutput(many=True)}),
            **error_responses(400, 401, 403, 404),
        },
    )
    def get(self, request: Request) -> Response:
        """Every active agent, by name, with presence and load (to pick an assignee)."""
        readers = None
        value = request.query_params.get("conversation", "").strip()
        if value:
            pk = parse_id(value)
            if pk is None:
                raise ValidationError({"conversation": [_("A conversation id (a whole number).")]})
            readers = agents_who_may_read(self.get_conversation(pk))  # 404 unless visible
        agents = selectors.active_agents(among=readers)
        return Response({"results": AgentListOutput(agents, many=True).data})


# --- Alerts: what the workspace alerts the agent about (agents/alerts.py) ---------------------


class AlertSettingsOutput(serializers.ModelSerializer):
    class Meta:
        model = AlertSettings
        fields = list(ALERT_FIELDS)


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false only: 0, 1 and "true" are refused, as the schema's boolean says."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


def alert_field(help_text: str) -> serializers.BooleanField:
    return StrictBooleanField(required=False, help_text=help_text)


class AlertSettingsInput(serializers.Serializer):
    sound = alert_field(gettext_lazy("A short sound on each alert."))
    desktop = alert_field(
        gettext_lazy(
            "Desktop notifications while the workspace is in the background (the browser "
            "asks for permission when the agent enables them)."
        )
    )
    new_conversations = alert_field(gettext_lazy("Alert on new conversations in my teams."))
    replies = alert_field(gettext_lazy("Alert on customer replies in my conversations."))
    mentions = alert_field(gettext_lazy("Alert when a colleague mentions me in a note."))
    mention_emails = alert_field(gettext_lazy("Email me mentions while I am offline."))


@extend_schema(tags=["agents"])
class AgentAlertsView(AgentView):
    @extend_schema(responses={200: AlertSettingsOutput, **error_responses(401, 403)})
    def get(self, request: Request) -> Response:
        """The agent's alert settings (docs/workspace.md "Alerts")."""
        return Response(AlertSettingsOutput(alert_settings_of(agent_for(request.user))).data)

    @extend_schema(
        request=AlertSettingsInput,
        responses={200: AlertSettingsOutput, **error_responses(400, 401, 403)},
    )
    def patch(self, request: Request) -> Response:
        """Change the settings given; the others stay."""
        data = validated(AlertSettingsInput, request.data)
        settings = alert_settings_save(agent=agent_for(request.user), **data)
        return Response(AlertSettingsOutput(settings).data)


@extend_schema(tags=["agents"])
class TeamListView(AgentView):
    @extend_schema(
        responses={
            200: inline_serializer("Teams", {"results": TeamOutput(many=True)}),
            **error_responses(401, 403),
        }
    )
    def get(self, request: Request) -> Response:
        """Every team, by name; `member` says which ones are yours."""
        teams = selectors.teams_for(request.user)
        return Response({"results": TeamOutput(teams, many=True).data})


@extend_schema(tags=["agents"])
class TeamDetailView(AgentView):
    @extend_schema(
        request=TeamInput,
        responses={200: TeamOutput, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request: Request, pk: int) -> Response:
        """Admins only: the team's bot mode."""
        if not request.user.is_superuser:
            raise PermissionDenied(_("Only admins can change a team."))
        team = get_or_404(selectors.teams_for(request.user), pk)
        data = validated(TeamInput, request.data)
        team.bot = data["bot"]
        team.save(update_fields=["bot"])
        return Response(TeamOutput(get_or_404(selectors.teams_for(request.user), pk)).data)


# --- Canned responses ------------------------------------------------------------------------


class CannedResponseOutput(serializers.ModelSerializer):
    team = TeamRefOutput(allow_null=True)

    class Meta:
        model = CannedResponse
        fields = ["id", "shortcut", "body", "team", "created_at"]


class RenderedCannedResponseOutput(CannedResponseOutput):
    rendered = serializers.CharField(
        required=False,  # only with ?conversation=
        help_text=gettext_lazy("The body with its placeholders filled for the conversation."),
    )

    class Meta(CannedResponseOutput.Meta):
        fields = [*CannedResponseOutput.Meta.fields, "rendered"]


class CannedResponseInput(serializers.Serializer):
    shortcut = StrictSlugField(max_length=50)
    body = StrictCharField(max_length=10_000, trim_whitespace=False, needs_text=True)
    team = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=100)


def conversation_param() -> OpenApiParameter:
    return OpenApiParameter(
        "conversation",
        ID_SCHEMA,
        description=gettext_lazy("Fill the placeholders for this conversation."),
    )


class CannedResponseView(AgentView):
    """What both canned-response endpoints share: the conversation to fill placeholders for."""

    def conversation_from_query(self, request: Request, *, required: bool) -> Any:
        value = request.query_params.get("conversation", "").strip()
        if not value and not required:
            return None
        pk = parse_id(value)
        if pk is None:
            raise ValidationError({"conversation": [_("A conversation id (a whole number).")]})
        return self.get_conversation(pk)  # 404 unless the agent may see it

    def render(self, response: CannedResponse, conversation: Any) -> str:
        return render_canned(response.body, conversation=conversation, agent_user=self.request.user)


class CannedResponsesView(CannedResponseView):
    @extend_schema(
        parameters=[conversation_param()],
        responses={
            200: inline_serializer(
                "CannedResponses", {"results": RenderedCannedResponseOutput(many=True)}
            ),
            **error_responses(404),
        },
        tags=["agents"],
    )
    def get(self, request: Request) -> Response:
        """Canned responses; with ?conversation=<id> each also has `rendered`."""
        responses = list(selectors.canned_responses_for(request.user))
        conversation = self.conversation_from_query(request, required=False)
        if conversation is not None:
            for response in responses:
                response.rendered = self.render(response, conversation)
            return Response({"results": RenderedCannedResponseOutput(responses, many=True).data})
        return Response({"results": CannedResponseOutput(responses, many=True).data})

    @extend_schema(
        request=CannedResponseInput,
        responses={201: CannedResponseOutput, **error_responses(400, 401, 403)},
        tags=["agents"],
    )
    def post(self, request: Request) -> Response:
        data = validated(CannedResponseInput, request.data)
        team = team_by_ref(self.team_ref(data.get("team")))
        if team is not None and not self.may_use_team(team):
            message = _("You are not in this team.")
            raise InvalidInput(message, fields={"team": message})
        response = canned_response_create(shortcut=data["shortcut"], body=data["body"], team=team)
        return Response(CannedResponseOutput(response).data, status=status.HTTP_201_CREATED)

    @staticmethod
    def team_ref(value: str | None) -> int | str | None:
        value = (value or "").strip()
        pk = parse_id(value)
        return (value if pk is None else pk) or None

    def may_use_team(self, team: Any) -> bool:
        user = self.request.user
        return user.is_superuser or team.members.filter(pk=user.pk).exists()


class CannedResponseRenderView(CannedResponseView):
    @extend_schema(
        parameters=[conversation_param()],
        responses={200: RenderedCannedResponseOutput, **error_responses(400, 401, 403, 404)},
        tags=["agents"],
    )
    def get(self, request: Request, pk: int) -> Response:
        response = get_or_404(selectors.canned_responses_for(request.user), pk)
        conversation = self.conversation_from_query(request, required=True)
        response.rendered = self.render(response, conversation)
        return Response(RenderedCannedResponseOutput(response).data)
