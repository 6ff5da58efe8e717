"""The triage admin of conversations: the list, the change page and the reply box.

Nothing here writes a conversation model: bulk actions (actions.py), the change form and the
reply box all call the services, so every change appends its ConversationEvent and goes out
live.
"""

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from ..errors import HelpdeskError
from ..files.links import user_reader
from ..models import STATUS_RANK, AuthorKind, Channel, Conversation, Status
from ..pagination import CappedCountPaginator
from ..people import authors_with_profiles, user_name
from ..search import clean_search_text, search_conversations
from ..serializers import for_reader, message_payload
from ..services import Author, conversation_change, message_post
from .actions import BULK_ACTIONS, as_admin_action, forced_message
from .display import LONG_WAIT, PRIORITY_RANK, NullsLast, ago, exact_time
from .filters import AssigneeFilter, CallbackFilter, ChannelFilter
from .forms import AgentChoiceField, ConversationAdminForm, ReplyForm, agents_queryset

REPLY_DRAFT_SESSION_KEY = "helpdesk_reply_drafts"


def thread_entries(conversation: Conversation, reader: str) -> list[dict[str, Any]]:
    """Every message, oldest first, with the name to show for its author and its files (with
    links signed for `reader`: files/links.py)."""
    entries = []
    every_message = conversation.messages.prefetch_related(authors_with_profiles(), "attachments")
    for message in every_message.order_by("created_at", "id"):
        if message.author_kind == AuthorKind.CUSTOMER:
            author = str(conversation.customer)
        elif message.author_kind == AuthorKind.AGENT and message.agent is not None:
            author = user_name(message.agent)
        else:
            author = AuthorKind(message.author_kind).label
        files = for_reader(message_payload(message), reader)["attachments"]
        entries.append({"message": message, "author": author, "files": files})
    return entries


def draft_reply_form(draft: dict[str, Any] | None) -> ReplyForm:
    """The reply form: empty, or a refused reply's text back with the refusal on its field."""
    draft = draft or {}
    initial = {
        "client_id": str(uuid.uuid4()),
        "body": draft.get("body", ""),
        "private": draft.get("private", False),
    }
    if not draft.get("errors"):
        return ReplyForm(initial=initial)
    form = ReplyForm(data={**initial, "private": "on" if initial["private"] else ""})
    form.is_valid()
    for field, message in draft["errors"].items():
        form.add_error(field if field in form.fields else "body", message)
    return form


def cut_with_title(text: str) -> str:
    """A name cut to its column's width (admin.css), whole in its title."""
    return format_html('<span class="hd-ellipsis" title="{0}">{0}</span>', text)


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    form = ConversationAdminForm
    list_display = [
        "id",
        "customer_display",
        "status_badge",
        "waiting",
        "priority_display",
        "team_display",
        "assignee_display",
        "channel_display",
        "preview",
        "activity",
    ]
    list_display_links = ["id", "customer_display"]
    list_select_related = ["customer", "team", "assignee__public_profile"]
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

    class Media:
        js = ["helpdesk/admin-select2-labels.js"]  # after the admin's autocomplete.js

    change_form_template = "admin/conversations/conversation/change_form.html"
    change_list_template = "admin/conversations/conversation/change_list.html"
    actions = [as_admin_action(action) for action in BULK_ACTIONS]

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
        return cut_with_title(str(customer))

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

    @admin.display(description=_("team"), ordering="team__name")
    def team_display(self, conversation: Conversation) -> str | None:
        return cut_with_title(conversation.team.name) if conversation.team else None

    @admin.display(description=_("assignee"), ordering="assignee__first_name")
    def assignee_display(self, conversation: Conversation) -> str | None:
        return cut_with_title(user_name(conversation.assignee)) if conversation.assignee else None

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
        data, changed = form.cleaned_data, set(form.changed_data)
        changes: dict[str, Any] = {
            name: data[name] for name in ("team", "priority", "assignee") if name in changed
        }
        if "labels" in changed:
            changes["labels"] = [label.name for label in data["labels"]]
        if "status" in changed or (data["status"] == Status.SNOOZED and "snoozed_until" in changed):
            changes["status"] = data["status"]
            changes["snoozed_until"] = data.get("snoozed_until")
        if conversation_change(
            conversation=conversation,
            by=request.user,
            force=request.user.is_superuser,
            **changes,
        ):
            forced = forced_message([f"#{conversation.pk}"], data["assignee"])
            self.message_user(request, forced, messages.WARNING)

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
        reply_form = draft_reply_form(draft)
        customer = conversation.customer
        return {
            "title": str(conversation),
            "subtitle": str(customer),
            "conversation": conversation,
            "thread": thread_entries(conversation, user_reader(request.user.pk)),
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
        form = ReplyForm(request.POST, request.FILES)
        form.is_valid()  # every field is optional; message_post judges the body and files
        body = form.cleaned_data.get("body", "")
        private = form.cleaned_data.get("private", False)
        try:
            message_post(
                conversation=conversation,
                author=Author.of_agent(request.user),
                body=body,
                client_id=form.cleaned_data.get("client_id") or str(uuid.uuid4()),
                private=private,
                files=request.FILES.getlist("files"),
            )
        except HelpdeskError as error:
            # Back to the form with the text kept and the refusal next to its field (the page
            # opens at the form, so a message at the top would go unseen).
            drafts = request.session.get(REPLY_DRAFT_SESSION_KEY, {})
            errors = error.fields or {"body": error.message}
            drafts[str(conversation.pk)] = {"body": body, "private": private, "errors": errors}
            request.session[REPLY_DRAFT_SESSION_KEY] = drafts
            return HttpResponseRedirect(change_url + "#reply")
        done = gettext("Private note added.") if private else gettext("Reply sent.")
        self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(change_url + "#reply")
