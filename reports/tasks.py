"""Celery tasks of the reports (thin: they call reports.services)."""

from asgiref.sync import async_to_sync
from celery import current_app, shared_task
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import OperationalError
from django.utils import timezone

from conversations.jobs import enqueue

from .consumers import GROUP
from .export import export_run
from .services import process_new_events, recompute_conversations

SCHEDULED_KEY = "reports:update-scheduled"
COALESCE_SECONDS = 2  # a burst of events within this window costs one run


def schedule_report_update() -> None:
    """Queue one incremental run unless one is already queued.

    In the embedded mode tasks would run inline, once per event; the server's ticker
    (helpdesk/embedded.py) runs the periodic update instead.
    """
    if current_app.conf.task_always_eager:
        return
    if cache.add(SCHEDULED_KEY, 1, timeout=60):
        enqueue(update_reports, countdown=COALESCE_SECONDS)


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def update_reports() -> int:
    """Recompute what changed since the last run, then tell open report pages."""
    cache.delete(SCHEDULED_KEY)  # events from now on schedule the next run
    recomputed = 0
    while batch := process_new_events():
        recomputed += batch
    if recomputed:
        announce_report_update()
    return recomputed


def announce_report_update() -> None:
    layer = get_channel_layer()
    if layer is not None:
        event = {"type": "report.updated", "at": timezone.now().isoformat()}
        async_to_sync(layer.group_send)(GROUP, {"type": "event.publish", "event": event})


@shared_task(acks_late=True, ignore_result=True)
def run_report_export(export_id: int) -> None:
    """Compute a CSV export (reports/export.py); running it again overwrites the result."""
    export_run(export_id)


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OperationalError,), max_retries=5)
def recompute_conversations_task(conversation_ids: list[int]) -> None:
    """Refile conversations whose slice changed without an event (their inbox was deleted)."""
    for start in range(0, len(conversation_ids), 2000):
        recompute_conversations(conversation_ids[start : start + 2000])
    announce_report_update()
