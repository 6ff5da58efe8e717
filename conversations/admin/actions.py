"""The conversation list's bulk actions, as one table.

Each row says what the action asks (a form, or nothing), when a conversation is already like
that, which service call changes it, and what to say when done. One runner applies any row:
conversation by conversation in pk order (concurrent bulk actions lock rows in the same order,
so they never deadlock), counting what changed, what was already so and what was refused.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from ..errors import HelpdeskError
from ..models import Conversation, Priority, Status
from ..people import user_name
from ..services import (
    conversation_change,
    conversation_reopen,
    conversation_resolve,
    conversation_transfer,
)
from .display import exact_time
from .forms import AssignAgentForm, AssignTeamForm, PriorityForm, SnoozeForm, TransferForm

ACTION_FORM_TEMPLATE = "admin/conversations/conversation/action_form.html"

Data = dict[str, Any]


@dataclass(frozen=True)
class BulkAction:
    name: str
    description: Promise
    # (conversation, user, data) -> whether it took an agent above capacity (superusers may)
    apply: Callable[[Conversation, Any, Data], bool]
    done: Callable[[int, Data], str]  # "3 conversations resolved."
    already: Callable[[Conversation, Data], bool] = lambda conversation, data: False
    form: type[forms.Form] | None = None  # asked on an intermediate page
    title: Promise | None = None  # of that page
    fixed: Callable[[HttpRequest], Data] = lambda request: {}  # the data of a form-less action


def _assign(conversation: Conversation, user: Any, data: Data) -> bool:
    return conversation_change(
        conversation=conversation, by=user, assignee=data["agent"], force=user.is_superuser
    )


def _transfer(conversation: Conversation, user: Any, data: Data) -> bool:
    target = {"team": data.get("team"), "assignee": data.get("agent")}
    conversation_transfer(
        conversation=conversation,
        by=user,
        note=data["note"],
        force=user.is_superuser,  # supervisors may go above capacity
        **{name: value for name, value in target.items() if value},
    )
    return False


def _transfer_target(data: Data) -> str:
    team, agent = data.get("team"), data.get("agent")
    return ", ".join(
        name for name in (team.name if team else "", user_name(agent) if agent else "") if name
    )


def _without_assignment(_conversation: Conversation) -> bool:
    return False  # nobody was assigned, so nobody went above capacity


BULK_ACTIONS = (
    BulkAction(
        "assign_to_me",
        _("Assign to me"),
        fixed=lambda request: {"agent": request.user},
        already=lambda conversation, data: conversation.assignee_id == data["agent"].pk,
        apply=_assign,
        done=lambda count, data: (
            ngettext(
                "%(count)d conversation assigned to you.",
                "%(count)d conversations assigned to you.",
                count,
            )
            % {"count": count}
        ),
    ),
    BulkAction(
        "assign_to_agent",
        _("Assign to an agent…"),
        form=AssignAgentForm,
        title=_("Assign conversations to an agent"),
        already=lambda conversation, data: conversation.assignee_id == data["agent"].pk,
        apply=_assign,
        done=lambda count, data: (
            ngettext(
                "%(count)d conversation assigned to %(agent)s.",
                "%(count)d conversations assigned to %(agent)s.",
                count,
            )
            % {"count": count, "agent": user_name(data["agent"])}
        ),
    ),
    BulkAction(
        "assign_to_team",
        _("Move to a team…"),
        form=AssignTeamForm,
        title=_("Move conversations to a team"),
        already=lambda conversation, data: conversation.team_id == data["team"].pk,
        apply=lambda conversation, user, data: conversation_change(
            conversation=conversation, by=user, team=data["team"]
        ),
        done=lambda count, data: (
            ngettext(
                "%(count)d conversation moved to %(team)s.",
                "%(count)d conversations moved to %(team)s.",
                count,
            )
            % {"count": count, "team": data["team"].name}
        ),
    ),
    BulkAction(
        "transfer",
        _("Transfer with note…"),
        form=TransferForm,
        title=_("Transfer conversations with a note"),
        apply=_transfer,
        done=lambda count, data: (
            ngettext(
                "%(count)d conversation transferred to %(target)s.",
                "%(count)d conversations transferred to %(target)s.",
                count,
            )
            % {"count": count, "target": _transfer_target(data)}
        ),
    ),
    BulkAction(
        "resolve",
        _("Resolve"),
        already=lambda conversation, data: conversation.status == Status.RESOLVED,
        apply=lambda conversation, user, data: _without_assignment(
            conversation_resolve(conversation=conversation, by=user)
        ),
        done=lambda count, data: (
            ngettext("%(count)d conversation resolved.", "%(count)d conversations resolved.", count)
            % {"count": count}
        ),
    ),
    BulkAction(
        "reopen",
        _("Reopen"),
        already=lambda conversation, data: conversation.status != Status.RESOLVED,
        apply=lambda conversation, user, data: _without_assignment(
            conversation_reopen(conversation=conversation, by=user)
        ),
        done=lambda count, data: (
            ngettext("%(count)d conversation reopened.", "%(count)d conversations reopened.", count)
            % {"count": count}
        ),
    ),
    BulkAction(
        "snooze",
        _("Snooze…"),
        form=SnoozeForm,
        title=_("Snooze conversations"),
        apply=lambda conversation, user, data: conversation_change(
            conversation=conversation, by=user, status=Status.SNOOZED, snoozed_until=data["until"]
        ),
        done=lambda count, data: (
            ngettext(
                "%(count)d conversation snoozed until %(until)s.",
                "%(count)d conversations snoozed until %(until)s.",
                count,
            )
            % {"count": count, "until": exact_time(data["until"])}
        ),
    ),
    BulkAction(
        "set_priority",
        _("Set priority…"),
        form=PriorityForm,
        title=_("Set the priority of conversations"),
        already=lambda conversation, data: conversation.priority == data["priority"],
        apply=lambda conversation, user, data: conversation_change(
            conversation=conversation, by=user, priority=data["priority"]
        ),
        done=lambda count, data: (
            ngettext(
                "%(count)d conversation set to %(priority)s priority.",
                "%(count)d conversations set to %(priority)s priority.",
                count,
            )
            % {"count": count, "priority": Priority(data["priority"]).label}
        ),
    ),
)


def as_admin_action(action: BulkAction) -> Callable[..., TemplateResponse | None]:
    """The row as a Django admin action (named like the row)."""

    def run(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> Any:
        if action.form is None:
            apply_each(model_admin, request, queryset, action, action.fixed(request))
            return None
        return ask_then_apply(model_admin, request, queryset, action)

    run.__name__ = action.name
    return admin.action(description=action.description, permissions=["change"])(run)


def ask_then_apply(
    model_admin: admin.ModelAdmin, request: HttpRequest, queryset: Any, action: BulkAction
) -> TemplateResponse | None:
    """Show the action's form; apply it once it is valid (then back to the list)."""
    assert action.form is not None
    if "apply" in request.POST:
        form = action.form(request.POST)
        if form.is_valid():
            apply_each(model_admin, request, queryset, action, form.cleaned_data)
            return None
        model_admin.message_user(
            request, gettext("Please correct the errors below."), messages.ERROR
        )
    else:
        form = action.form()
    context = {
        **model_admin.admin_site.each_context(request),
        "title": action.title,
        "subtitle": None,
        "opts": model_admin.model._meta,
        "form": form,
        "action": action.name,
        "conversations": queryset.select_related("customer").order_by("pk"),
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        "media": model_admin.media + form.media,
    }
    return TemplateResponse(request, ACTION_FORM_TEMPLATE, context)


