"""URLs of the campaigns API, mounted under /api/v1/ (shared/API.md)."""

from django.urls import path

from . import api

app_name = "campaigns_api"

urlpatterns = [
    path("widget/campaigns", api.WidgetCampaignsView.as_view(), name="widget-campaigns"),
    path(
        "widget/campaigns/<int:pk>/shown",
        api.WidgetCampaignShownView.as_view(),
        name="widget-campaign-shown",
    ),
    path("campaigns", api.CampaignListView.as_view(), name="campaigns"),
    path("campaigns/<int:pk>", api.CampaignDetailView.as_view(), name="campaign"),
]
