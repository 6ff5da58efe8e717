"""Read queries about agents: who is online, who has room, how long a customer may wait."""

import math
import statistics
import time as clock
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from conversations.models import AuthorKind, Conversation, Status, Team, TeamMembership

from .models import Agent, BusinessHours, CannedResponse, Macro, Presence

# A conversation takes a place in its assignee's capacity while it is open: pending (waiting
# on the customer) and snoozed ones do not, as in handle time. The one definition of "open
# assigned", shared by routing, /agents/me, the admin and availability (docs/assignment.md).
CAPACITY_STATUSES = (Status.OPEN,)
# How far back the first-response history behind a wait estimate goes, and how much of it.
WAIT_HISTORY = timedelta(days=14)
WAIT_HISTORY_LIMIT = 200
# Fewer answered conversations than this say nothing about the next one.
WAIT_SAMPLES_NEEDED = 3
# An estimate above this is a guess nobody would believe: the widget then says none.
LONGEST_WAIT_ESTIMATE = timedelta(hours=2)
# Each process re-reads a team's typical wait at most this often (every widget asks each minute).
TYPICAL_WAIT_CACHE_SECONDS = 60


def team_by_name(name: str | None) -> Team | None:
    """The team with this name (any letter case), or the default team when no name is given."""
    if name:
        return Team.objects.filter(name__iexact=name.strip()).first()
    return Team.objects.filter(is_default=True).first()


def agents_with_load() -> QuerySet[Agent]:
    """Agents annotated with `open_assigned`: open conversations assigned to them now."""
    return Agent.objects.select_related("user__public_profile").annotate(
        open_assigned=Count(
            "user__assigned_conversations",
            filter=Q(user__assigned_conversations__status__in=CAPACITY_STATUSES),
            distinct=True,
        )
    )


def active_agents(among: QuerySet[Any] | None = None) -> list[Agent]:
    """Active staff agents with `open_assigned` and their teams, by name (three queries);
    with `among` (users), only those."""
    agents = agents_with_load().filter(user__is_active=True, user__is_staff=True)
    if among is not None:
        agents = agents.filter(user__in=among.values("pk"))
    agents = list(agents.prefetch_related("user__teams"))
    return sorted(agents, key=lambda agent: (agent.display_name.lower(), agent.pk))


def teams_for(user: Any) -> QuerySet[Team]:
    """Every team, by name, annotated with `member`: whether `user` is in it."""
    membership = TeamMembership.objects.filter(team=OuterRef("pk"), user=user)
    return Team.objects.annotate(member=Exists(membership)).order_by("name")


def open_assigned_count(user: Any) -> int:
    return Conversation.objects.filter(assignee=user, status__in=CAPACITY_STATUSES).count()


def open_assigned_counts(user_ids: list[int]) -> dict[int, int]:
    """`open_assigned_count` of several agents in one query (absent ids hold nothing)."""
    rows = (
        Conversation.objects.filter(assignee_id__in=user_ids, status__in=CAPACITY_STATUSES)
        .order_by()
        .values_list("assignee_id")
        .annotate(total=Count("pk"))
    )
    counts = dict.fromkeys(user_ids, 0)
    counts.update(dict(rows))
    return counts


def online_agents(team: Team | None) -> QuerySet[Agent]:
    """Online agents who take the team's conversations (every agent for the team-less inbox)."""
    agents = agents_with_load().filter(presence=Presence.ONLINE, user__is_active=True)
    return agents.filter(user__teams=team) if team is not None else agents


def team_queue(team_id: int | None) -> QuerySet[Conversation]:
    """The team's queue: its open conversations without an assignee, in the order they are
    served. Customers waiting for an answer first, the longest-waiting on top; then those
    nobody waits on (an agent already answered), oldest first. A conversation the bot
    answers joins it at its handover (docs/bot.md)."""
    return Conversation.objects.filter(
        team_id=team_id, status=Status.OPEN, assignee__isnull=True, with_bot=False
    ).order_by(F("waiting_since").asc(nulls_last=True), "created_at", "pk")


