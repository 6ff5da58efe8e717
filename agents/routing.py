"""Capacity-aware assignment: who gets a conversation, and when (docs/assignment.md).

- A conversation waits in its team's queue (open, no assignee; `selectors.team_queue`) and
  goes to the team's *online* agent with room (open assigned < capacity) who has the fewest
  open conversations; ties go to the longest idle (oldest `last_assigned_at`, never assigned
  first), then to the lowest id. The queue is served oldest first, so a new conversation is
  assigned at once exactly when nobody waits ahead of it.
- Queues drain whenever room may have appeared: a conversation leaves `open` or its agent,
  an agent comes online, gets more capacity or joins a team (`receivers.py`), and every
  30 s as a safety net for a lost signal (the `drain-team-queues` beat task).
- Conversations without a team, or whose team has nobody online, stay in the queue.

Capacity is never exceeded by routing, also with many processes: every capacity-checked
assignment (routing and manual `check_assign`) locks the candidate Agent rows in pk order,
counts open assignments under those locks, and only then takes the conversation's lock (in
`conversation_assign`). Whoever holds an agent's lock is the only one who can add to its
count, so two transactions never both see the same last free place; one fixed lock order
(agents by pk, then the conversation) means no deadlock.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations.errors import HelpdeskError, NotAllowed
from conversations.models import Conversation, Status
from conversations.services import conversation_assign

from .models import Agent, Presence
from .selectors import CAPACITY_STATUSES, open_assigned_count, open_assigned_counts, team_queue

logger = logging.getLogger(__name__)


class AtCapacity(NotAllowed):
    """A manual assignment that would take an agent above capacity (409)."""

    code = "at_capacity"


class SupervisorOnly(HelpdeskError):
    """Only a supervisor may assign above capacity (403)."""

    status = 403
    code = "forbidden"


def is_supervisor(user: Any) -> bool:
    """Who may assign above an agent's capacity: superusers."""
    return bool(user is not None and user.is_superuser)


# --- Choosing an agent ---------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    agent: Agent
    open_assigned: int

    @property
    def has_room(self) -> bool:
        return self.open_assigned < self.agent.capacity

    def rank(self) -> tuple[int, bool, datetime, int]:
        """Lower is better: fewest open, then longest idle (never assigned first), then id."""
        last = self.agent.last_assigned_at
        return (self.open_assigned, last is not None, last or timezone.now(), self.agent.pk)


def best_candidate(candidates: Iterable[Candidate]) -> Candidate | None:
    return min((c for c in candidates if c.has_room), key=Candidate.rank, default=None)


def _locked_candidates(team_id: int) -> list[Candidate]:
    """The team's online agents, locked in pk order, with their open assignments counted
    *after* the locks are held (a count taken before could already be stale)."""
    agents = list(
        Agent.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(user__teams=team_id, presence=Presence.ONLINE, user__is_active=True)
        .order_by("pk")
    )
    counts = open_assigned_counts([agent.pk for agent in agents])
    return [Candidate(agent, counts[agent.pk]) for agent in agents]


# --- Draining queues -------------------------------------------------------------------------


def drain_team(team_id: int | None) -> int:
    """Assign the team's queued conversations while its online agents have room.

    One assignment per transaction, so agent locks are held for milliseconds. Returns how
    many conversations were assigned.
    """
    if team_id is None:
        return 0  # no team: nobody is responsible, the conversation waits for a human
    assigned = 0
    while _assign_next(team_id):
        assigned += 1
    return assigned


def drain_teams(team_ids: Iterable[int | None]) -> int:
    return sum(drain_team(team_id) for team_id in sorted({t for t in team_ids if t}))


def drain_for_agent(agent_id: int) -> int:
    """Room may have appeared with this agent: drain the queues of their teams (by team id)."""
    agent = Agent.objects.filter(pk=agent_id, presence=Presence.ONLINE).first()
    if agent is None:
        return 0  # away and offline agents take nothing
    return drain_teams(agent.teams.values_list("pk", flat=True))


def drain_all_queues() -> int:
    """Drain every team that has a queue (the beat task's safety net)."""
    team_ids = (
        Conversation.objects.filter(status=Status.OPEN, assignee__isnull=True, team__isnull=False)
        .order_by()
        .values_list("team_id", flat=True)
        .distinct()
    )
    return drain_teams(list(team_ids))


