"""Reports follow the event log: every published event schedules a coalesced update."""

from typing import Any

from django.dispatch import receiver

from conversations.events import event_published

from .tasks import schedule_report_update


@receiver(event_published, dispatch_uid="reports.schedule_update")
def schedule_on_event(sender: Any, event: Any, live: bool = True, **kwargs: Any) -> None:
    if live:  # an import calls for a rebuild_reports (or the periodic run) instead
        schedule_report_update()