def team_queue_length(team: Team | None) -> int:
    """Open conversations of the team that wait for an assignee."""
    return team_queue(team.pk if team else None).count()


def free_places(loads: list[tuple[int, int]]) -> int:
    """How many more conversations agents with these (open_assigned, capacity) may take.

    An agent above capacity (a conversation came back to them) has no place, not fewer."""
    return sum(max(capacity - open_assigned, 0) for open_assigned, capacity in loads)


def typical_wait_seconds(team: Team | None) -> int | None:
    """How long the team's customers recently waited for a first reply (the median), or None
    with too little history. Cached for a minute: every open widget asks every minute."""
    key = f"agents:typical-wait:{team.pk if team else 'none'}"
    cached = cache.get(key)
    if cached is not None:
        return cached["seconds"]
    seconds = median_first_response_seconds(team)
    typical = None if seconds is None else round(seconds)
    cache.set(key, {"seconds": typical}, TYPICAL_WAIT_CACHE_SECONDS)
    return typical


def median_first_response_seconds(team: Team | None) -> float | None:
    """The median first response of the team's recent conversations, or None without enough
    history (WAIT_SAMPLES_NEEDED)."""
    since = timezone.now() - WAIT_HISTORY
    firsts = (
        Conversation.objects.filter(team=team, created_at__gte=since)
        .annotate(
            asked=Min("messages__created_at", filter=Q(messages__author_kind=AuthorKind.CUSTOMER)),
            answered=Min(
                "messages__created_at",
                filter=Q(messages__author_kind=AuthorKind.AGENT, messages__private=False),
            ),
        )
        .filter(asked__isnull=False, answered__isnull=False)
        .order_by("-created_at")
        .values_list("asked", "answered")[:WAIT_HISTORY_LIMIT]
    )
    seconds = [(answered - asked).total_seconds() for asked, answered in firsts]
    seconds = [value for value in seconds if value >= 0]
    return statistics.median(seconds) if len(seconds) >= WAIT_SAMPLES_NEEDED else None


def wait_estimate(typical: int | None, *, queue_ahead: int, agents_online: int) -> int | None:
    """The typical wait once for each "round" of the queue ahead that the online agents must
    get through; None when nobody is online (nobody knows when someone comes), without a
    typical wait, or beyond LONGEST_WAIT_ESTIMATE (a long queue: no absurd figure)."""
    if typical is None or agents_online == 0:
        return None
    estimate = typical * math.ceil((queue_ahead + 1) / agents_online)
    return estimate if estimate <= LONGEST_WAIT_ESTIMATE.total_seconds() else None


# --- Business hours ----------------------------------------------------------------------------


def team_zone(team: Team) -> ZoneInfo:
    return ZoneInfo(team.time_zone)


# Every live customer message asks whether its team keeps hours; hours change rarely. Each
# process re-reads the answer at most this often (and at once after a change it made itself).
TEAMS_WITH_HOURS_SECONDS = 10.0
_teams_with_hours: tuple[float, frozenset[int]] = (float("-inf"), frozenset())


def teams_with_hours() -> frozenset[int]:
    """Ids of the teams that have business hours (the others never close)."""
    global _teams_with_hours
    read_at, teams = _teams_with_hours
    if clock.monotonic() - read_at > TEAMS_WITH_HOURS_SECONDS:
        teams = frozenset(BusinessHours.objects.values_list("team_id", flat=True).distinct())
        _teams_with_hours = (clock.monotonic(), teams)
    return teams


def forget_teams_with_hours() -> None:
    global _teams_with_hours
    _teams_with_hours = (float("-inf"), frozenset())


def _hours_of(team: Team) -> list[BusinessHours]:
    """The team's intervals, read once per team object (prefetch `business_hours` to batch)."""
    return list(team.business_hours.all())


