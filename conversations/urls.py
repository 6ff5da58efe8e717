"""Pages of the conversations app, mounted at /widget/ (helpdesk/urls.py)."""

from django.urls import path

from . import views

app_name = "widget"

urlpatterns = [
    path("demo/", views.widget_demo, name="demo"),
    path("resume/<str:token>/", views.widget_resume, name="resume"),
]
