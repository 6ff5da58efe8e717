"""State changes of agents: presence (routing and capacity come with the agents issue)."""

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations.errors import InvalidInput

from .models import Agent, Presence


def agent_for(user: Any) -> Agent:
    """The user's agent profile, created on first use (staff users are agents)."""
    agent, _ = Agent.objects.get_or_create(user=user)
    return agent


@transaction.atomic
def agent_set_presence(*, agent: Agent, presence: str) -> Agent:
    """Change presence and tell the agent's teams (a `presence` event, no cursor)."""
    if presence not in Presence.values:
        raise InvalidInput(
            _("Unknown presence."), fields={"presence": _("Choose online, away or offline.")}
        )
    agent = Agent.objects.select_for_update().get(pk=agent.pk)
    if agent.presence == presence:
        return agent
    agent.presence = presence
    agent.presence_changed_at = timezone.now()
    agent.save(update_fields=["presence", "presence_changed_at"])
    team_ids = list(agent.teams.values_list("pk", flat=True))
    transaction.on_commit(lambda: _broadcast_presence(agent, team_ids))
    return agent


def _broadcast_presence(agent: Agent, team_ids: list[int]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    payload = {
        "type": "presence",
        "agent": agent.pk,
        "presence": agent.presence,
        "at": agent.presence_changed_at.isoformat(),
    }
    groups = [f"team.{team_id}" for team_id in team_ids] + ["admins"]
    send = async_to_sync(layer.group_send)
    for group in groups:
        send(group, {"type": "event.publish", "event": payload})
