"""The macros' REST API: listing, writing and applying them (docs/api.md, "Macros").

Thin: references are resolved here, the rules are agents.macros' and the core services'.
"""

from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from conversations.api.base import (
    AgentView,
    agent_user_by_ref,
    conversation_queryset,
    error_responses,
    get_or_404,
    team_by_ref,
    validated,
)
from conversations.errors import InvalidInput
from conversations.ids import parse_id
from conversations.models import Conversation, Priority, Status
from conversations.people import user_name
from conversations.serializers import (
    ConversationOutput,
    IdOrNameField,
    MessageOutput,
    PersonRefOutput,
    StrictCharField,
    StrictSlugField,
    TeamRefOutput,
)

from . import selectors
from .api import conversation_param
from .canned import render_canned
from .macros import macro_apply, macro_delete, macro_save
from .models import MAX_SNOOZE_MINUTES, Macro, MacroAssign

SCOPES = ["personal", "team", "global"]


def person_ref(user: Any) -> dict[str, Any] | None:
    """An agent as colleagues see them: {"id", "name"}."""
    return {"id": user.pk, "name": user_name(user)} if user else None


class MacroOutput(serializers.ModelSerializer):
    scope = serializers.ChoiceField(
        choices=SCOPES,
        help_text=gettext_lazy(
            "Who may use it: its owner (personal), the members of `team`, or every agent."
        ),
    )
    owner = serializers.SerializerMethodField()
    team = TeamRefOutput(allow_null=True, help_text=gettext_lazy("Shared with this team."))
    status = serializers.ChoiceField(choices=Status.choices, allow_null=True)
    priority = serializers.ChoiceField(choices=Priority.choices, allow_null=True)
    add_labels = serializers.ListField(child=serializers.CharField())
    remove_labels = serializers.ListField(child=serializers.CharField())
    move_to_team = TeamRefOutput(allow_null=True)
    assign = serializers.ChoiceField(
        choices=MacroAssign.choices,
        allow_null=True,
        help_text=gettext_lazy("me, nobody, or agent (`assign_to`); null leaves the assignee."),
    )
    assign_to = serializers.SerializerMethodField()
    editable = serializers.SerializerMethodField(
        help_text=gettext_lazy("Whether you may change or delete it.")
    )
    rendered = serializers.CharField(
        required=False,  # only with ?conversation=
        help_text=gettext_lazy("The reply with its placeholders filled for the conversation."),
    )

    class Meta:
        model = Macro
        fields = [
            "id",
            "name",
            "scope",
            "owner",
            "team",
            "body",
            "private",
            "status",
            "snooze_minutes",
            "add_labels",
            "remove_labels",
            "move_to_team",
            "priority",
            "assign",
            "assign_to",
            "editable",
            "created_at",
            "rendered",
        ]

    def to_representation(self, macro: Macro) -> dict[str, Any]:
        data = super().to_representation(macro)
        for name in ("status", "priority", "assign"):
            data[name] = data[name] or None  # "" in the model: the action is not set
        return data

    @extend_schema_field(PersonRefOutput(allow_null=True))
    def get_owner(self, macro: Macro) -> dict[str, Any] | None:
        return person_ref(macro.owner)

    @extend_schema_field(PersonRefOutput(allow_null=True))
    def get_assign_to(self, macro: Macro) -> dict[str, Any] | None:
        return person_ref(macro.assign_to)

    def get_editable(self, macro: Macro) -> bool:
        user = self.context["user"]
        if user.is_superuser:
            return macro.owner_id in (None, user.pk)
        return macro.owner_id == user.pk or macro.team_id is not None


