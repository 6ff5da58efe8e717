"""Pages of the agents app, mounted at /agent/ (the JSON API is in agents/api_urls.py)."""

from django.urls import path

from . import views

app_name = "agent"

urlpatterns = [
    path("", views.workspace, name="workspace"),
]
