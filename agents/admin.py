"""Admin for teams (with their business hours), agent profiles and canned responses.

Team is the core's model; its page lives here because business hours are agents'. Presence
is read-only: the agent's own websocket and agents.services keep it live.
"""

from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminTimeWidget, FilteredSelectMultiple
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import models
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import Truncator, capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from conversations.errors import HelpdeskError
from conversations.models import PublicProfile, Status, Team
from conversations.people import display_name
from conversations.services import check_display_name, public_profile_save

from .models import Agent, BusinessHours, CannedResponse, Macro
from .selectors import CAPACITY_STATUSES, next_opening, team_open_at

User = get_user_model()


def open_assigned_count() -> Count:
    """How many open conversations an agent holds (what capacity limits; the definition of
    agents.selectors.CAPACITY_STATUSES)."""
    return Count(
        "user__assigned_conversations",
        filter=Q(user__assigned_conversations__status__in=CAPACITY_STATUSES),
        distinct=True,
    )


class BusinessHoursInline(admin.TabularInline):
    """Opening intervals in the team's time zone; none at all means always open."""

    model = BusinessHours
    fields = ["weekday", "opens", "closes"]
    extra = 0
    formfield_overrides = {models.TimeField: {"widget": AdminTimeWidget(format="%H:%M")}}
    verbose_name = _("opening interval")
    verbose_name_plural = _("business hours (none: always open)")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "is_default",
        "time_zone",
        "bot",
        "hours_now",
        "agent_count",
        "open_conversations",
    ]
    list_filter = ["is_default", "bot"]
    search_fields = ["name"]
    fields = ["name", "is_default", "time_zone", "bot"]
    inlines = [BusinessHoursInline]

    @admin.display(description=_("now"))
    def hours_now(self, team: Team) -> str:
        now = timezone.now()
        if team_open_at(team, now):
            return gettext("Open")
        opens = next_opening(team, now)
        when = date_format(opens.astimezone(ZoneInfo(team.time_zone)), "l H:i") if opens else ""
        return gettext("Closed until %(when)s") % {"when": when}

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .prefetch_related("business_hours")
            .annotate(
                agent_total=Count("members", distinct=True),
                open_total=Count(
                    "conversations",
                    filter=Q(conversations__status=Status.OPEN),
                    distinct=True,
                ),
            )
        )

    @admin.display(description=_("agents"), ordering="agent_total")
    def agent_count(self, team: Team) -> int:
        return team.agent_total

    @admin.display(description=_("open conversations"), ordering="open_total")
    def open_conversations(self, team: Team) -> int:
        return team.open_total