class MacroInput(serializers.Serializer):
    name = StrictCharField(max_length=100, needs_text=True)
    scope = serializers.ChoiceField(
        choices=SCOPES,
        default="personal",
        help_text=gettext_lazy("personal (yours), team (give `team`) or global (admins)."),
    )
    team = IdOrNameField(
        required=False, allow_null=True, help_text=gettext_lazy("With scope team: a team.")
    )
    body = StrictCharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=10_000,
        help_text=gettext_lazy("The reply; placeholders as in canned responses. Empty: none."),
    )
    private = serializers.BooleanField(
        required=False, help_text=gettext_lazy("Post the reply as a private note.")
    )
    status = serializers.ChoiceField(
        choices=Status.choices, required=False, allow_null=True, allow_blank=True
    )
    snooze_minutes = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_SNOOZE_MINUTES,
        help_text=gettext_lazy("With status snoozed (and only then): for how long."),
    )
    add_labels = serializers.ListField(
        child=StrictSlugField(max_length=50, allow_unicode=True), required=False, max_length=50
    )
    remove_labels = serializers.ListField(
        child=StrictSlugField(max_length=50, allow_unicode=True), required=False, max_length=50
    )
    move_to_team = IdOrNameField(
        required=False, allow_null=True, help_text=gettext_lazy("A team id or name, or null.")
    )
    priority = serializers.ChoiceField(
        choices=Priority.choices, required=False, allow_null=True, allow_blank=True
    )
    assign = serializers.ChoiceField(
        choices=MacroAssign.choices, required=False, allow_null=True, allow_blank=True
    )
    assign_to = IdOrNameField(
        required=False,
        allow_null=True,
        help_text=gettext_lazy("With assign agent: an agent id or email."),
    )


class MacroApplyInput(serializers.Serializer):
    client_id = StrictCharField(
        required=False,
        trim_whitespace=False,
        needs_text=True,
        max_length=100,
        help_text=gettext_lazy(
            "Optional: the same client_id again posts the reply only once (a retried request)."
        ),
    )


class MacroApplyOutput(serializers.Serializer):
    conversation = ConversationOutput()
    message = MessageOutput(
        allow_null=True, help_text=gettext_lazy("The reply the macro posted; null without one.")
    )


def model_fields(data: dict[str, Any], user: Any, scope: str = "personal") -> dict[str, Any]:
    """The model's values for the validated input: references resolved, empty actions "".
    `scope`: the macro's scope when the input does not change it."""
    fields: dict[str, Any] = {}
    for name in ("name", "body", "private", "snooze_minutes", "add_labels", "remove_labels"):
        if name in data:
            fields[name] = data[name]
    for name in ("status", "priority", "assign"):
        if name in data:
            fields[name] = data[name] or ""
    if "move_to_team" in data:
        fields["move_to_team"] = team_by_ref(data["move_to_team"], field="move_to_team")
    if "assign_to" in data:
        try:
            fields["assign_to"] = agent_user_by_ref(data["assign_to"])
        except InvalidInput as error:
            raise InvalidInput(error.message, fields={"assign_to": error.message}) from error
    if "scope" in data or "team" in data:
        fields |= scope_fields(data.get("scope", scope), data.get("team"), user)
    return fields


def scope_fields(scope: str, team_ref: Any, user: Any) -> dict[str, Any]:
    if scope == "team":
        if team_ref is None:
            message = _("Give the team to share it with.")
            raise InvalidInput(message, fields={"team": message})
        return {"owner": None, "team": team_by_ref(team_ref)}
    if team_ref is not None:
        message = _("Only a macro shared with a team has a team.")
        raise InvalidInput(message, fields={"team": message})
    return {"owner": user if scope == "personal" else None, "team": None}


