"""Pages of long lists whose `count` stays cheap on a million rows.

COUNT(*) over a million conversations costs more than the page itself, so the count is exact
up to COUNT_LIMIT and PostgreSQL's planner estimate beyond (`count_exact` says which). Whether
there is a next page never depends on the count: each page reads one row more than it shows.
"""

import json
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

from .ids import MAX_ID

COUNT_LIMIT = 1_000


def estimated_count(queryset: QuerySet) -> int | None:
    """The planner's estimate of the rows of `queryset` (PostgreSQL), or None."""
    if connections[queryset.db].vendor != "postgresql":
        return None
    plan = json.loads(queryset.order_by().values("pk").explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def capped_count(rows: QuerySet | Sequence) -> tuple[int, bool]:
    """(count, exact): exact up to COUNT_LIMIT, PostgreSQL's estimate beyond."""
    if not isinstance(rows, QuerySet):
        return len(rows), True
    # COUNT of a LIMIT subquery of ids alone: no ORDER BY, joins or annotations (unread)
    capped = rows.order_by().values("pk")[: COUNT_LIMIT + 1].count()
    if capped <= COUNT_LIMIT:
        return capped, True
    estimate = estimated_count(rows)
    if estimate is None:
        return rows.count(), True
    return max(estimate, capped), False


def capped_counts(lists: Sequence[QuerySet | Sequence]) -> list[tuple[int, bool]]:
    """capped_count of each, the capped COUNTs in one statement (a list of saved views
    counts several at once: one round trip instead of one each)."""
    querysets = [rows for rows in lists if isinstance(rows, QuerySet)]
    if len(querysets) < 2 or len({rows.db for rows in querysets}) > 1:
        return [capped_count(rows) for rows in lists]
    parts, params = [], []
    for rows in querysets:
        sql, part_params = rows.order_by().values("pk")[: COUNT_LIMIT + 1].query.sql_with_params()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS capped)")
        params.extend(part_params)
    with connections[querysets[0].db].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        capped = iter(cursor.fetchone())
    answers = []
    for rows in lists:
        if not isinstance(rows, QuerySet):
            answers.append((len(rows), True))
            continue
        count = next(capped)
        if count <= COUNT_LIMIT:
            answers.append((count, True))
        else:
            estimate = estimated_count(rows)
            answers.append((max(estimate, count), False) if estimate else (rows.count(), True))
    return answers


class LookaheadPage(Page):
    def __init__(self, object_list: list, number: int, paginator: Paginator, has_more: bool):
        super().__init__(object_list, number, paginator)
        self.has_more = has_more

    def has_next(self) -> bool:
        return self.has_more


class CappedCountPaginator(Paginator):
    count_exact = True

    @cached_property
    def count(self) -> int:
        count, self.count_exact = capped_count(self.object_list)
        return count

    def validate_number(self, number: Any) -> int:
        """Any page number from 1: past the end is an empty page (EmptyPage), found by reading
        it, so an estimated count never hides a page that exists."""
        try:
            number = int(number)
        except (TypeError, ValueError) as error:
            raise PageNotAnInteger(_("That page number is not an integer")) from error
        if number < 1:
            raise EmptyPage(_("That page number is less than 1"))
        if (number - 1) * self.per_page > MAX_ID:  # its OFFSET would not fit the database's
            raise EmptyPage(_("That page contains no results"))
        return number

    def page(self, number: Any) -> LookaheadPage:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = self.rows(bottom, bottom + self.per_page + 1)
        if not rows and number > 1:
            raise EmptyPage(_("That page contains no results"))
        more = len(rows) > self.per_page
        return LookaheadPage(rows[: self.per_page], number, self, has_more=more)

    def rows(self, bottom: int, top: int) -> list:
        """The rows of [bottom, top). Past the first page, the ids come first: rows skipped
        by OFFSET then cost an index entry each, not their joins and per-row subqueries."""
        if bottom == 0 or not isinstance(self.object_list, QuerySet):
            return list(self.object_list[bottom:top])
        ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        by_id = {row.pk: row for row in self.object_list.order_by().filter(pk__in=ids)}
        return [by_id[pk] for pk in ids if pk in by_id]


class StrictPageNumberPagination(PageNumberPagination):
    """DRF's page numbers, without its leniencies: an empty `page` is refused rather than
    read as the first page, and "last" is not a page number (the schema says integer)."""

    last_page_strings = ()

    def get_page_number(self, request: Request, paginator: Paginator) -> Any:
        if request.query_params.get(self.page_query_param) == "":
            raise ValidationError({self.page_query_param: [_("A whole number from 1.")]})
        return super().get_page_number(request, paginator)
