"""Celery tasks of conversations (thin: they call events and services)."""

from celery import shared_task
from django.utils import timezone

from . import events, services
from .models import Conversation, Status


@shared_task(acks_late=True)
def publish_pending_events() -> int:
    """Sequence and broadcast events whose publication a crash interrupted (the outbox)."""
    return events.publish_pending_events()


@shared_task(acks_late=True)
def wake_snoozed_conversations() -> int:
    """Reopen every conversation whose snooze has run out."""
    due = Conversation.objects.filter(status=Status.SNOOZED, snoozed_until__lte=timezone.now())
    woken = 0
    for conversation in due.only("pk").iterator():
        services.conversation_wake(conversation=conversation)
        woken += 1
    return woken
