"""The bot that answers with help articles and steps aside (docs/bot.md).

It plugs into the core through two seams: the core asks `bot_answers_first` (registered in
BotConfig.ready) whether a new web conversation goes to the bot instead of the
team's queue; the bot hears customer messages on the event log (`event_published`,
connected there too) and answers those of conversations it still holds:

- the first message: the best matching articles (titles and links), or a word that none
  matches, always ending with the offer of a person;
- the next one: once, whether they want a person (no loop of article lists);
- any after that: the customer insists, so the conversation goes to a person.

The widget's "Talk to a person" (`conversation_hand_over`) moves it to the team's queue at
any time; `resolve_idle_bot_conversations` (a beat task) resolves those the customer left.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from agents.selectors import availability
from conversations.models import (
    AuthorKind,
    BotMode,
    Conversation,
    ConversationEvent,
    EventType,
    Message,
    Status,
    Team,
)
from conversations.services import (
    Author,
    conversation_hand_over,
    conversation_resolve,
    message_post,
)
from helpcenter.models import Language
from helpcenter.search import ArticleHit, best_articles

logger = logging.getLogger(__name__)

ARTICLES_SHOWN = 3


def bot_answers_first(*, team: Team) -> bool:
    """The seam's answer: "always first", or "when unavailable" while nobody could take the
    chat live (closed, everyone offline or at capacity: the widget's own availability)."""
    if team.bot == BotMode.ALWAYS_FIRST:
        return True
    if team.bot == BotMode.WHEN_UNAVAILABLE:
        return not availability(team).can_chat_live
    return False


def answer_on_event(
    sender: Any, event: ConversationEvent, live: bool = True, **kwargs: Any
) -> None:
    """Live customer messages only; a failure is logged (the customer can still ask for a
    person, and the idle task resolves what nobody answers)."""
    if not live or event.type != EventType.MESSAGE_CREATED or event.message_id is None:
        return
    if event.author_kind != AuthorKind.CUSTOMER:
        return
    # Routing has loaded the conversation for this event already: most messages cost
    # nothing here. bot_answer checks again under the row's lock.
    if not event.conversation.with_bot:
        return
    try:
        bot_answer(message_id=event.message_id)
    except Exception:
        logger.exception("the bot could not answer message %s", event.message_id)


@transaction.atomic
def bot_answer(*, message_id: int) -> Message | None:
    """Answer one customer message of a conversation the bot holds; None when it does not
    hold it (any more) or has answered it already (an event delivered twice)."""
    message = Message.objects.select_related("conversation").get(pk=message_id)
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(pk=message.conversation_id)
    )
    if not conversation.with_bot:
        return None
    client_id = f"bot-{message.pk}"
    bot_messages = conversation.messages.filter(author_kind=AuthorKind.BOT)
    if bot_messages.filter(client_id=client_id).exists():
        return None
    answered = bot_messages.filter(created_at__gte=cycle_start(conversation)).count()
    if answered >= 2:  # asked whether they want a person, and they wrote again: they do
        conversation_hand_over(conversation=conversation)
        return None
    language = customer_language(conversation)
    with translation.override(language):
        if answered == 0:
            body = articles_answer(
                best_articles(message.body, language=language, limit=ARTICLES_SHOWN)
            )
        else:
            body = _(
                "Would you like to talk to a person? Choose “Talk to a person” and we will "
                "pass your conversation on, or write again and someone will take it."
            )
    reply, _created = message_post(
        conversation=conversation,
        author=Author.bot(),
        body=body,
        client_id=client_id,
        claim=False,
    )
    return reply


def cycle_start(conversation: Conversation) -> datetime:
    """A customer who comes back to a resolved conversation starts afresh: articles first."""
    reopened = conversation.events.filter(change__reopened=True).order_by("-pk").first()
    return reopened.at if reopened else conversation.created_at


def customer_language(conversation: Conversation) -> str:
    language = (conversation.customer.language or "")[:2]
    return language if language in Language.values else Language.ENGLISH


def articles_answer(hits: list[ArticleHit]) -> str:
    """The articles as titles and links (plain text: every message body is escaped), ending
    with the offer of a person."""
    offer = _("Not what you need? Choose “Talk to a person”.")
    if not hits:
        return "\n\n".join([_("I found no help article about that."), offer])
    base = settings.HELPDESK_PUBLIC_URL.rstrip("/")
    lines = [f"• {hit.title}\n{base}{hit.get_absolute_url()}" for hit in hits]
    return "\n\n".join([_("These articles may answer your question:"), *lines, offer])


def idle_since(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(minutes=settings.HELPDESK_BOT_IDLE_MINUTES)


def resolve_idle_bot_conversations(now: datetime | None = None) -> int:
    """Resolve, without a human, the open bot conversations quiet for
    HELPDESK_BOT_IDLE_MINUTES (the customer left). Returns how many."""
    since = idle_since(now)
    idle = idle_bot_conversations(since).values_list("pk", flat=True)
    return sum(resolve_if_idle(pk, since) for pk in list(idle))


def idle_bot_conversations(since: datetime) -> Any:
    return Conversation.objects.filter(
        with_bot=True, status=Status.OPEN, last_activity_at__lt=since
    )


@transaction.atomic
def resolve_if_idle(pk: int, since: datetime) -> bool:
    """Re-checked under the row's lock: the customer may have written or asked for a person."""
    conversation = (
        idle_bot_conversations(since).select_for_update(of=("self",)).filter(pk=pk).first()
    )
    if conversation is None:
        return False
    conversation_resolve(conversation=conversation)
    return True
