"""The managers' reports page (/reports/). It is a shell: the numbers come from the report
API (reports/api.py) through reports/static/reports/dashboard.js, so the page and the CSV
export always show what the API says."""

from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.csrf import ensure_csrf_cookie

from agents.models import Agent
from conversations.models import Team
from inboxes.selectors import channel_choices, inbox_choices


@staff_member_required  # anyone else goes to the admin login, then comes back
@ensure_csrf_cookie  # the page POSTs exports to the API with the session
def dashboard(request: HttpRequest) -> HttpResponse:
    context = {
        "teams": Team.objects.order_by("name").values("id", "name"),
        "agents": agent_choices(),
        "channels": channel_choices(),
        "inboxes": inbox_choices(),
        "strings": page_strings(),
    }
    return render(request, "reports/dashboard.html", context)


def agent_choices() -> list[dict[str, Any]]:
    agents = Agent.objects.select_related("user__public_profile").filter(user__is_active=True)
    choices = [{"id": agent.pk, "name": agent.display_name} for agent in agents]
    return sorted(choices, key=lambda choice: choice["name"].lower())


def page_strings() -> dict[str, str]:
    """What the page's script writes itself, translated here (the script has no gettext)."""
    return {
        "day": _("d"),
        "hour": _("h"),
        "minute": _("min"),
        "second": _("s"),
        "vs_previous": _("vs previous period"),
        "no_previous": _("no data in the previous period"),
        "new": _("new"),
        "no_change": _("no change"),
        "points": _("pts"),  # percentage points, for the change of CSAT %
        "median": _("median"),
        "p90": _("p90"),
        "values": _("values"),
        "mean_score": _("mean score"),
        "ratings": pgettext("after a number", "ratings"),
        "response_rate": _("response rate"),
        "messages_in": _("customer messages"),
        "replies": _("agent replies"),
        "cycles": _("later cycles of earlier conversations"),
        "open_now_note": _("not resolved yet, in this slice"),
        "escalated_note": _("call back by phone requests"),
        "shown_note": _("once a day per visitor and campaign"),
        "answered_note": _("the visitor's reply started a conversation"),
        "campaign_conversations_note": _("invitations answered that an agent replied to"),
        "deflected_note": _("suggested articles, then no conversation within 30 minutes"),
        "created": _("Created"),
        "resolved": pgettext("number of conversations", "Resolved"),
        "reopened": _("Reopened"),
        "mean": _("Mean"),
        "csat_percent": _("CSAT %"),
        "nps": _("NPS"),
        "promoters": _("promoters"),
        "passives": _("passives"),
        "detractors": _("detractors"),
        "answers": pgettext("after a number", "answers"),
        "no_agents": _("No agent was credited with anything in this period."),
        "nobody_waiting": _("Nobody is waiting."),
        "waiting_since": _("The longest has waited since %(time)s."),
        "comparing": _("Compared with %(start)s – %(end)s"),
        "week_of": _("Week of %(date)s"),
        "error": _("The report could not be loaded: %(message)s"),
        "custom_invalid": _("Choose a start date on or before the end date."),
        "hour_too_long": _("Hourly points are only offered for periods up to 200 days."),
        "updated_at": _("Updated %(time)s"),
        "live": _("Live"),
        "polling": _("Refreshing every 30 s"),
        "export_queued": _("Export queued…"),
        "export_running": _("Exporting… %(progress)s"),
        "export_done": _("Export ready."),
        "export_failed": _("Export failed: %(message)s"),
        "download": _("Download CSV"),
        "status_queued": _("Queued"),
        "status_running": _("Running"),
        "status_done": _("Done"),
        "status_failed": _("Failed"),
    }