@transaction.atomic
def _assign_next(team_id: int) -> bool:
    """Give the oldest queued conversation to the best agent with room, if both exist."""
    if not team_queue(team_id).exists():
        return False  # the common case: no locks taken
    best = best_candidate(_locked_candidates(team_id))
    if best is None:
        return False
    # Locked and re-checked: a manual assignment may have taken it since the query above.
    conversation = team_queue(team_id).select_for_update(of=("self",)).first()
    if conversation is None:
        return False
    _assign(conversation, best.agent)
    return True


def _assign(conversation: Conversation, agent: Agent) -> None:
    """Under the agent's lock: assign and note the time (the next tie-break)."""
    conversation_assign(conversation=conversation, assignee=agent.user, by=None)
    Agent.objects.filter(pk=agent.pk).update(last_assigned_at=timezone.now())


# --- A resolved conversation comes back --------------------------------------------------------


def route_reopened(conversation_id: int) -> None:
    """A customer reopened a resolved conversation (a new cycle).

    It stays with its assignee when that agent is online and, counting it, within capacity:
    the customer goes on with the same person. Otherwise it returns to the team queue, where
    the next agent with room picks it up; nobody waits for an agent who is not there.
    (An agent who reopens a conversation keeps it: the receiver does not call this.)
    """
    if _requeue_unless_assignee_can_keep(conversation_id):
        conversation = Conversation.objects.filter(pk=conversation_id).first()
        if conversation is not None:
            drain_team(conversation.team_id)


@transaction.atomic
def _requeue_unless_assignee_can_keep(conversation_id: int) -> bool:
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None or conversation.assignee_id is None:
        return False
    agent = Agent.objects.select_for_update().filter(pk=conversation.assignee_id).first()
    if agent is None:
        return False  # a user without an agent profile: not ours to judge
    if agent.presence == Presence.ONLINE and open_assigned_count(agent.pk) <= agent.capacity:
        return False
    conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
    if conversation.status != Status.OPEN or conversation.assignee_id != agent.pk:
        return False  # changed meanwhile; whoever changed it decided
    conversation_assign(conversation=conversation, assignee=None, by=None)
    return True


# --- Manual assignment ---------------------------------------------------------------------


def check_assign(
    *, conversation: Conversation, assignee: Any, by: Any, force: bool = False
) -> bool:
    """May `by` give `conversation` to `assignee` by hand (API PATCH, admin)?

    Refuses with AtCapacity (409) when the conversation is open and the agent already holds
    `capacity` open conversations, unless `force` comes from a supervisor; `force` from anyone
    else is refused with SupervisorOnly (403). Returns True when the assignment goes over
    capacity (forced), so the caller can say so. Pending, snoozed and resolved conversations
    take no place, so giving one away is always allowed; so is unassigning.

    Call it inside the transaction that then calls `conversation_assign`, before anything
    locks the conversation: it locks the agent's row (agents first, then conversations), so
    no automatic assignment can take the last place between this check and the commit.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("check_assign must run in the transaction that assigns")
    if force and not is_supervisor(by):
        message = _("Only a supervisor can assign above an agent's capacity.")
        raise SupervisorOnly(message, fields={"force": message})
    if assignee is None:
        return False
    # Read fresh, not locked: the conversation's lock comes after the agent's.
    status, assignee_id = Conversation.objects.values_list("status", "assignee_id").get(
        pk=conversation.pk
    )
    if assignee_id == assignee.pk or status not in CAPACITY_STATUSES:
        return False
    Agent.objects.get_or_create(user=assignee)  # staff users are agents from first use
    agent = Agent.objects.select_for_update().get(pk=assignee.pk)
    holding = open_assigned_count(assignee)
    if holding < agent.capacity:
        return False
    if force:
        return True
    message = _(
        "%(agent)s is at capacity: %(count)d open conversations, capacity %(capacity)d."
    ) % {"agent": agent.display_name, "count": holding, "capacity": agent.capacity}
    raise AtCapacity(message, fields={"assignee": message})
