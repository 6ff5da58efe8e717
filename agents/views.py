"""The agents' workspace page (/agent/).

It lives in the agents app because it is the agents' tool: it reads conversations (the core)
and agents (presence, capacity, teams, canned responses), and `agents` may depend on
`conversations`, never the reverse. Like the reports page it is a shell: everything it shows
comes from the REST API and the agent websocket, through agents/static/agents/workspace.js.
"""

from typing import Any

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.csrf import ensure_csrf_cookie

from conversations.models import Label, Priority, Status
from conversations.people import avatar, display_name, public_name
from inboxes.selectors import channel_choices

from .services import agent_for
from .workspace_views import views_strings


@staff_member_required  # anyone else goes to the admin login, then comes back
@ensure_csrf_cookie  # the page writes through the API with the session
def workspace(request: HttpRequest) -> HttpResponse:
    agent = agent_for(request.user)
    context = {
        "me": {
            "id": request.user.pk,
            "name": public_name(request.user),
            "display_name": display_name(request.user),
            "avatar": avatar(request.user),
            "email": request.user.email,
            "is_admin": request.user.is_superuser,
            "presence": agent.presence,
        },
        "statuses": Status.choices,
        "priorities": Priority.choices,
        "channels": channel_choices(),
        "labels": list(Label.objects.order_by("name").values_list("name", flat=True)),
        "strings": page_strings(),
        "views_strings": views_strings(),  # saved views, bulk actions (views.js)
        "macro_strings": macro_strings(),
        "alert_strings": alert_strings(),
        "max_message_length": settings.HELPDESK_MAX_MESSAGE_LENGTH,
    }
    return render(request, "agent/workspace.html", context)


def macro_strings() -> dict[str, Any]:
    """What macros.js writes itself: the dialog's preview of what a macro does."""
    return {
        "macro": _("Macro"),
        "loading": _("Loading…"),
        "none": _("No macro matches."),
        "choose": _("Choose a macro to see what it does."),
        "reply": _("Reply to the customer:"),
        "private_note": _("Private note:"),
        "no_reply": _("No reply."),
        "no_actions": _("No other action."),
        "scope_personal": _("Yours"),
        "scope_team": _("Team"),
        "scope_global": _("Everyone"),
        "set_status": _("Set the status to %(status)s"),
        "snooze": _("Snooze for %(time)s"),
        "add_labels": _("Add labels: %(labels)s"),
        "remove_labels": _("Remove labels: %(labels)s"),
        "move_to_team": _("Move to the team %(team)s"),
        "set_priority": _("Set the priority to %(priority)s"),
        "assign_me": _("Assign to you"),
        "assign_nobody": _("Unassign (back to the team's queue)"),
        "assign_agent": _("Assign to %(name)s"),
        "applied": _("Macro applied: %(name)s"),
        "minutes": _("%(n)s min"),
        "hours": _("%(n)s h"),
        "days": _("%(n)s d"),
        "statuses": dict(Status.choices),
        "priorities": dict(Priority.choices),
    }


def page_strings() -> dict[str, str]:
    """What workspace.js writes itself, translated here (the script has no gettext)."""
    return {
        "customer": _("Customer"),
        "profile_saved": _("Customers now see you as %(name)s."),
        "customer_n": _("Customer #%(id)s"),
        "conversation_n": _("Conversation #%(id)s"),
        "private_note": _("Private note"),
        "bot": _("Bot"),
        "handed_over": _("Handed over by the bot: the customer asked for a person."),
        "system": _("System"),
        "you": _("You"),
        "sending": _("Sending…"),
        # A reply's delivery through its channel (agents/static/agents/channels.js).
        "delivery_pending": _("Sending"),
        "delivery_sent": _("Sent"),
        "delivery_delivered": _("Delivered"),
        "delivery_read": _("Read"),
        "delivery_failed": _("Not delivered"),
        "failed": _("Not sent."),
        "count": _("%(count)s / %(limit)s characters"),
        "too_long": _(
            "Too long to send: %(count)s characters, the limit is %(limit)s. "
            "Shorten it or send it in parts."
        ),
        "retry": _("Retry"),
        # Files (docs/attachments.md)
        "remove_file": _("Remove {name}"),
        "uploading": _("Sending… %(percent)s%%"),
        "typing": _("%(name)s is typing…"),
        "customer_typing": _("The customer is typing…"),
        "typing_short": _("typing…"),
        "no_conversations": _("No conversations here."),
        "no_match": _("No conversations match."),
        "loading": _("Loading…"),
        "unassigned": _("Unassigned"),
        "nobody": _("Nobody"),
        "no_team": _("No team"),
        "waiting": _("waiting %(time)s"),
        "open_counter": _("Open: %(open)s / %(capacity)s"),
        "unread": _("%(count)s unread"),
        "live": _("Live"),
        "offline": _("Reconnecting…"),
        "error": _("Something went wrong: %(message)s"),
        "network": _("The helpdesk cannot be reached. Check the connection."),
        "saved": _("Saved."),
        "assigned_to": _("Assigned to %(name)s."),
        "no_canned": _("No canned response matches."),
        "canned_hint": _("↑↓ to choose, Enter to insert, Esc to close"),
        "snooze_pick": _("Pick a time to snooze until."),
        "earlier_none": _("No other conversations."),
        "online": _("Online"),
        "away": _("Away"),
        "offline_presence": _("Offline"),
        "over_capacity": _("Over capacity"),
        "status_open": pgettext("conversation status", "Open"),
        "status_pending": _("Pending"),
        "status_snoozed": _("Snoozed"),
        "status_resolved": pgettext("conversation status", "Resolved"),
        "snoozed_until": _("Snoozed until %(time)s"),
        "now": _("now"),
        "minutes": _("%(n)s min"),
        "hours": _("%(n)s h"),
        "days": _("%(n)s d"),
        "not_set": _("—"),
        "transfer_done": _("Transferred."),
        "callback_requested": _("Call back requested: %(phone)s"),
        "callback_cleared": _("Call-back request cleared."),
        "visitor_n": _("Visitor #%(id)s"),
        "current_page": _("now"),
        "no_pages": _("No pages reported."),
        "no_attributes": _("None sent by the site."),
        "no_notes": _("No notes yet."),
        "delete_note": _("Delete"),
        "note_added": _("Note added."),
        "local_time": _("%(time)s (%(zone)s)"),
        "no_visitors": _("Nobody with the chat open right now."),
        "start_conversation": _("Start a conversation"),
        "first_message": _("Your first message"),
        "send": _("Send"),
        "conversation_started": _("Conversation started."),
    }


def alert_strings() -> dict[str, str]:
    """What alerts.js and mentions.js write themselves (docs/workspace.md "Alerts")."""
    return {
        "alerts": _("Alerts"),
        "alerts_n": _("Alerts: %(count)s new"),
        "new_conversation": _("New conversation"),
        "new_conversation_up": _("New conversation ↑"),
        "new_conversation_down": _("New conversation ↓"),
        "reply_from": _("Reply from %(name)s"),
        "mentioned_you": _("%(name)s mentioned you"),
        "customer_n": _("Customer #%(id)s"),
        "open": pgettext("open a conversation", "Open"),
        "no_alerts": _("No alerts yet."),
        "no_colleague": _("No colleague who may read this conversation matches."),
        "mention_hint": _("↑↓ to choose, Enter to mention, Esc to close"),
        "notifications_blocked": _(
            "This browser blocks notifications from the helpdesk: allow them in its site settings."
        ),
        "notifications_unsupported": _("This browser cannot show desktop notifications."),
    }
