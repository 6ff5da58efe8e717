"""Celery tasks of conversations (thin: they call events and services)."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError
from django.utils import timezone

from . import events, services
from .jobs import enqueue
from .mail import mentions, outbound
from .models import Attachment, Conversation, Status


@shared_task(acks_late=True)
def publish_pending_events() -> int:
    """Sequence and broadcast events whose publication a crash interrupted (the outbox)."""
    return events.publish_pending_events()


@shared_task(acks_late=True)
def make_thumbnail(attachment_id: int) -> bool:
    """The thumbnail of an image attachment (docs/attachments.md); idempotent."""
    attachment = Attachment.objects.filter(pk=attachment_id).first()
    return attachment is not None and services.attachment_make_thumbnail(attachment=attachment)


@shared_task(acks_late=True, ignore_result=True)
def delete_orphan_attachments() -> int:
    """Delete stored files no attachment holds, past the grace period; returns how many."""
    return services.attachment_orphans_delete().removed


@shared_task(acks_late=True)
def wake_snoozed_conversations() -> int:
    """Reopen every conversation whose snooze has run out."""
    due = Conversation.objects.filter(status=Status.SNOOZED, snoozed_until__lte=timezone.now())
    woken = 0
    for conversation in due.only("pk").iterator():
        services.conversation_wake(conversation=conversation)
        woken += 1
    return woken


# --- Email continuity (mail/outbound.py) ------------------------------------------------------------


def _email_scheduled_key(conversation_id: int) -> str:
    return f"helpdesk:reply-email-scheduled:{conversation_id}"


def schedule_reply_email(conversation_id: int) -> None:
    """Email this conversation's unsent replies in HELPDESK_EMAIL_DELAY_SECONDS, unless a run
    is already due: replies within that window go out as one email.

    A lost key or a lost enqueue costs nothing but time: the claim in mail/outbound.py keeps a
    second run from mailing anything twice, and the next reply schedules a run again.
    """
    delay = max(0, settings.HELPDESK_EMAIL_DELAY_SECONDS)
    key = _email_scheduled_key(conversation_id)
    if cache.add(key, 1, timeout=delay + 300) and not enqueue(
        send_reply_email, conversation_id, countdown=delay
    ):
        cache.delete(key)  # the next reply, or the sweep, schedules it again


@shared_task(
    acks_late=True,
    ignore_result=True,
    # smtplib's errors and refused connections are OSErrors; a database hiccup may pass too.
    autoretry_for=(OSError, OperationalError),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=8,
)
def send_reply_email(conversation_id: int) -> str:
    """Email the agent replies an offline customer has not had (idempotent: see mail/outbound.py)."""
    cache.delete(_email_scheduled_key(conversation_id))  # replies from now on schedule anew
    outcome = outbound.send_unsent_replies(conversation_id)
    if outcome == outbound.Outcome.SENT and outbound.has_unsent_replies(conversation_id):
        # Replies that came while this one was sending (their own run found it busy).
        schedule_reply_email(conversation_id)
    return outcome


# A reply is missed once its email is HELPDESK_EMAIL_MISSED_GRACE_SECONDS overdue; replies
# older than this window are left alone (a customer back after a day finds them in the
# widget, and the query stays on recent rows).
MISSED_EMAIL_WINDOW = timedelta(days=1)


@shared_task(acks_late=True)
def send_missed_reply_emails() -> int:
    """The sweep behind schedule_reply_email: runs the reply emails whose task was lost."""
    overdue = timedelta(
        seconds=settings.HELPDESK_EMAIL_DELAY_SECONDS + settings.HELPDESK_EMAIL_MISSED_GRACE_SECONDS
    )
    missed = outbound.conversations_with_missed_replies(
        older_than=overdue, within=MISSED_EMAIL_WINDOW
    )
    for conversation_id in missed:
        schedule_reply_email(conversation_id)
    return len(missed)


# --- Mentions (mail/mentions.py) --------------------------------------------------------------


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OSError, OperationalError),  # the mail server or the database, briefly away
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=8,
)
def send_mention_email(mention_id: int) -> bool:
    """Email an offline agent that a colleague mentioned them (idempotent: mail/mentions.py)."""
    return mentions.send_mention_email(mention_id)
