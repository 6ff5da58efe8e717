"""The triage admin: conversations, customers and labels.

Nothing here writes a conversation model: bulk actions, the change form and the reply box all
call `services.py`, so every change appends its ConversationEvent and goes out live.
"""

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Case, Count, F, IntegerField, OrderBy, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.timesince import timesince
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from .errors import HelpdeskError
from .models import (
    STATUS_RANK,
    AuthorKind,
    Channel,
    Conversation,
    Customer,
    Label,
    Priority,
    Status,
    Team,
)
from .pagination import CappedCountPaginator
from .search import clean_search_text, search_conversations
from .selectors import conversation_channels
from .serializers import user_name
from .services import (
    Author,
    check_assign,
    conversation_assign,
    conversation_reopen,
    conversation_resolve,
    conversation_set_status,
    conversation_transfer,
    conversation_update,
    message_post,
)

User = get_user_model()

admin.site.site_header = _("Helpdesk administration")
admin.site.site_title = _("Helpdesk")
admin.site.index_title = _("Triage and settings")

ACTION_FORM_TEMPLATE = "admin/conversations/conversation/action_form.html"
REPLY_DRAFT_SESSION_KEY = "helpdesk_reply_drafts"
LONG_WAIT = timedelta(hours=1)  # waits longer than this are highlighted in the list


class NullsLast(F):
    """A column to sort by where empty values go last both ways (PostgreSQL puts them first
    when descending): conversations nobody waits on never crowd out those that wait."""

    def asc(self, **kwargs: Any) -> OrderBy:
        return super().asc(nulls_last=True, **kwargs)

    def desc(self, **kwargs: Any) -> OrderBy:
        return super().desc(nulls_last=True, **kwargs)

    def __eq__(self, other: object) -> bool:
        # The changelist finds the column a default ordering belongs to by comparing names.
        return other == self.name if isinstance(other, str) else super().__eq__(other)

    def __hash__(self) -> int:
        return super().__hash__()


# Sorts priorities by urgency rather than alphabetically.
PRIORITY_RANK = Case(
    *(When(priority=value, then=Value(rank)) for rank, value in enumerate(Priority.values)),
    default=Value(len(Priority.values)),
    output_field=IntegerField(),
)


def agents_queryset() -> QuerySet:
    """Who can be assigned: active staff users (every staff user is an agent)."""
    return User.objects.filter(is_staff=True, is_active=True).order_by(
        "first_name", "last_name", "email"
    )


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user: Any) -> str:
        return user_name(user)


def ago(moment: datetime | None) -> str:
    """'12 minutes ago': one unit is enough to triage by."""
    if moment is None:
        return ""
    if timezone.now() - moment < timedelta(minutes=1):
        return gettext("just now")
    return gettext("%(duration)s ago") % {"duration": timesince(moment, depth=1)}


