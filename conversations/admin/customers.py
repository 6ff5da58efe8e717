"""Customers (read-only: the widget, email and imports create them) and labels."""

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..models import Conversation, Customer, Label


class CustomerConversationInline(admin.TabularInline):
    model = Conversation
    fields = ["link", "status", "team", "assignee", "last_message_preview", "last_activity_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    ordering = ["-last_activity_at"]
    verbose_name_plural = _("conversations")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("team", "assignee")

    @admin.display(description=_("conversation"))
    def link(self, conversation: Conversation) -> str:
        url = reverse("admin:conversations_conversation_change", args=[conversation.pk])
        return format_html('<a href="{}">{}</a>', url, conversation)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    """Read-only: customers are created by the widget, email and imports."""

    list_display = [
        "__str__",
        "email",
        "identifier",
        "conversation_count",
        "created_at",
        "last_seen_at",
    ]
    search_fields = ["name", "email", "identifier", "external_id"]
    readonly_fields = ["name", "email", "identifier", "external_id", "created_at", "last_seen_at"]
    fields = readonly_fields
    inlines = [CustomerConversationInline]
    ordering = ["-created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(conversation_total=Count("conversations"))

    @admin.display(description=_("conversations"), ordering="conversation_total")
    def conversation_count(self, customer: Customer) -> int:
        return customer.conversation_total

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    """Labels can be created here; putting them on conversations goes through services."""

    list_display = ["name", "conversation_count"]
    search_fields = ["name"]
    fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(conversation_total=Count("conversations"))

    @admin.display(description=_("conversations"), ordering="conversation_total")
    def conversation_count(self, label: Label) -> int:
        return label.conversation_total

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
