"""The campaigns API's shapes (shared/API.md "Self-service and engagement")."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from conversations.people import public_name
from conversations.serializers import (
    IdOrNameField,
    PersonRefOutput,
    StrictCharField,
    TeamRefOutput,
)

from .models import MAX_DELAY_SECONDS, MAX_MESSAGE_LENGTH, Campaign, UrlRule
from .services import language_codes


class StrictBooleanField(serializers.BooleanField):
    """true or false, nothing that merely looks like one ("yes", 1)."""

    default_error_messages = {"invalid": _("Must be true or false.")}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    """A whole number, not a string or true."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


def sender_of(campaign: Campaign) -> dict[str, Any]:
    """Who the invitation is from, as the visitor sees it: the agent, else the team."""
    if campaign.sender is not None:
        return {"name": public_name(campaign.sender)}
    return {"name": campaign.team.name}


# --- Customer side --------------------------------------------------------------------------


class SenderOutput(serializers.Serializer):
    name = serializers.CharField(help_text=_("The agent's public name, or the team's name."))


class WidgetCampaignOutput(serializers.Serializer):
    id = serializers.IntegerField()
    message = serializers.CharField()
    delay_seconds = serializers.IntegerField()
    sender = SenderOutput()


class ShownOutput(serializers.Serializer):
    campaign = serializers.IntegerField(source="campaign_id")
    at = serializers.DateTimeField()


# --- Agent side -----------------------------------------------------------------------------


class UrlRuleInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=UrlRule.choices)
    value = StrictCharField(
        max_length=500,
        allow_blank=True,
        help_text=_("Text the page address contains or starts with, or a Python regex."),
    )


class UrlRuleOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=UrlRule.choices)
    value = serializers.CharField()


class CampaignInput(serializers.Serializer):
    message = StrictCharField(max_length=MAX_MESSAGE_LENGTH, needs_text=True)
    team = IdOrNameField(help_text=_("A team id or name."))
    sender = IdOrNameField(
        required=False,
        allow_null=True,
        help_text=_("The agent shown (id or email), a member of the team; null: the team."),
    )
    url_rule = UrlRuleInput()
    delay_seconds = StrictIntegerField(min_value=0, max_value=MAX_DELAY_SECONDS)
    returning = StrictBooleanField(
        required=False,
        allow_null=True,
        help_text=_("true: returning visitors only; false: new ones only; null: everyone."),
    )
    languages = serializers.ListField(
        child=serializers.ChoiceField(choices=language_codes()),
        required=False,
        help_text=_("The visitor languages it shows in; empty: every language."),
    )
    active_from = serializers.TimeField(
        required=False, allow_null=True, help_text=_("In the team's time zone, e.g. 09:00.")
    )
    active_until = serializers.TimeField(
        required=False, allow_null=True, help_text=_("In the team's time zone, e.g. 18:00.")
    )
    enabled = StrictBooleanField()


class CampaignPatchInput(CampaignInput):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, partial=True, **kwargs)


class CampaignOutput(serializers.Serializer):
    id = serializers.IntegerField()
    message = serializers.CharField()
    team = TeamRefOutput()
    sender = PersonRefOutput(allow_null=True)
    url_rule = UrlRuleOutput()
    delay_seconds = serializers.IntegerField()
    returning = serializers.BooleanField(allow_null=True)
    languages = serializers.ListField(child=serializers.CharField())
    active_from = serializers.TimeField(allow_null=True)
    active_until = serializers.TimeField(allow_null=True)
    enabled = serializers.BooleanField()
    created_at = serializers.DateTimeField()

    def to_representation(self, campaign: Campaign) -> dict[str, Any]:
        sender = campaign.sender
        shape = {
            "id": campaign.pk,
            "message": campaign.message,
            "team": {"id": campaign.team.pk, "name": campaign.team.name},
            "sender": {"id": sender.pk, "name": public_name(sender)} if sender else None,
            "url_rule": {"kind": campaign.url_kind, "value": campaign.url_value},
            "delay_seconds": campaign.delay_seconds,
            "returning": campaign.returning,
            "languages": campaign.languages,
            "active_from": campaign.active_from,
            "active_until": campaign.active_until,
            "enabled": campaign.enabled,
            "created_at": campaign.created_at,
        }
        return super().to_representation(shape)
