"""POST /api/v1/conversations/bulk: one action on many conversations, answered per id."""

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from ..bulk import ACTIONS, BulkChange, conversations_bulk_change
from ..ids import MAX_ID
from ..models import Conversation, Priority
from ..serializers import ConversationOutput, IdOrNameField, StrictSlugField
from .base import (
    AgentView,
    ErrorBodyOutput,
    agent_user_by_ref,
    conversation_queryset,
    error_responses,
    validated,
)


class StrictIntegerField(serializers.IntegerField):
    """An integer as JSON writes it: no "12" nor 12.0 nor true (the schema says integer)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false, not 0, 1 or "yes" (the schema says boolean)."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


def ids_field() -> serializers.ListField:
    return serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        help_text=gettext_lazy("The conversations, at most HELPDESK_BULK_MAX_IDS (100)."),
    )


class BulkInput(serializers.Serializer):
    """What every action takes; each action's input adds the value it needs."""

    ids = ids_field()
    action = serializers.ChoiceField(choices=ACTIONS)

    def validate_ids(self, ids: list[int]) -> list[int]:
        limit = settings.HELPDESK_BULK_MAX_IDS
        if len(ids) > limit:
            raise serializers.ValidationError(
                _("At most %(limit)s conversations at once.") % {"limit": limit}
            )
        return ids


def action_input(action: str, **fields: serializers.Field) -> type[BulkInput]:
    """The input of one action: `action` names it, `fields` are what it needs."""
    name = f"Bulk{action.title()}Input"
    return type(name, (BulkInput,), {"action": serializers.ChoiceField(choices=[action]), **fields})


ACTION_INPUTS = {
    "assign": action_input(
        "assign",
        assignee=IdOrNameField(
            allow_null=True,
            help_text=gettext_lazy("An agent id, an email, “me”, or null to unassign."),
        ),
        force=StrictBooleanField(
            required=False,
            default=False,
            help_text=gettext_lazy("Supervisors only: even above the agent's capacity."),
        ),
    ),
    "resolve": action_input("resolve"),
    "reopen": action_input("reopen"),
    "label": action_input(
        "label",
        label=StrictSlugField(
            max_length=50, allow_unicode=True, help_text=gettext_lazy("The label to add.")
        ),
    ),
    "snooze": action_input(
        "snooze",
        snoozed_until=serializers.DateTimeField(
            help_text=gettext_lazy("Until when (in the future).")
        ),
    ),
    "priority": action_input(
        "priority", priority=serializers.ChoiceField(choices=Priority.choices)
    ),
}
assert set(ACTION_INPUTS) == set(ACTIONS)


class BulkResultOutput(serializers.Serializer):
    id = serializers.IntegerField()
    ok = serializers.BooleanField()
    error = ErrorBodyOutput(required=False, help_text=gettext_lazy("Why it was refused."))
    conversation = ConversationOutput(
        required=False, help_text=gettext_lazy("The conversation as it is now, when changed.")
    )


class BulkOutput(serializers.Serializer):
    results = BulkResultOutput(many=True)
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()


class ConversationBulkView(AgentView):
    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="BulkAction",
            serializers=ACTION_INPUTS,
            resource_type_field_name="action",
        ),
        responses={200: BulkOutput, **error_responses(400, 401, 403)},
        tags=["agents"],
    )
    def post(self, request: Request) -> Response:
        """One action on many conversations, each through the service a single change uses
        (capacity, access and lifecycle rules hold; events go out as usual). Answers each
        id's outcome: a refusal of one leaves the others changed."""
        action = request.data.get("action") if isinstance(request.data, dict) else None
        form = ACTION_INPUTS.get(action, BulkInput) if isinstance(action, str) else BulkInput
        data = validated(form, request.data)
        outcome = conversations_bulk_change(
            ids=data["ids"],
            change=self.change(data),
            by=request.user,
            within=self.changeable_conversations(),
        )
        changed = [pk for pk, error in outcome.items() if error is None]
        shapes = conversation_queryset(Conversation.objects.filter(pk__in=changed))
        by_id = {row.pk: row for row in shapes}
        results = [
            {"id": pk, "ok": False, "error": error.as_dict()["error"]}
            if error is not None
            else {"id": pk, "ok": True, "conversation": by_id[pk]}
            for pk, error in outcome.items()
        ]
        answer = {"results": results, "succeeded": len(changed)}
        answer["failed"] = len(outcome) - len(changed)
        return Response(BulkOutput(answer).data)

    def change(self, data: dict[str, Any]) -> BulkChange:
        """The action with its references looked up (an unknown agent refuses the batch)."""
        assignee = data.get("assignee")
        if isinstance(assignee, str) and assignee.lower() == "me":
            assignee = self.request.user
        elif data["action"] == "assign":
            assignee = agent_user_by_ref(assignee)
        return BulkChange(
            action=data["action"],
            assignee=assignee,
            label=data.get("label", "").lower(),
            snoozed_until=data.get("snoozed_until"),
            priority=data.get("priority", ""),
            force=data.get("force", False),
        )
