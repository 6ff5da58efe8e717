"""Replies leave after commit: a `pending` message in the event log (a new reply, or a failed
one an agent retries) is handed to the delivery task."""

import logging
from typing import Any

from conversations.models import ConversationEvent, Delivery, EventType

from .tasks import deliver_message

logger = logging.getLogger(__name__)


def deliver_on_event(
    sender: Any, event: ConversationEvent, live: bool = True, **kwargs: Any
) -> None:
    if not live or event.message_id is None:
        return
    if event.type not in (EventType.MESSAGE_CREATED, EventType.MESSAGE_UPDATED):
        return
    if event.data.get("delivery") != Delivery.PENDING:
        return
    try:
        deliver_message.delay(event.message_id)
    except Exception:  # the broker is down: the sweep (tasks.redeliver_pending) picks it up
        logger.exception("could not enqueue the delivery of message %s", event.message_id)
