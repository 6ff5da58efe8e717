"""URLs of the conversations API, mounted under /api/v1/ (shared/API.md)."""

from django.urls import path

from . import views
from .api import agent, bulk, customers, files, inbound_email, saved_views, widget

app_name = "conversations_api"

urlpatterns = [
    # Customer side (widget)
    path("widget/strings", views.WidgetStringsView.as_view(), name="widget-strings"),
    path("widget/sessions", widget.WidgetSessionView.as_view(), name="widget-sessions"),
    path(
        "widget/conversations",
        widget.WidgetConversationsView.as_view(),
        name="widget-conversations",
    ),
    path(
        "widget/conversations/<int:pk>",
        widget.WidgetConversationView.as_view(),
        name="widget-conversation",
    ),
    path(
        "widget/conversations/<int:pk>/messages",
        widget.WidgetMessagesView.as_view(),
        name="widget-messages",
    ),
    path(
        "widget/conversations/<int:pk>/rating",
        widget.WidgetRatingView.as_view(),
        name="widget-rating",
    ),
    path(
        "widget/conversations/<int:pk>/handoff",
        widget.WidgetHandoffView.as_view(),
        name="widget-handoff",
    ),
    path(
        "widget/conversations/<int:pk>/answered",
        widget.WidgetAnsweredView.as_view(),
        name="widget-answered",
    ),
    path("widget/pageviews", widget.WidgetPageviewsView.as_view(), name="widget-pageviews"),
    path("widget/nps", widget.WidgetNpsView.as_view(), name="widget-nps"),
    # A message's file, by its signed link (customers and agents: docs/attachments.md)
    path("files/<str:token>", files.FileView.as_view(), name="file"),
    # Mail providers (email continuity)
    path("inbound/email", inbound_email.InboundEmailView.as_view(), name="inbound-email"),
    # Agent side
    path("conversations", agent.ConversationListView.as_view(), name="conversations"),
    path("conversations/bulk", bulk.ConversationBulkView.as_view(), name="conversations-bulk"),
    path("conversations/<int:pk>", agent.ConversationDetailView.as_view(), name="conversation"),
    path(
        "conversations/<int:pk>/transfer",
        agent.ConversationTransferView.as_view(),
        name="conversation-transfer",
    ),
    path(
        "conversations/<int:pk>/messages",
        agent.ConversationMessagesView.as_view(),
        name="conversation-messages",
    ),
    path(
        "conversations/<int:pk>/read",
        agent.ConversationReadView.as_view(),
        name="conversation-read",
    ),
    path("views", saved_views.SavedViewListView.as_view(), name="views"),
    path("views/<int:pk>", saved_views.SavedViewDetailView.as_view(), name="view"),
    path("customers/<int:pk>", customers.CustomerDetailView.as_view(), name="customer"),
    path("customers/<int:pk>/notes", customers.CustomerNotesView.as_view(), name="customer-notes"),
    path(
        "customers/<int:pk>/notes/<int:note_pk>",
        customers.CustomerNoteView.as_view(),
        name="customer-note",
    ),
    path("visitors", customers.VisitorsView.as_view(), name="visitors"),
    path(
        "visitors/<int:pk>/conversations",
        customers.VisitorConversationsView.as_view(),
        name="visitor-conversations",
    ),
]
