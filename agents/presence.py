"""Presence driven by the agent websocket: online while at least one socket is open.

The consumer (conversations/live/consumers.py) signals when an agent socket opens, sends a
heartbeat and closes; each open socket is one AgentConnection row, so every server process
sees the same count. Transitions, under the agent's row lock:

- 0 → 1 socket: offline becomes online. An agent who chose "away" stays away, also across a
  page reload or a new day: away is their choice, only they undo it.
- 1 → 0 sockets: online becomes offline (away stays away; away and offline both keep new
  conversations from being assigned).

A socket whose heartbeats stopped (crashed browser or server process, lost network) is
removed after STALE_AFTER by `expire_stale_connections`, run by the beat schedule.
"""

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from conversations.live.consumers import agent_socket_closed, agent_socket_opened, agent_socket_seen

from .models import Agent, AgentConnection, Presence
from .services import agent_set_presence

# Clients ping at least every 30 s; three missed heartbeats and the socket is gone.
STALE_AFTER = timedelta(seconds=90)


@transaction.atomic
def connection_opened(*, user_id: int, connection: str) -> Agent:
    """Count this socket (again: a heartbeat after expiry re-registers it)."""
    agent = _locked_agent(user_id)
    others = agent.connections.exclude(channel_name=connection).exists()
    AgentConnection.objects.update_or_create(
        channel_name=connection, defaults={"agent": agent, "last_seen_at": timezone.now()}
    )
    if not others and agent.presence == Presence.OFFLINE:
        agent = agent_set_presence(agent=agent, presence=Presence.ONLINE)
    return agent


def connection_seen(*, user_id: int, connection: str) -> None:
    updated = AgentConnection.objects.filter(channel_name=connection).update(
        last_seen_at=timezone.now()
    )
    if not updated:  # expired while the socket was silent: it is back
        connection_opened(user_id=user_id, connection=connection)


@transaction.atomic
def connection_closed(*, user_id: int, connection: str) -> Agent | None:
    agent = Agent.objects.select_for_update().filter(pk=user_id).first()
    if agent is None:
        return None
    AgentConnection.objects.filter(channel_name=connection).delete()
    return _offline_without_connections(agent)


def expire_stale_connections(*, now: Any = None) -> int:
    """Forget sockets not seen for STALE_AFTER; their agents go offline if none is left."""
    cutoff = (now or timezone.now()) - STALE_AFTER
    agent_ids = set(
        AgentConnection.objects.filter(last_seen_at__lt=cutoff).values_list("agent_id", flat=True)
    )
    expired = 0
    for agent_id in sorted(agent_ids):  # one agent at a time, each under its own lock
        with transaction.atomic():
            agent = Agent.objects.select_for_update().get(pk=agent_id)
            expired += agent.connections.filter(last_seen_at__lt=cutoff).delete()[0]
            _offline_without_connections(agent)
    return expired


def _locked_agent(user_id: int) -> Agent:
    Agent.objects.get_or_create(user_id=user_id)  # staff users are agents from their first login
    return Agent.objects.select_for_update().get(pk=user_id)


def _offline_without_connections(agent: Agent) -> Agent:
    if agent.presence == Presence.ONLINE and not agent.connections.exists():
        return agent_set_presence(agent=agent, presence=Presence.OFFLINE)
    return agent


# --- Signal receivers (connected when the agents app is ready) ----------------------------


@receiver(agent_socket_opened, dispatch_uid="agents.presence.opened")
def _on_socket_opened(sender: Any, *, user_id: int, connection: str, **kwargs: Any) -> None:
    connection_opened(user_id=user_id, connection=connection)


@receiver(agent_socket_seen, dispatch_uid="agents.presence.seen")
def _on_socket_seen(sender: Any, *, user_id: int, connection: str, **kwargs: Any) -> None:
    connection_seen(user_id=user_id, connection=connection)


@receiver(agent_socket_closed, dispatch_uid="agents.presence.closed")
def _on_socket_closed(sender: Any, *, user_id: int, connection: str, **kwargs: Any) -> None:
    connection_closed(user_id=user_id, connection=connection)
