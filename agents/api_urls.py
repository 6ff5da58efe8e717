"""URLs of the agents API, mounted under /api/v1/ (shared/API.md)."""

from django.urls import path

from . import api, api_macros

app_name = "agents_api"

urlpatterns = [
    # Asked by the widget; answered from agents' presence and capacity.
    path("widget/availability", api.WidgetAvailabilityView.as_view(), name="widget-availability"),
    path("agents", api.AgentListView.as_view(), name="agents"),
    path("agents/me", api.AgentMeView.as_view(), name="agent-me"),
    path("agents/me/alerts", api.AgentAlertsView.as_view(), name="agent-me-alerts"),
    path("teams", api.TeamListView.as_view(), name="teams"),
    path("teams/<int:pk>", api.TeamDetailView.as_view(), name="team"),
    path("canned-responses", api.CannedResponsesView.as_view(), name="canned-responses"),
    path(
        "canned-responses/<int:pk>/render",
        api.CannedResponseRenderView.as_view(),
        name="canned-response-render",
    ),
    path("macros", api_macros.MacrosView.as_view(), name="macros"),
    path("macros/<int:pk>", api_macros.MacroDetailView.as_view(), name="macro"),
    path(
        "conversations/<int:pk>/macros/<int:macro_id>",
        api_macros.MacroApplyView.as_view(),
        name="macro-apply",
    ),
]