def apply_each(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: Any,
    action: BulkAction,
    data: Data,
) -> None:
    """One service call per conversation, then say how many changed and what failed."""
    changed, unchanged, refused, forced = 0, 0, [], []
    for conversation in queryset.order_by("pk"):
        if action.already(conversation, data):
            unchanged += 1
            continue
        try:
            if action.apply(conversation, request.user, data):
                forced.append(f"#{conversation.pk}")
            changed += 1
        except HelpdeskError as error:
            refused.append(f"#{conversation.pk}: {error.message}")
    say = model_admin.message_user
    if changed:
        say(request, action.done(changed, data), messages.SUCCESS)
    if unchanged:
        say(request, already_message(unchanged), messages.INFO)
    if refused:
        say(request, refused_message(refused), messages.WARNING)
    if forced:
        say(request, forced_message(forced, data["agent"]), messages.WARNING)


def already_message(count: int) -> str:
    return ngettext(
        "%(count)d conversation was already like that.",
        "%(count)d conversations were already like that.",
        count,
    ) % {"count": count}


def refused_message(refused: list[str]) -> str:
    return ngettext(
        "%(count)d conversation was not changed: %(reasons)s",
        "%(count)d conversations were not changed: %(reasons)s",
        len(refused),
    ) % {"count": len(refused), "reasons": "; ".join(refused)}


def forced_message(forced: list[str], assignee: Any) -> str:
    return ngettext(
        "%(conversations)s was assigned to %(agent)s above their capacity.",
        "%(conversations)s were assigned to %(agent)s above their capacity.",
        len(forced),
    ) % {"conversations": ", ".join(forced), "agent": user_name(assignee)}
