"""Campaigns in the admin: the same checks as the API (a regex that does not compile is
refused by the form), and how often each invitation was shown."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import Campaign


class CampaignForm(forms.ModelForm):
    languages = forms.MultipleChoiceField(
        label=_("Languages"),
        choices=settings.LANGUAGES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The visitor languages it is shown in; none ticked: every language."),
    )

    class Meta:
        model = Campaign
        fields = [
            "message",
            "team",
            "sender",
            "enabled",
            "url_kind",
            "url_value",
            "delay_seconds",
            "returning",
            "languages",
            "active_from",
            "active_until",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "returning" in self.fields:  # empty is everyone, not "Unknown"
            self.fields["returning"].widget.choices = [
                ("unknown", _("Everyone")),
                ("true", _("Returning visitors only")),
                ("false", _("New visitors only")),
            ]
        if "sender" in self.fields:  # agents only
            self.fields["sender"].queryset = get_user_model().objects.filter(
                is_staff=True, is_active=True
            )


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    list_display = ["__str__", "team", "sender", "url_kind", "url_value", "enabled", "times_shown"]
    list_filter = ["enabled", "team"]
    search_fields = ["message", "url_value"]
    list_select_related = ["team", "sender"]
    fieldsets = [
        (None, {"fields": ["message", "team", "sender", "enabled"]}),
        (
            _("Who is invited"),
            {
                "fields": [
                    "url_kind",
                    "url_value",
                    "delay_seconds",
                    "returning",
                    "languages",
                    "active_from",
                    "active_until",
                ]
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        return super().get_queryset(request).annotate(shown_count=Count("shown"))

    @admin.display(description=_("times shown"), ordering="shown_count")
    def times_shown(self, campaign: Campaign) -> int:
        return campaign.shown_count
