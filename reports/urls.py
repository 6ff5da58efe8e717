"""Pages of the reports app, mounted at /reports/ (the JSON API is in reports/api_urls.py)."""

from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
