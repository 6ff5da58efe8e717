"""Conversations reacting to their own event log (connected in ConversationsConfig.ready).

Email continuity: a public agent reply reaches an offline customer by email (mail/outbound.py).
Receivers run after the event is sequenced, outside any transaction, and never raise into
the code that published it: a failure is logged, and the next reply schedules the email.
"""

import logging
from typing import Any

from django.dispatch import receiver

from .events import event_published
from .files.thumbnails import wanted as wants_thumbnail
from .jobs import enqueue
from .live.presence import customer_is_online
from .mail import outbound
from .models import AuthorKind, ConversationEvent, EventType
from .tasks import make_thumbnail, schedule_reply_email

logger = logging.getLogger(__name__)


@receiver(event_published, dispatch_uid="conversations.email_offline_customer")
def email_offline_customer(
    sender: Any, event: ConversationEvent, live: bool = True, **kwargs: Any
) -> None:
    if not live or not is_public_agent_reply(event):
        return  # an import replays old news; private notes and customer messages stay here
    try:
        follow_up_reply(event)
    except Exception:
        logger.exception("could not schedule the reply email of event %s", event.pk)


def is_public_agent_reply(event: ConversationEvent) -> bool:
    return (
        event.type == EventType.MESSAGE_CREATED
        and event.author_kind == AuthorKind.AGENT
        and event.public
        and event.message_id is not None
    )


def follow_up_reply(event: ConversationEvent) -> None:
    customer = event.conversation.customer  # the reply's own request has it in memory
    if not customer.email:
        return
    customer_id = customer.pk
    if customer_is_online(customer_id):
        # The widget shows it live; don't mail it later along with the next missed reply.
        outbound.mark_replies_seen(event.conversation_id, through=event.message_id)
    else:
        schedule_reply_email(event.conversation_id)


@receiver(event_published, dispatch_uid="conversations.make_thumbnails")
def make_thumbnails(
    sender: Any, event: ConversationEvent, live: bool = True, **kwargs: Any
) -> None:
    """A new message's images get thumbnails, made by a worker (Pillow). A lost enqueue costs
    the thumbnail only: the download view serves the image itself meanwhile and asks again."""
    if event.type != EventType.MESSAGE_CREATED:
        return
    for attachment in event.data.get("attachments") or ():
        if wants_thumbnail(attachment.get("content_type", "")):
            enqueue(make_thumbnail, attachment["id"])
