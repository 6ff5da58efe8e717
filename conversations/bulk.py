"""One action on many conversations (the workspace's bulk bar, POST /api/v1/conversations/bulk).

Each conversation goes through the same service as a single change would (capacity, access and
lifecycle rules hold, and each change records its event, so other workspaces update live), in
a transaction of its own: one refusal leaves the others changed. Conversations are taken in
id order, as the admin's bulk actions do, so two bulk actions lock rows in the same order and
never deadlock.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from .errors import HelpdeskError, NotFound
from .models import Conversation, Status
from .services import conversation_change, conversation_reopen, conversation_resolve

ACTIONS = ("assign", "resolve", "reopen", "label", "snooze", "priority")


@dataclass(frozen=True)
class BulkChange:
    """What to do to each conversation: `action` and the one value it needs."""

    action: str
    assignee: Any = None  # assign: a user, or None to unassign
    label: str = ""  # label: added to the conversation's labels
    snoozed_until: datetime | None = None  # snooze
    priority: str = ""  # priority
    force: bool = False  # assign: supervisors may go above capacity


def conversations_bulk_change(
    *, ids: list[int], change: BulkChange, by: Any, within: QuerySet[Conversation]
) -> dict[int, HelpdeskError | None]:
    """Apply `change` to each conversation of `ids` that `by` may change (`within`); answers
    each id's refusal, or None where it was applied, in the order of `ids`."""
    found = {conversation.pk: conversation for conversation in within.filter(pk__in=ids)}
    outcome: dict[int, HelpdeskError | None] = {}
    for pk in sorted(set(ids)):
        conversation = found.get(pk)
        if conversation is None:
            outcome[pk] = NotFound(_("No conversation #%(id)s that you may change.") % {"id": pk})
            continue
        try:
            with transaction.atomic():  # all of this conversation's change or none of it
                _apply(conversation, change, by, within)
            outcome[pk] = None
        except HelpdeskError as error:
            outcome[pk] = error
    return {pk: outcome[pk] for pk in dict.fromkeys(ids)}


def _apply(conversation: Conversation, change: BulkChange, by: Any, within: QuerySet) -> None:
    match change.action:
        case "assign":
            conversation_change(
                conversation=conversation, by=by, assignee=change.assignee, force=change.force
            )
        case "resolve":
            conversation_resolve(conversation=conversation, by=by)
        case "reopen":
            conversation_reopen(conversation=conversation, by=by)
        case "label":
            # Added to the labels it has now: read under the row lock, so that a concurrent
            # change of its labels is not undone.
            locked = within.select_for_update(of=("self",)).get(pk=conversation.pk)
            names = [*locked.labels.values_list("name", flat=True), change.label]
            conversation_change(conversation=locked, by=by, labels=names)
        case "snooze":
            conversation_change(
                conversation=conversation,
                by=by,
                status=Status.SNOOZED,
                snoozed_until=change.snoozed_until,
            )
        case "priority":
            conversation_change(conversation=conversation, by=by, priority=change.priority)
        case _:
            raise ValueError(f"unknown bulk action {change.action!r}")
