"""Routing reacts to what happens (connected in AgentsConfig.ready).

- Conversations' event log (`event_published`, sent after an event is sequenced, outside any
  transaction): a new conversation joins its team's queue and is routed; a conversation that
  leaves `open`, is unassigned or handed to someone else frees a place; one that comes back
  to `open` or moves to another team may need an agent.
- A customer message while the conversation's team is outside its business hours gets the
  automatic "we are back on …" reply (services.auto_reply_when_closed).
- A private note that mentions agents who are offline: their mention emails (alerts.py).
- `seed_demo` (`demo_seeded`): the demo's canned responses and macros, in English and Turkish.
- Agent rows (model signals, so admin edits count too): an agent coming online, getting more
  capacity or joining a team may take queued conversations. These run after commit.

Receivers never raise into the code that sent the signal: a failure is logged and the
`drain-team-queues` beat task repairs what it missed.
"""

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from conversations.events import event_published
from conversations.history.demo import demo_seeded
from conversations.models import AuthorKind, ConversationEvent, EventType, Status, TeamMembership

from .alerts import email_offline_mentioned, has_mentions
from .canned import demo_canned_responses_ensure
from .macros import demo_macros_ensure
from .models import Agent, BusinessHours
from .routing import drain_for_agent, drain_team, drain_teams, route_reopened
from .selectors import forget_teams_with_hours
from .services import auto_reply_when_closed

logger = logging.getLogger(__name__)

# Saves of other fields (last_assigned_at, presence_changed_at alone) cannot free a place.
ROUTING_FIELDS = {"presence", "capacity"}


def _safely(function: Callable[..., Any], *args: Any) -> None:
    try:
        function(*args)
    except Exception:  # routing is retried by the beat task; the sender must not fail
        logger.exception("routing failed; the drain-team-queues task will catch up")


# --- The event log ---------------------------------------------------------------------------


@receiver(event_published, dispatch_uid="agents.routing.event")
def route_on_event(sender: Any, event: ConversationEvent, live: bool = True, **kwargs: Any) -> None:
    if live:  # history replayed by an import is old news; the beat task routes its queue
        _safely(route_after_event, event)


@receiver(event_published, dispatch_uid="agents.business_hours.auto_reply")
def auto_reply_on_customer_message(
    sender: Any, event: ConversationEvent, live: bool = True, **kwargs: Any
) -> None:
    """Live customer messages only: an import's old messages were answered long ago."""
    if not live or event.type != EventType.MESSAGE_CREATED or event.message_id is None:
        return
    if event.author_kind != AuthorKind.CUSTOMER:
        return
    try:
        message = event.message
        if message.conversation.with_bot:
            return  # the bot answers it instead
        auto_reply_when_closed(message=message)
    except Exception:  # the customer's message is stored; a missing auto-reply is no failure
        logger.exception("could not auto-reply to message %s", event.message_id)


@receiver(event_published, dispatch_uid="agents.alerts.mention_emails")
def email_mentioned_agents(
    sender: Any, event: ConversationEvent, live: bool = True, **kwargs: Any
) -> None:
    """A private note mentioning agents who are offline: an email each (agents/alerts.py).
    Those online hear the note's event live; an import's old notes are old news."""
    if not live or event.type != EventType.MESSAGE_CREATED or not has_mentions(event):
        return
    try:
        email_offline_mentioned(event.message_id)
    except Exception:  # the note is stored and shown; a lost email is no failure of it
        logger.exception("could not queue the mention emails of message %s", event.message_id)


@receiver(demo_seeded, dispatch_uid="agents.canned.demo")
def demo_canned_responses(**kwargs: Any) -> None:
    demo_canned_responses_ensure()


@receiver(demo_seeded, dispatch_uid="agents.macros.demo")
def demo_macros(**kwargs: Any) -> None:
    demo_macros_ensure()


@receiver(post_save, sender=BusinessHours, dispatch_uid="agents.business_hours.saved")
@receiver(post_delete, sender=BusinessHours, dispatch_uid="agents.business_hours.deleted")
def business_hours_changed(**kwargs: Any) -> None:
    """This process sees the change at once; the others within TEAMS_WITH_HOURS_SECONDS."""
    forget_teams_with_hours()


def route_after_event(event: ConversationEvent) -> None:
    conversation = event.conversation
    change = event.change or {}
    if event.type == EventType.CONVERSATION_CREATED:
        drain_team(conversation.team_id)
    elif event.type == EventType.CONVERSATION_UPDATED:
        _route_after_update(event, change)
    elif event.type == EventType.CONVERSATION_ASSIGNED:
        previous, new = change.get("assignee") or [None, None]
        if previous:  # handed away: the previous agent has a place again
            drain_for_agent(previous)
        if new is None:  # unassigned: back in the queue
            drain_team(conversation.team_id)


def _route_after_update(event: ConversationEvent, change: dict[str, Any]) -> None:
    conversation = event.conversation
    before, after = change.get("status") or [None, None]
    if change.get("reopened") and event.agent_id is None:
        route_reopened(conversation.pk)  # the customer came back; an agent reopening keeps it
    if before == Status.OPEN and after != Status.OPEN and conversation.assignee_id:
        drain_for_agent(conversation.assignee_id)  # pending, snoozed, resolved: a place frees
    if after == Status.OPEN or "team" in change or change.get("handed_over"):
        drain_team(conversation.team_id)  # open again, in a new team's queue, or off the bot


# --- Agents --------------------------------------------------------------------------------


@receiver(post_save, sender=Agent, dispatch_uid="agents.routing.agent_saved")
def route_on_agent_saved(
    sender: Any, instance: Agent, update_fields: Any = None, **kwargs: Any
) -> None:
    """Presence or capacity may have changed (admin forms save every field)."""
    if update_fields is not None and not ROUTING_FIELDS & set(update_fields):
        return
    agent_id = instance.pk
    transaction.on_commit(lambda: _safely(drain_for_agent, agent_id))


@receiver(m2m_changed, sender=TeamMembership, dispatch_uid="agents.routing.team_joined")
def route_on_team_joined(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **kwargs: Any
) -> None:
    """A user joined a team (user.teams.add or team.members.add): drain that team."""
    if action != "post_add" or not pk_set:
        return
    team_ids = sorted(pk_set) if reverse else [instance.pk]
    transaction.on_commit(lambda: _safely(drain_teams, team_ids))
