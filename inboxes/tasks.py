"""Delivering replies through an inbox's channel, with retries and backoff."""

from celery import shared_task
from django.conf import settings

from . import services


def retry_delay(retries: int) -> float:
    """Seconds before the next attempt: HELPDESK_CHANNEL_RETRY_SECONDS, doubling, at most an hour."""
    return min(settings.HELPDESK_CHANNEL_RETRY_SECONDS * 2**retries, 3600)


@shared_task(bind=True, ignore_result=True, acks_late=True, max_retries=None)
def deliver_message(self, message_id: int) -> None:
    """Send a pending reply; on a retryable failure, try again later until
    HELPDESK_CHANNEL_MAX_RETRIES retries have failed, then mark it failed."""
    if services.deliver(message_id=message_id, attempt=self.request.retries + 1):
        return
    # The embedded mode runs tasks inside the request, where a countdown would block it: no
    # retries there (an agent's Retry sends again).
    if self.request.is_eager or self.request.retries >= settings.HELPDESK_CHANNEL_MAX_RETRIES:
        services.give_up(message_id=message_id)
        return
    raise self.retry(countdown=retry_delay(self.request.retries))


@shared_task(ignore_result=True)
def redeliver_pending_replies() -> int:
    """Beat: replies pending for a while with no attempt at all (their task was lost between
    commit and broker) are handed to the delivery task again; early statuses of messages
    never noted are forgotten."""
    services.forget_old_early_statuses()
    message_ids = services.stranded_replies()
    for message_id in message_ids:
        deliver_message.delay(message_id)
    return len(message_ids)
