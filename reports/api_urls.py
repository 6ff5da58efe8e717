from django.urls import path

from . import api

urlpatterns = [
    path("reports/summary", api.SummaryView.as_view(), name="reports-summary"),
    path("reports/timeseries", api.TimeseriesView.as_view(), name="reports-timeseries"),
]
