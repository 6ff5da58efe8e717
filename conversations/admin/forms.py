"""The triage forms: the change page's fields, the reply box and the bulk actions' questions."""

from datetime import datetime
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import Conversation, Priority, Status, Team
from ..people import user_name

User = get_user_model()


def agents_queryset() -> QuerySet:
    """Who can be assigned: active staff users (every staff user is an agent), with the
    profile their names come from (people.user_name), in one query."""
    return (
        User.objects.filter(is_staff=True, is_active=True)
        .select_related("public_profile")
        .order_by("first_name", "last_name", "email")
    )


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user: Any) -> str:
        return user_name(user)


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


class ConversationAdminForm(forms.ModelForm):
    """The editable state. Saved through services by ConversationAdmin.save_model."""

    class Meta:
        model = Conversation
        fields = ["status", "snoozed_until", "assignee", "team", "priority", "labels"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The admin's date and time inputs have "Date:" and "Time:" beside them, not as labels.
        split = getattr(self.fields["snoozed_until"].widget, "widgets", ())
        labels = (_("Snoozed until: date"), _("Snoozed until: time"))
        for widget, part in zip(split, labels, strict=False):
            widget.attrs["aria-label"] = part

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


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


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
    files = forms.FileField(
        label=_("Files"),
        required=False,  # message_post checks them (files/checks.py)
        widget=MultipleFileInput(),
    )
    # Generated when the form is shown, so a double submit posts the message once.
    client_id = forms.CharField(widget=forms.HiddenInput, required=False)
