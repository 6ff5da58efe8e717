"""Alerts: each agent's alert settings, and mention emails for agents who are offline.

The workspace plays the sounds and shows the notifications (agents/static/agents/alerts.js);
the server keeps what each agent chose, and, when a private note mentions an agent who has
no workspace open (no socket: agents/presence.py), queues the core's mention email.
"""

import logging
from typing import Any

from django.db import transaction

from conversations.jobs import enqueue
from conversations.models import Mention
from conversations.tasks import send_mention_email

from .models import Agent, AgentConnection, AlertSettings

logger = logging.getLogger(__name__)

ALERT_FIELDS = ("sound", "desktop", "new_conversations", "replies", "mentions", "mention_emails")


def alert_settings_of(agent: Agent) -> AlertSettings:
    """The agent's settings; an agent who never saved any has the defaults (unsaved)."""
    return AlertSettings.objects.filter(agent=agent).first() or AlertSettings(agent=agent)


@transaction.atomic
def alert_settings_save(*, agent: Agent, **changes: bool) -> AlertSettings:
    """Change the fields given (ALERT_FIELDS), keep the others."""
    unknown = set(changes) - set(ALERT_FIELDS)
    if unknown:
        raise TypeError(f"not alert settings: {sorted(unknown)}")
    settings, _created = AlertSettings.objects.select_for_update().get_or_create(agent=agent)
    for name, value in changes.items():
        setattr(settings, name, bool(value))
    settings.save()
    return settings


def is_offline(user_id: int) -> bool:
    """No workspace open anywhere: a live alert would reach nobody."""
    return not AgentConnection.objects.filter(agent_id=user_id).exists()


def wants_mention_emails(user_id: int) -> bool:
    settings = AlertSettings.objects.filter(agent_id=user_id).first()
    return settings is None or settings.mention_emails


def email_offline_mentioned(message_id: int) -> list[int]:
    """Queue the mention emails of a note for its mentioned agents who are offline and want
    them. Returns the mentions queued."""
    queued = []
    for mention_id, user_id in Mention.objects.filter(message_id=message_id).values_list(
        "pk", "user_id"
    ):
        if is_offline(user_id) and wants_mention_emails(user_id):
            if enqueue(send_mention_email, mention_id):
                queued.append(mention_id)
    return queued


def has_mentions(event: Any) -> bool:
    """A live private note whose payload names someone (no query for every other event)."""
    data = event.data if isinstance(event.data, dict) else {}
    return bool(event.message_id and data.get("private") and data.get("mentions"))