def exact_time(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


# --- Changelist filters ----------------------------------------------------------------------


class AssigneeFilter(admin.SimpleListFilter):
    title = _("assignee")
    parameter_name = "assignee"

    MINE = "mine"
    UNASSIGNED = "none"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        fixed = [(self.MINE, _("Mine")), (self.UNASSIGNED, _("Unassigned"))]
        return fixed + [(str(user.pk), user_name(user)) for user in agents_queryset()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        value = self.value()
        if value is None:
            return None
        if value == self.MINE:
            return queryset.filter(assignee=request.user)
        if value == self.UNASSIGNED:
            return queryset.filter(assignee__isnull=True)
        if not value.isdigit():
            raise IncorrectLookupParameters(value)
        return queryset.filter(assignee_id=int(value))


class CallbackFilter(admin.SimpleListFilter):
    title = _("call back")
    parameter_name = "callback"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [("yes", _("Call back requested")), ("no", _("No call back"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        if self.value() == "yes":
            return queryset.exclude(callback_phone="")
        if self.value() == "no":
            return queryset.filter(callback_phone="")
        return None


class ChannelFilter(admin.SimpleListFilter):
    """The built-in channels by name, plus whatever imports brought."""

    title = _("channel")
    parameter_name = "channel"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        names = dict(Channel.choices)
        return [(value, names.get(value, value)) for value in conversation_channels()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        if self.value() is None:
            return None
        return queryset.filter(channel=self.value())


# --- Forms of the bulk actions ---------------------------------------------------------------


class AssignAgentForm(forms.Form):
    agent = AgentChoiceField(queryset=agents_queryset(), label=_("Agent"))


class AssignTeamForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.all(), label=_("Team"))


class SnoozeForm(forms.Form):
    until = forms.DateTimeField(
        label=_("Snooze until"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["until"].help_text = _(
            "Time zone: %(zone)s. A message from the customer wakes it up earlier."
        ) % {"zone": timezone.get_current_timezone_name()}

    def clean_until(self) -> datetime:
        until = self.cleaned_data["until"]
        if until <= timezone.now():
            raise forms.ValidationError(_("Give a time in the future."))
        return until


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(choices=Priority.choices, label=_("Priority"))


class TransferForm(forms.Form):
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(),
        required=False,
        label=_("Team"),
        help_text=_("Without an agent: into this team's queue."),
    )
    agent = AgentChoiceField(queryset=agents_queryset(), required=False, label=_("Agent"))
    note = forms.CharField(
        label=_("Note"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Private: why, and what the colleagues taking over should know."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("team") and not data.get("agent"):
            raise forms.ValidationError(_("Choose a team, an agent, or both."))
        return data


# --- The change page: triage fields and the reply box ----------------------------------------


class ConversationAdminForm(forms.ModelForm):
    """The editable state. Saved through services by ConversationAdmin.save_model."""

    class Meta:
        model = Conversation
        fields = ["status", "snoozed_until", "assignee", "team", "priority", "labels"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        status = cleaned.get("status")
        until = cleaned.get("snoozed_until")
        changed = set(self.changed_data)
        was = self.initial.get("status")
        if was == Status.RESOLVED and status in (Status.PENDING, Status.SNOOZED):
            self.add_error("status", _("Reopen the conversation first: set it to Open."))
        if status == Status.SNOOZED and changed & {"status", "snoozed_until"}:
            if until is None or until <= timezone.now():
                self.add_error("snoozed_until", _("Give a time in the future."))
        elif status != Status.SNOOZED and "snoozed_until" in changed and until is not None:
            self.add_error("snoozed_until", _("Set the status to Snoozed to snooze it."))
        return cleaned


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Message"),
        required=False,  # message_post says what is wrong with an empty body
        strip=False,  # bodies are stored as written
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("Write a reply…")}),
    )
    private = forms.BooleanField(
        label=_("Private note (agents only)"),
        required=False,
    )
    # Generated when the form is shown, so a double submit posts the message once.
    client_id = forms.CharField(widget=forms.HiddenInput, required=False)


def thread_entries(conversation: Conversation) -> list[dict[str, Any]]:
    """Every message, oldest first, with the name to show for its author."""
    entries = []
    for message in conversation.messages.select_related("agent").order_by("created_at", "id"):
        if message.author_kind == AuthorKind.CUSTOMER:
            author = str(conversation.customer)
        elif message.author_kind == AuthorKind.AGENT and message.agent is not None:
            author = user_name(message.agent)
        else:
            author = AuthorKind(message.author_kind).label
        entries.append({"message": message, "author": author})
    return entries


# --- Conversations ---------------------------------------------------------------------------


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    form = ConversationAdminForm
    list_display = [
        "id",
        "customer_display",
        "status_badge",
        "waiting",
        "priority_display",
        "team",
        "assignee_display",
        "channel_display",
        "preview",
        "activity",
    ]
    list_display_links = ["id", "customer_display"]
    list_select_related = ["customer", "team", "assignee"]
    list_filter = [
        "status",
        "team",
        AssigneeFilter,
        ChannelFilter,
        CallbackFilter,
        "priority",
        "labels",
    ]
    list_per_page = 50
    # Counting a million rows costs more than the page: capped counts (pagination.py).
    paginator = CappedCountPaginator
    show_full_result_count = False
    search_fields = [
        "customer__name",
        "customer__email",
        "messages__body",
    ]  # see get_search_results
    search_help_text = _("Customer name or email, or any words of a message.")
    # Open conversations first, the longest-waiting on top; then the most recent activity.
    ordering = [STATUS_RANK.asc(), NullsLast("waiting_since").asc(), "-last_activity_at"]
    fieldsets = [
        (
            _("Triage"),
            {"fields": ["status", "snoozed_until", "assignee", "team", "priority", "labels"]},
        ),
    ]
    autocomplete_fields = ["labels"]
    change_form_template = "admin/conversations/conversation/change_form.html"
    change_list_template = "admin/conversations/conversation/change_list.html"
    actions = [
        "assign_to_me",
        "assign_to_agent",
        "assign_to_team",
        "transfer",
        "resolve",
        "reopen",
        "snooze",
        "set_priority",
    ]

    # Conversations start from the widget, email or an import, and the log is append-only.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("labels")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        """The search box: the same full-text search as the API's q= (search.py), over the
        filtered list; the list keeps its own order."""
        if not clean_search_text(search_term):
            return queryset, False
        return search_conversations(queryset, search_term, by_rank=False).conversations, False

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "assignee":
            kwargs["queryset"] = agents_queryset()
            kwargs["form_class"] = AgentChoiceField
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name in ("assignee", "team"):
            # Triage picks an agent or a team; editing users and teams happens on their pages.
            for option in ("can_add_related", "can_change_related", "can_delete_related"):
                setattr(field.widget, option, False)
            field.widget.can_view_related = False
        return field

    # --- columns ---

    @admin.display(description=_("customer"), ordering="customer__name")
    def customer_display(self, conversation: Conversation) -> str:
        customer = conversation.customer
        if customer.email and customer.name:
            return format_html(
                '<span class="hd-ellipsis" title="{}">{}</span>'
                '<span class="hd-ellipsis hd-muted" title="{}">{}</span>',
                customer.name,
                customer.name,
                customer.email,
                customer.email,
            )
        return format_html('<span class="hd-ellipsis" title="{0}">{0}</span>', customer)

    @admin.display(description=_("status"), ordering=STATUS_RANK)
    def status_badge(self, conversation: Conversation) -> str:
        status = format_html(
            '<span class="hd-badge hd-status-{}">{}</span>',
            conversation.status,
            conversation.get_status_display(),
        )
        if not conversation.callback_phone:
            return status
        return format_html(
            '{} <span class="hd-badge hd-callback" title="{}">{}</span>',
            status,
            conversation.callback_phone,
            gettext("Call back"),
        )

    @admin.display(description=_("assignee"), ordering="assignee__first_name")
    def assignee_display(self, conversation: Conversation) -> str | None:
        return user_name(conversation.assignee) if conversation.assignee else None

    @admin.display(description=_("channel"), ordering="channel")
    def channel_display(self, conversation: Conversation) -> str:
        return dict(Channel.choices).get(conversation.channel, conversation.channel)

    @admin.display(description=_("priority"), ordering=PRIORITY_RANK)
    def priority_display(self, conversation: Conversation) -> str:
        return format_html(
            '<span class="hd-priority hd-priority-{}">{}</span>',
            conversation.priority,
            conversation.get_priority_display(),
        )

    @admin.display(description=_("last message"))
    def preview(self, conversation: Conversation) -> str:
        labels = format_html_join(
            "",
            '<span class="hd-label">{}</span> ',
            ((label.name,) for label in conversation.labels.all()),
        )
        text = conversation.last_message_preview
        return format_html(
            '<div class="hd-preview" title="{}">{}{}</div>', text, labels, Truncator(text).chars(90)
        )

    @admin.display(description=_("waiting since"), ordering=NullsLast("waiting_since"))
    def waiting(self, conversation: Conversation) -> str:
        if conversation.waiting_since is None:
            return ""
        long_wait = (
            conversation.status == Status.OPEN
            and timezone.now() - conversation.waiting_since > LONG_WAIT
        )
        return format_html(
            '<span class="hd-wait{}" title="{}">{}</span>',
            " hd-wait-long" if long_wait else "",
            exact_time(conversation.waiting_since),
            ago(conversation.waiting_since),
        )

    @admin.display(description=_("last activity"), ordering="last_activity_at")
    def activity(self, conversation: Conversation) -> str:
        return format_html(
            '<span title="{}">{}</span>',
            exact_time(conversation.last_activity_at),
            ago(conversation.last_activity_at),
        )

    # --- bulk actions ---

    def _apply_each(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        change: Callable[[Conversation], bool],
        done: Callable[[int], str],
    ) -> None:
        """Run one service call per conversation, then say how many changed and what failed.

        `change` returns whether it changed anything; refusals (HelpdeskError) are reported.
        """
        changed, unchanged, refused = 0, 0, []
        # Fixed order: concurrent bulk actions lock rows in the same order (no deadlocks).
        for conversation in queryset.order_by("pk"):
            try:
                if change(conversation):
                    changed += 1
                else:
                    unchanged += 1
            except HelpdeskError as error:
                refused.append(f"#{conversation.pk}: {error.message}")
        if changed:
            self.message_user(request, done(changed), messages.SUCCESS)
        if unchanged:
            self.message_user(
                request,
                ngettext(
                    "%(count)d conversation was already like that.",
                    "%(count)d conversations were already like that.",
                    unchanged,
                )
                % {"count": unchanged},
                messages.INFO,
            )
        if refused:
            self.message_user(
                request,
                ngettext(
                    "%(count)d conversation was not changed: %(reasons)s",
                    "%(count)d conversations were not changed: %(reasons)s",
                    len(refused),
                )
                % {"count": len(refused), "reasons": "; ".join(refused)},
                messages.WARNING,
            )

    def _form_action(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        *,
        action: str,
        form_class: type[forms.Form],
        title: str,
        apply: Callable[[dict[str, Any]], None],
    ) -> TemplateResponse | None:
        """An action with an intermediate page: show `form_class`, then apply it when valid."""
        if "apply" in request.POST:
            form = form_class(request.POST)
            if form.is_valid():
                apply(form.cleaned_data)
                return None  # back to the changelist, with the messages
            self.message_user(request, gettext("Please correct the errors below."), messages.ERROR)
        else:
            form = form_class()
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": self.model._meta,
            "form": form,
            "action": action,
            "conversations": queryset.select_related("customer").order_by("pk"),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, ACTION_FORM_TEMPLATE, context)

    def _assign_by_hand(
        self, request: HttpRequest, conversation: Conversation, assignee: Any, forced: list[str]
    ) -> None:
        """Assign after the capacity check (it locks the agent first: agents before
        conversations). Above capacity is refused, except for superusers; their forced
        assignments are collected in `forced` so they are told."""
        with transaction.atomic():
            over_capacity = check_assign(
                conversation=conversation,
                assignee=assignee,
                by=request.user,
                force=request.user.is_superuser,
            )
            conversation_assign(conversation=conversation, assignee=assignee, by=request.user)
        if over_capacity:
            forced.append(f"#{conversation.pk}")

    def _report_forced(self, request: HttpRequest, assignee: Any, forced: list[str]) -> None:
        if not forced:
            return
        self.message_user(
            request,
            ngettext(
                "%(conversations)s was assigned to %(agent)s above their capacity.",
                "%(conversations)s were assigned to %(agent)s above their capacity.",
                len(forced),
            )
            % {"conversations": ", ".join(forced), "agent": user_name(assignee)},
            messages.WARNING,
        )

    @admin.action(description=_("Assign to me"), permissions=["change"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet) -> None:
        forced: list[str] = []

        def change(conversation: Conversation) -> bool:
            if conversation.assignee_id == request.user.pk:
                return False
            self._assign_by_hand(request, conversation, request.user, forced)
            return True

        self._apply_each(
            request,
            queryset,
            change,
            lambda count: (
                ngettext(
                    "%(count)d conversation assigned to you.",
                    "%(count)d conversations assigned to you.",
                    count,
                )
                % {"count": count}
            ),
        )
        self._report_forced(request, request.user, forced)

    @admin.action(description=_("Assign to an agent…"), permissions=["change"])
    def assign_to_agent(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        def apply(data: dict[str, Any]) -> None:
            agent = data["agent"]
            forced: list[str] = []

            def change(conversation: Conversation) -> bool:
                if conversation.assignee_id == agent.pk:
                    return False
                self._assign_by_hand(request, conversation, agent, forced)
                return True

            self._apply_each(
                request,
                queryset,
                change,
                lambda count: (
                    ngettext(
                        "%(count)d conversation assigned to %(agent)s.",
                        "%(count)d conversations assigned to %(agent)s.",
                        count,
                    )
                    % {"count": count, "agent": user_name(agent)}
                ),
            )
            self._report_forced(request, agent, forced)

        return self._form_action(
            request,
            queryset,
            action="assign_to_agent",
            form_class=AssignAgentForm,
            title=gettext("Assign conversations to an agent"),
            apply=apply,
        )

    @admin.action(description=_("Move to a team…"), permissions=["change"])
    def assign_to_team(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        def apply(data: dict[str, Any]) -> None:
            team = data["team"]

            def change(conversation: Conversation) -> bool:
                if conversation.team_id == team.pk:
                    return False
                conversation_update(conversation=conversation, team=team, by=request.user)
                return True

            self._apply_each(
                request,
                queryset,
                change,
                lambda count: (
                    ngettext(
                        "%(count)d conversation moved to %(team)s.",
                        "%(count)d conversations moved to %(team)s.",
                        count,
                    )
                    % {"count": count, "team": team.name}
                ),
            )

        return self._form_action(
            request,
            queryset,
            action="assign_to_team",
            form_class=AssignTeamForm,
            title=gettext("Move conversations to a team"),
            apply=apply,
        )

    @admin.action(description=_("Transfer with note…"), permissions=["change"])
    def transfer(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        def apply(data: dict[str, Any]) -> None:
            target: dict[str, Any] = {}
            if data.get("team"):
                target["team"] = data["team"]
            if data.get("agent"):
                target["assignee"] = data["agent"]
            names = ", ".join(
                name
                for name in (
                    data["team"].name if data.get("team") else "",
                    user_name(data["agent"]) if data.get("agent") else "",
                )
                if name
            )

            def change(conversation: Conversation) -> bool:
                conversation_transfer(
                    conversation=conversation,
                    by=request.user,
                    note=data["note"],
                    force=request.user.is_superuser,  # supervisors may go above capacity
                    **target,
                )
                return True

            self._apply_each(
                request,
                queryset,
                change,
                lambda count: (
                    ngettext(
                        "%(count)d conversation transferred to %(target)s.",
                        "%(count)d conversations transferred to %(target)s.",
                        count,
                    )
                    % {"count": count, "target": names}
                ),
            )

        return self._form_action(
            request,
            queryset,
            action="transfer",
            form_class=TransferForm,
            title=gettext("Transfer conversations with a note"),
            apply=apply,
        )

    @admin.action(description=_("Resolve"), permissions=["change"])
    def resolve(self, request: HttpRequest, queryset: QuerySet) -> None:
        def change(conversation: Conversation) -> bool:
            if conversation.status == Status.RESOLVED:
                return False
            conversation_resolve(conversation=conversation, by=request.user)
            return True

        self._apply_each(
            request,
            queryset,
            change,
            lambda count: (
                ngettext(
                    "%(count)d conversation resolved.", "%(count)d conversations resolved.", count
                )
                % {"count": count}
            ),
        )

    @admin.action(description=_("Reopen"), permissions=["change"])
    def reopen(self, request: HttpRequest, queryset: QuerySet) -> None:
        def change(conversation: Conversation) -> bool:
            if conversation.status != Status.RESOLVED:
                return False
            conversation_reopen(conversation=conversation, by=request.user)
            return True

        self._apply_each(
            request,
            queryset,
            change,
            lambda count: (
                ngettext(
                    "%(count)d conversation reopened.", "%(count)d conversations reopened.", count
                )
                % {"count": count}
            ),
        )

    @admin.action(description=_("Snooze…"), permissions=["change"])
    def snooze(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        def apply(data: dict[str, Any]) -> None:
            until = data["until"]

            def change(conversation: Conversation) -> bool:
                conversation_set_status(
                    conversation=conversation,
                    status=Status.SNOOZED,
                    snoozed_until=until,
                    by=request.user,
                )
                return True

            self._apply_each(
                request,
                queryset,
                change,
                lambda count: (
                    ngettext(
                        "%(count)d conversation snoozed until %(until)s.",
                        "%(count)d conversations snoozed until %(until)s.",
                        count,
                    )
                    % {"count": count, "until": exact_time(until)}
                ),
            )

        return self._form_action(
            request,
            queryset,
            action="snooze",
            form_class=SnoozeForm,
            title=gettext("Snooze conversations"),
            apply=apply,
        )

    @admin.action(description=_("Set priority…"), permissions=["change"])
    def set_priority(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        def apply(data: dict[str, Any]) -> None:
            priority = data["priority"]

            def change(conversation: Conversation) -> bool:
                if conversation.priority == priority:
                    return False
                conversation_update(conversation=conversation, priority=priority, by=request.user)
                return True

            self._apply_each(
                request,
                queryset,
                change,
                lambda count: (
                    ngettext(
                        "%(count)d conversation set to %(priority)s priority.",
                        "%(count)d conversations set to %(priority)s priority.",
                        count,
                    )
                    % {"count": count, "priority": Priority(priority).label}
                ),
            )

        return self._form_action(
            request,
            queryset,
            action="set_priority",
            form_class=PriorityForm,
            title=gettext("Set the priority of conversations"),
            apply=apply,
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # The triage list needs the width: no app sidebar next to the filters here.
        extra_context = {"is_nav_sidebar_enabled": False, **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    # --- the change page ---

    def save_model(
        self, request: HttpRequest, obj: Conversation, form: forms.ModelForm, change: bool
    ) -> None:
        """Turn the edited fields into service calls (never obj.save(): events must be written)."""
        try:
            self._save_through_services(request, obj, form)
        except HelpdeskError as error:
            request._helpdesk_save_refused = (
                True  # response_change then skips "changed successfully"
            )
            self.message_user(request, error.message, messages.ERROR)

    def _save_through_services(
        self, request: HttpRequest, conversation: Conversation, form: forms.ModelForm
    ) -> None:
        data, changed, by = form.cleaned_data, set(form.changed_data), request.user
        if "assignee" in changed:
            forced: list[str] = []
            self._assign_by_hand(request, conversation, data["assignee"], forced)
            self._report_forced(request, data["assignee"], forced)
        updates: dict[str, Any] = {}
        if "team" in changed:
            updates["team"] = data["team"]
        if "priority" in changed:
            updates["priority"] = data["priority"]
        if "labels" in changed:
            updates["labels"] = [label.name for label in data["labels"]]
        if updates:
            conversation_update(conversation=conversation, by=by, **updates)
        status = data["status"]
        if status == Status.RESOLVED and "status" in changed:
            conversation_resolve(conversation=conversation, by=by)
        elif "status" in changed or (status == Status.SNOOZED and "snoozed_until" in changed):
            conversation_set_status(
                conversation=conversation,
                status=status,
                snoozed_until=data.get("snoozed_until"),
                by=by,
            )

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool
    ) -> None:
        """Labels were saved by conversation_update in save_model; nothing else is related."""

    def response_change(self, request: HttpRequest, obj: Conversation) -> HttpResponse:
        if getattr(request, "_helpdesk_save_refused", False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        conversation = self.get_object(request, unquote(object_id))
        if conversation is not None:
            extra_context = {**(extra_context or {}), **self._thread_context(request, conversation)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _thread_context(self, request: HttpRequest, conversation: Conversation) -> dict[str, Any]:
        drafts = request.session.get(REPLY_DRAFT_SESSION_KEY, {})
        draft = drafts.pop(str(conversation.pk), None)
        if draft is not None:
            request.session[REPLY_DRAFT_SESSION_KEY] = drafts
        reply_form = ReplyForm(
            initial={
                "client_id": str(uuid.uuid4()),
                "body": (draft or {}).get("body", ""),
                "private": (draft or {}).get("private", False),
            }
        )
        customer = conversation.customer
        return {
            "title": str(conversation),
            "subtitle": str(customer),
            "conversation": conversation,
            "thread": thread_entries(conversation),
            "customer": customer,
            "customer_conversations": customer.conversations.count(),
            "customer_conversations_url": (
                reverse("admin:conversations_conversation_changelist")
                + f"?customer__id__exact={customer.pk}"
            ),
            "customer_url": reverse("admin:conversations_customer_change", args=[customer.pk]),
            "reply_form": reply_form,
            "reply_url": reverse("admin:conversations_conversation_reply", args=[conversation.pk]),
            "waiting_for": ago(conversation.waiting_since),
            "channel_label": dict(Channel.choices).get(conversation.channel, conversation.channel),
        }

    def get_urls(self) -> list[Any]:
        reply = path(
            "<path:object_id>/reply/",
            self.admin_site.admin_view(self.reply_view),
            name="conversations_conversation_reply",
        )
        return [reply, *super().get_urls()]

    def reply_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return require_POST(self._post_reply)(request, object_id)

    def _post_reply(self, request: HttpRequest, object_id: str) -> HttpResponse:
        conversation = self.get_object(request, unquote(object_id))
        if conversation is None:
            raise Http404(gettext("This conversation does not exist."))
        if not self.has_change_permission(request, conversation):
            raise PermissionDenied
        change_url = reverse("admin:conversations_conversation_change", args=[conversation.pk])
        form = ReplyForm(request.POST)
        form.is_valid()  # every field is optional; message_post judges the body
        body = form.cleaned_data.get("body", "")
        private = form.cleaned_data.get("private", False)
        try:
            message_post(
                conversation=conversation,
                author=Author.of_agent(request.user),
                body=body,
                client_id=form.cleaned_data.get("client_id") or str(uuid.uuid4()),
                private=private,
            )
        except HelpdeskError as error:
            drafts = request.session.get(REPLY_DRAFT_SESSION_KEY, {})
            drafts[str(conversation.pk)] = {"body": body, "private": private}
            request.session[REPLY_DRAFT_SESSION_KEY] = drafts
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(change_url + "#reply")
        done = gettext("Private note added.") if private else gettext("Reply sent.")
        self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(change_url + "#reply")


# --- Customers and labels --------------------------------------------------------------------


class CustomerConversationInline(admin.TabularInline):
    model = Conversation
    fields = ["link", "status", "team", "assignee", "last_message_preview", "last_activity_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    ordering = ["-last_activity_at"]
    verbose_name_plural = _("conversations")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("team", "assignee")

    @admin.display(description=_("conversation"))
    def link(self, conversation: Conversation) -> str:
        url = reverse("admin:conversations_conversation_change", args=[conversation.pk])
        return format_html('<a href="{}">{}</a>', url, conversation)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    """Read-only: customers are created by the widget, email and imports."""

    list_display = [
        "__str__",
        "email",
        "identifier",
        "conversation_count",
        "created_at",
        "last_seen_at",
    ]
    search_fields = ["name", "email", "identifier", "external_id"]
    readonly_fields = ["name", "email", "identifier", "external_id", "created_at", "last_seen_at"]
    fields = readonly_fields
    inlines = [CustomerConversationInline]
    ordering = ["-created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(conversation_total=Count("conversations"))

    @admin.display(description=_("conversations"), ordering="conversation_total")
    def conversation_count(self, customer: Customer) -> int:
        return customer.conversation_total

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    """Labels can be created here; putting them on conversations goes through services."""

    list_display = ["name", "conversation_count"]
    search_fields = ["name"]
    fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(conversation_total=Count("conversations"))

    @admin.display(description=_("conversations"), ordering="conversation_total")
    def conversation_count(self, label: Label) -> int:
        return label.conversation_total

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
