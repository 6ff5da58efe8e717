"""How the triage list shows times and sorts columns."""

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Case, F, IntegerField, OrderBy, Value, When
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timesince import timesince
from django.utils.translation import gettext

from ..models import Priority

LONG_WAIT = timedelta(hours=1)  # waits longer than this are highlighted in the list


class NullsLast(F):
    """A column to sort by where empty values go last both ways (PostgreSQL puts them first
    when descending): conversations nobody waits on never crowd out those that wait."""

    def asc(self, **kwargs: Any) -> OrderBy:
        return super().asc(nulls_last=True, **kwargs)

    def desc(self, **kwargs: Any) -> OrderBy:
        return super().desc(nulls_last=True, **kwargs)

    def __eq__(self, other: object) -> bool:
        # The changelist finds the column a default ordering belongs to by comparing names.
        return other == self.name if isinstance(other, str) else super().__eq__(other)

    def __hash__(self) -> int:
        return super().__hash__()


# Sorts priorities by urgency rather than alphabetically.
PRIORITY_RANK = Case(
    *(When(priority=value, then=Value(rank)) for rank, value in enumerate(Priority.values)),
    default=Value(len(Priority.values)),
    output_field=IntegerField(),
)


def ago(moment: datetime | None) -> str:
    """'12 minutes ago': one unit is enough to triage by."""
    if moment is None:
        return ""
    if timezone.now() - moment < timedelta(minutes=1):
        return gettext("just now")
    return gettext("%(duration)s ago") % {"duration": timesince(moment, depth=1)}


def exact_time(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")
