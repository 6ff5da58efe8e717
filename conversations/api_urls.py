"""URLs of the conversations API, mounted under /api/v1/ (shared/API.md)."""

from django.urls import path

from . import api, views

app_name = "conversations_api"

urlpatterns = [
    # Customer side (widget)
    path("widget/strings", views.WidgetStringsView.as_view(), name="widget-strings"),
    path("widget/sessions", api.WidgetSessionView.as_view(), name="widget-sessions"),
    path(
        "widget/conversations", api.WidgetConversationsView.as_view(), name="widget-conversations"
    ),
    path(
        "widget/conversations/<int:pk>",
        api.WidgetConversationView.as_view(),
        name="widget-conversation",
    ),
    path(
        "widget/conversations/<int:pk>/messages",
        api.WidgetMessagesView.as_view(),
        name="widget-messages",
    ),
    path(
        "widget/conversations/<int:pk>/rating", api.WidgetRatingView.as_view(), name="widget-rating"
    ),
    # Mail providers (email continuity)
    path("inbound/email", api.InboundEmailView.as_view(), name="inbound-email"),
    # Agent side
    path("conversations", api.ConversationListView.as_view(), name="conversations"),
    path("conversations/<int:pk>", api.ConversationDetailView.as_view(), name="conversation"),
    path(
        "conversations/<int:pk>/transfer",
        api.ConversationTransferView.as_view(),
        name="conversation-transfer",
    ),
    path(
        "conversations/<int:pk>/messages",
        api.ConversationMessagesView.as_view(),
        name="conversation-messages",
    ),
    path(
        "conversations/<int:pk>/read", api.ConversationReadView.as_view(), name="conversation-read"
    ),
]