def _local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time of the team as a UTC instant. A time that a DST change skips is read
    with the offset before the change (PEP 495, fold=0): 02:30 on the night the clocks jump
    from 02:00 to 03:00 is 03:30 of the new time."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def _intervals_around(
    hours: list[BusinessHours], zone: ZoneInfo, moment: datetime, days: int
) -> Iterator[tuple[datetime, datetime]]:
    """Opening intervals [opens, closes) in UTC, from the day before `moment` (an overnight
    interval may still run) up to `days` days after it."""
    today = moment.astimezone(zone).date()
    for offset in range(-1, days + 1):
        day = today + timedelta(days=offset)
        for row in hours:
            if row.weekday != day.weekday():
                continue
            overnight = row.closes <= row.opens  # 22:00–06:00, or 09:00–00:00 (midnight)
            closing_day = day + timedelta(days=1) if overnight else day
            yield _local(day, row.opens, zone), _local(closing_day, row.closes, zone)


def team_open_at(team: Team, moment: datetime) -> bool:
    """Whether the team is within its business hours at `moment` (no hours: always open)."""
    hours = _hours_of(team)
    if not hours:
        return True
    return any(
        opens <= moment < closes
        for opens, closes in _intervals_around(hours, team_zone(team), moment, days=0)
    )


def next_opening(team: Team, moment: datetime) -> datetime | None:
    """When the team is next open, at or after `moment` (`moment` itself while it is open);
    None for a team without hours, which never closes. In UTC."""
    hours = _hours_of(team)
    if not hours:
        return None
    if team_open_at(team, moment):
        return moment
    starts = [
        opens
        for opens, _closes in _intervals_around(hours, team_zone(team), moment, days=8)
        if opens > moment
    ]
    return min(starts, default=None)


@dataclass(frozen=True)
class Availability:
    agents_online: int
    can_chat_live: bool
    estimated_wait_seconds: int | None
    typical_reply_seconds: int | None = None
    open_now: bool = True
    opens_at: datetime | None = None


def availability(team: Team | None) -> Availability:
    """What the widget tells a customer before they write.

    Live when the team is within its business hours and routing would assign a new
    conversation at once: the team's online agents (the very agents routing picks from) have
    more free places than the queue ahead holds (a conversation without a team is never
    routed, so it is never live). Otherwise, while the team is open and someone is online,
    a wait estimate (`wait_estimate`). The typical wait is what "we usually reply within…"
    says, so the two never disagree.
    """
    now = timezone.now()
    open_now = team is None or team_open_at(team, now)
    opens_at = None if open_now or team is None else next_opening(team, now)
    loads = [(agent.open_assigned, agent.capacity) for agent in online_agents(team)]
    queue_ahead = team_queue_length(team)
    can_chat_live = team is not None and open_now and free_places(loads) > queue_ahead
    typical = typical_wait_seconds(team)
    estimate = None
    if open_now and not can_chat_live:
        estimate = wait_estimate(typical, queue_ahead=queue_ahead, agents_online=len(loads))
    return Availability(
        agents_online=len(loads),
        can_chat_live=can_chat_live,
        estimated_wait_seconds=estimate,
        typical_reply_seconds=typical,
        open_now=open_now,
        opens_at=opens_at,
    )


def canned_responses_for(user: Any) -> QuerySet[CannedResponse]:
    """Shared canned responses and those of the agent's teams (admins: all)."""
    responses = CannedResponse.objects.select_related("team").order_by("shortcut")
    if user.is_superuser:
        return responses
    return responses.filter(Q(team__isnull=True) | Q(team__members=user)).distinct()


def macros_for(user: Any) -> QuerySet[Macro]:
    """The macros `user` may apply: their own, their teams' and the global ones (admins: every
    team's). Another agent's personal macro is nobody else's, admins' included."""
    macros = Macro.objects.select_related("owner", "team", "move_to_team", "assign_to")
    shared = Q(owner__isnull=True)
    if not user.is_superuser:
        shared &= Q(team__isnull=True) | Q(team__in=Team.objects.filter(members=user).values("pk"))
    return macros.filter(Q(owner=user) | shared).order_by("name", "pk")


def macros_editable_by(user: Any) -> QuerySet[Macro]:
    """The macros `user` may change or delete: their own and their teams' (admins: the global
    ones and every team's too)."""
    if user.is_superuser:
        return macros_for(user)
    return macros_for(user).filter(Q(owner=user) | Q(team__isnull=False))
