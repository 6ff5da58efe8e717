"""URLs of the channels' API, mounted under /api/v1/ (shared/API.md)."""

from django.urls import path

from . import api

app_name = "inboxes_api"

urlpatterns = [
    path("inboxes", api.InboxesView.as_view(), name="inboxes"),
    path("channels/<int:pk>/webhook", api.ChannelWebhookView.as_view(), name="channel-webhook"),
    path(
        "channels/<int:pk>/messages", api.ApiChannelMessagesView.as_view(), name="channel-messages"
    ),
    path(
        "conversations/<int:pk>/messages/<int:message_pk>/retry",
        api.MessageRetryView.as_view(),
        name="message-retry",
    ),
]
