"""The conversation list's filters beyond plain fields."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ..ids import parse_id
from ..models import Channel
from ..people import user_name
from ..selectors import conversation_channels
from .forms import agents_queryset


class AssigneeFilter(admin.SimpleListFilter):
    title = _("assignee")
    parameter_name = "assignee"

    MINE = "mine"
    UNASSIGNED = "none"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        fixed = [(self.MINE, _("Mine")), (self.UNASSIGNED, _("Unassigned"))]
        return fixed + [(str(user.pk), user_name(user)) for user in agents_queryset()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        value = self.value()
        if value is None:
            return None
        if value == self.MINE:
            return queryset.filter(assignee=request.user)
        if value == self.UNASSIGNED:
            return queryset.filter(assignee__isnull=True)
        pk = parse_id(value)
        if pk is None:
            raise IncorrectLookupParameters(value)
        return queryset.filter(assignee_id=pk)


class CallbackFilter(admin.SimpleListFilter):
    title = _("call back")
    parameter_name = "callback"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [("yes", _("Call back requested")), ("no", _("No call back"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        if self.value() == "yes":
            return queryset.exclude(callback_phone="")
        if self.value() == "no":
            return queryset.filter(callback_phone="")
        return None


class ChannelFilter(admin.SimpleListFilter):
    """The built-in channels by name, plus whatever imports brought."""

    title = _("channel")
    parameter_name = "channel"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        names = dict(Channel.choices)
        return [(value, names.get(value, value)) for value in conversation_channels()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        if self.value() is None:
            return None
        return queryset.filter(channel=self.value())