class MacrosView(AgentView):
    @extend_schema(
        parameters=[conversation_param()],
        responses={
            200: inline_serializer("Macros", {"results": MacroOutput(many=True)}),
            **error_responses(400, 401, 403, 404),
        },
        tags=["agents"],
        operation_id="v1_macros_list",
    )
    def get(self, request: Request) -> Response:
        """The macros you may apply, by name; with ?conversation=<id> each also has
        `rendered`, its reply filled for that conversation."""
        macros = list(selectors.macros_for(request.user))
        value = request.query_params.get("conversation", "").strip()
        if value:
            conversation = self.conversation_for_preview(value)
            for macro in macros:
                macro.rendered = render_canned(
                    macro.body, conversation=conversation, agent_user=request.user
                )
        context = {"user": request.user}
        return Response({"results": MacroOutput(macros, many=True, context=context).data})

    def conversation_for_preview(self, value: str) -> Conversation:
        pk = parse_id(value)
        if pk is None:
            message = _("A conversation id (a whole number).")
            raise InvalidInput(message, fields={"conversation": message})
        return self.get_conversation(pk)  # 404 unless the agent may see it

    @extend_schema(
        request=MacroInput,
        responses={201: MacroOutput, **error_responses(400, 401, 403)},
        tags=["agents"],
    )
    def post(self, request: Request) -> Response:
        """A new macro: personal by default; shared with a team you are in; global (admins)."""
        data = validated(MacroInput, request.data)
        macro = macro_save(macro=Macro(), by=request.user, **model_fields(data, request.user))
        output = MacroOutput(macro, context={"user": request.user})
        return Response(output.data, status=status.HTTP_201_CREATED)


class MacroDetailView(AgentView):
    def macro(self, pk: int, *, to_change: bool = False) -> Macro:
        user = self.request.user
        macro = get_or_404(selectors.macros_for(user), pk)  # another's personal macro: 404
        if to_change and not selectors.macros_editable_by(user).filter(pk=pk).exists():
            raise PermissionDenied(_("Only admins change a macro shared with every agent."))
        return macro

    @extend_schema(responses={200: MacroOutput, **error_responses(401, 403, 404)}, tags=["agents"])
    def get(self, request: Request, pk: int) -> Response:
        return Response(MacroOutput(self.macro(pk), context={"user": request.user}).data)

    @extend_schema(
        request=MacroInput(partial=True),
        responses={200: MacroOutput, **error_responses(400, 401, 403, 404)},
        tags=["agents"],
    )
    def patch(self, request: Request, pk: int) -> Response:
        macro = self.macro(pk, to_change=True)
        if not isinstance(request.data, dict):
            raise InvalidInput(_("Send a JSON object."))
        serializer = MacroInput(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        fields = model_fields(serializer.validated_data, request.user, scope=macro.scope)
        macro = macro_save(macro=macro, by=request.user, **fields)
        return Response(MacroOutput(macro, context={"user": request.user}).data)

    @extend_schema(responses={204: None, **error_responses(401, 403, 404)}, tags=["agents"])
    def delete(self, request: Request, pk: int) -> Response:
        macro_delete(macro=self.macro(pk, to_change=True))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MacroApplyView(AgentView):
    @extend_schema(
        request=MacroApplyInput,
        responses={200: MacroApplyOutput, **error_responses(400, 401, 403, 404, 409)},
        tags=["agents"],
    )
    def post(self, request: Request, pk: int, macro_id: int) -> Response:
        """Apply a macro to the conversation: its reply and every action, all or nothing. A
        refused action (an assignee at capacity, …) changes nothing; the error's `fields`
        name it (reply, status, labels, team, priority or assignee)."""
        conversation = self.get_conversation(pk)
        macro = get_or_404(selectors.macros_for(request.user), macro_id)
        data = validated(MacroApplyInput, request.data)
        try:
            _changed, message = macro_apply(
                macro=macro,
                conversation=conversation,
                by=request.user,
                client_id=data.get("client_id"),
                within=self.changeable_conversations(),
            )
        except Conversation.DoesNotExist as error:
            raise Http404 from error
        # Read back without the visibility filter: the macro may have handed it away.
        changed = conversation_queryset(Conversation.objects).get(pk=pk)
        answer = {"conversation": changed, "message": message}
        return Response(MacroApplyOutput(answer).data)
