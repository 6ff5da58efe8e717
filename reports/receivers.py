"""Reports follow the event log: every published event schedules a coalesced update."""

from typing import Any

from django.dispatch import receiver

from conversations.events import event_published, history_imported

from .services import advance_cursor_over_block
from .tasks import schedule_report_update


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