class AgentForm(forms.ModelForm):
    """The profile plus its user's teams and display name: both are the core's (membership,
    PublicProfile), not fields of Agent."""

    display_name = forms.CharField(
        label=_("display name"),
        required=False,
        max_length=PublicProfile._meta.get_field("display_name").max_length,
        help_text=PublicProfile._meta.get_field("display_name").help_text,
    )
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.all(),
        required=False,
        label=_("teams"),
        widget=FilteredSelectMultiple(_("teams"), is_stacked=False),
    )

    class Meta:
        model = Agent
        fields = ["user", "capacity"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["teams"].initial = self.instance.teams.all()
            self.fields["display_name"].initial = display_name(self.instance.user)

    def clean_display_name(self) -> str:
        try:
            return check_display_name(self.cleaned_data["display_name"])
        except HelpdeskError as error:
            raise forms.ValidationError(error.message) from error

    def _save_m2m(self) -> None:
        """Runs once the profile is saved, with or without commit (admin forms and inlines)."""
        super()._save_m2m()
        if "teams" in self.cleaned_data:
            self.instance.teams.set(self.cleaned_data["teams"])
        if "display_name" in self.changed_data:
            public_profile_save(
                user=self.instance.user, display_name=self.cleaned_data["display_name"]
            )


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    form = AgentForm
    list_display = ["agent_name", "email", "team_names", "capacity", "presence", "open_assigned"]
    list_filter = ["presence", "user__teams"]
    search_fields = [
        "user__public_profile__display_name",
        "user__first_name",
        "user__last_name",
        "user__email",
        "user__username",
    ]
    autocomplete_fields = ["user"]
    readonly_fields = ["presence", "presence_changed_at", "last_assigned_at"]
    ordering = ["user__first_name", "user__email"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["user", "display_name", "teams", "capacity", *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The profile's primary key is the user: it cannot move to another user.
        return [*self.readonly_fields, "user"] if obj else self.readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("user__public_profile")
            .prefetch_related("user__teams")
            .annotate(open_total=open_assigned_count())
        )

    @admin.display(description=_("name"), ordering="user__first_name")
    def agent_name(self, agent: Agent) -> str:
        return agent.display_name

    @admin.display(description=_("email"), ordering="user__email")
    def email(self, agent: Agent) -> str:
        return agent.user.email

    @admin.display(description=_("teams"))
    def team_names(self, agent: Agent) -> str:
        return ", ".join(team.name for team in agent.teams.all())

    @admin.display(description=_("open assigned"), ordering="open_total")
    def open_assigned(self, agent: Agent) -> str:
        return f"{agent.open_total} / {agent.capacity}"


class AgentInline(admin.StackedInline):
    model = Agent
    form = AgentForm
    fields = ["display_name", "teams", "capacity", "presence", "presence_changed_at"]
    readonly_fields = ["presence", "presence_changed_at"]
    can_delete = False
    verbose_name = _("agent profile")
    verbose_name_plural = _("agent profile")


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Django's user admin with the agent profile (teams, capacity, presence) inline."""

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[Any]:
        # A new user gets a profile once saved; the add page stays Django's two-step form.
        return [*super().get_inlines(request, obj), AgentInline] if obj else []


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ["__str__", "team", "body_preview"]
    list_filter = ["team"]
    list_select_related = ["team"]
    search_fields = ["shortcut", "body"]
    fields = ["shortcut", "team", "body"]

    @admin.display(description=_("body"))
    def body_preview(self, response: CannedResponse) -> str:
        return Truncator(response.body).chars(100)


class LabelNamesField(forms.CharField):
    """Label names typed as "billing, vip"; stored as a list. Unknown names are fine: a
    label is created when a macro first adds it."""

    def prepare_value(self, value: Any) -> str:
        return ", ".join(value) if isinstance(value, list) else value or ""

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value)
        return [name.strip() for name in text.split(",") if name.strip()]


class MacroForm(forms.ModelForm):
    add_labels = LabelNamesField(
        label=capfirst(_("add labels")), required=False, help_text=_("Separated by commas.")
    )
    remove_labels = LabelNamesField(
        label=capfirst(_("remove labels")), required=False, help_text=_("Separated by commas.")
    )

    class Meta:
        model = Macro
        fields = [
            "name",
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
        ]


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    """Everything a macro does on one page: who uses it, the reply, then each action (empty:
    left as it is). The model's clean() refuses what cannot be applied."""

    form = MacroForm
    list_display = ["name", "scope_label", "actions_summary"]
    list_filter = ["team", "status", "priority"]
    list_select_related = ["owner", "team", "move_to_team", "assign_to"]
    search_fields = ["name", "body"]
    autocomplete_fields = ["owner", "assign_to"]
    fieldsets = [
        (None, {"fields": ["name", "owner", "team"]}),
        (_("Reply"), {"fields": ["body", "private"]}),
        (
            _("Actions"),
            {
                "fields": [
                    ("status", "snooze_minutes"),
                    "add_labels",
                    "remove_labels",
                    "move_to_team",
                    "priority",
                    ("assign", "assign_to"),
                ]
            },
        ),
    ]

    @admin.display(description=_("used by"))
    def scope_label(self, macro: Macro) -> str:
        if macro.owner:
            return gettext("%(agent)s only") % {"agent": macro.owner.email}
        if macro.team:
            return gettext("Team %(team)s") % {"team": macro.team.name}
        return gettext("Every agent")

    @admin.display(description=_("does"))
    def actions_summary(self, macro: Macro) -> str:
        parts = []
        if macro.body.strip():
            parts.append(gettext("private note") if macro.private else gettext("reply"))
        if macro.status:
            parts.append(macro.get_status_display())
        if macro.add_labels or macro.remove_labels:
            parts.append(
                " ".join(
                    [*(f"+{n}" for n in macro.add_labels), *(f"−{n}" for n in macro.remove_labels)]
                )
            )
        if macro.move_to_team:
            parts.append(f"→ {macro.move_to_team.name}")
        if macro.priority:
            parts.append(macro.get_priority_display())
        if macro.assign:
            parts.append(macro.get_assign_display())
        return " · ".join(parts)
