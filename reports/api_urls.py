from django.urls import path

from . import api

urlpatterns = [
    path("reports/summary", api.SummaryView.as_view(), name="reports-summary"),
    path("reports/timeseries", api.TimeseriesView.as_view(), name="reports-timeseries"),
    path("reports/agents", api.AgentTableView.as_view(), name="reports-agents"),
    path("reports/exports", api.ExportListView.as_view(), name="reports-exports"),
    path("reports/exports/<int:pk>", api.ExportDetailView.as_view(), name="reports-export"),
    path(
        "reports/exports/<int:pk>/download",
        api.ExportDownloadView.as_view(),
        name="reports-export-download",
    ),
]
