"""Reports follow the event log: every published event schedules a coalesced update."""

from typing import Any

from django.db import transaction
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from conversations.events import event_published, history_imported
from conversations.models import Conversation, Inbox

from .services import advance_cursor_over_block
from .tasks import recompute_conversations_task, schedule_report_update


@receiver(event_published, dispatch_uid="reports.schedule_update")
def schedule_on_event(sender: Any, event: Any, live: bool = True, **kwargs: Any) -> None:
    if live:  # an import calls for a rebuild_reports (or the periodic run) instead
        schedule_report_update()


@receiver(history_imported, dispatch_uid="reports.skip_bulk_history")
def skip_bulk_history(sender: Any, first_cursor: int, last_cursor: int, **kwargs: Any) -> None:
    """A bulk import's block of events is left to rebuild_reports (the command says so):
    the incremental task would otherwise chew through millions of old events in the
    background, 50,000 at a time, only to have the rebuild redo it. The cursor steps over the
    block only when it had reached it, so no live event is ever skipped; otherwise the
    incremental task reads the block along with the events before it."""
    advance_cursor_over_block(first_cursor, last_cursor)


@receiver(pre_delete, sender=Inbox, dispatch_uid="reports.refile_deleted_inbox")
def refile_deleted_inbox(sender: Any, instance: Inbox, **kwargs: Any) -> None:
    """A deleted inbox leaves its conversations without one, and no event says so: their
    facts move to "no inbox" once the deletion is committed, as a rebuild would file them."""
    ids = list(Conversation.objects.filter(inbox=instance).values_list("pk", flat=True))
    if ids:
        transaction.on_commit(lambda: recompute_conversations_task.delay(ids))
