"""The conversation's rules, written once: plain Python over a small state, no ORM, no clock.

`apply(state, step)` is the status machine of the design: it checks the step against the
state, and returns the new state with the events the step appends, in order. Each event
carries the state it leaves behind, which is what its payload shows.

Three callers apply the very same function, so they cannot drift apart:
- services.py locks the row, builds a State from it, applies a step, saves, records the events;
- the replay import calls those services with the history's own timestamps;
- the bulk COPY import (history/bulk.py) applies it to states in memory and writes the rows.

Identities are opaque here: an assignee or agent is whatever the caller uses to name one (a
user id live, an email while planning an import); the rules only compare them.

    open ─┬─ pending / snoozed ─┐  a customer message (or a snooze that expires) → open
          └──────── resolved ◄──┘  a customer message or an explicit reopen → open, cycle + 1
"""

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, TypeAlias

from django.utils.translation import gettext as _

from .errors import InvalidInput, NotAllowed

# The values stored in the database (models.Status, models.AuthorKind and models.EventType
# are built from these).
OPEN, PENDING, SNOOZED, RESOLVED = "open", "pending", "snoozed", "resolved"
CUSTOMER, AGENT, BOT, SYSTEM = "customer", "agent", "bot", "system"
CREATED = "conversation.created"
UPDATED = "conversation.updated"  # status, team, priority, labels, snooze, call-back
ASSIGNED = "conversation.assigned"
RATED = "conversation.rated"
NPS_ANSWERED = "conversation.nps_answered"  # a recommendation score given after it
MESSAGE_CREATED = "message.created"
MESSAGE_UPDATED = "message.updated"  # an outbound message's delivery moved (agents only)

Agent: TypeAlias = Hashable | None


class State(NamedTuple):
    """What the rules look at: the conversation row's lifecycle columns.

    A NamedTuple rather than a dataclass: a bulk import makes one per step of millions of
    conversations, and `_replace` is several times faster than dataclasses.replace."""

    status: str = OPEN
    cycle: int = 1
    assignee: Agent = None
    snoozed_until: datetime | None = None
    waiting_since: datetime | None = None  # the oldest customer message not yet answered
    resolved_at: datetime | None = None
    last_activity_at: datetime | None = None
    preview: str = ""  # of the last public message, for inboxes
    with_bot: bool = False  # the bot answers; no agent's queue holds it until a handover
    rated_cycle: int = 0  # the last cycle that got a rating (callers read it when rating)


# --- Steps: what someone does to a conversation ------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostMessage:
    at: datetime
    author_kind: str
    body: str
    private: bool = False
    agent: Agent = None  # the author, for agent messages
    # A live reply: a public agent message to an unassigned conversation assigns it to its
    # author, capacity or not (they chose to answer). An import leaves it False: the
    # history names its own assignments.
    claim: bool = False


@dataclass(frozen=True, slots=True)
class Assign:
    at: datetime
    assignee: Agent  # None unassigns
    by: Agent = None
    transfer: dict[str, Any] | None = None  # noted in the change (conversation_transfer)


@dataclass(frozen=True, slots=True)
class SetStatus:
    at: datetime
    status: str
    by: Agent = None
    snoozed_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Resolve:
    at: datetime
    by: Agent = None  # credited; else the assignee at that moment


@dataclass(frozen=True, slots=True)
class Reopen:
    at: datetime
    by: Agent = None


@dataclass(frozen=True, slots=True)
class Rate:
    at: datetime
    score: Any  # checked here: a whole number from 1 to 5


@dataclass(frozen=True, slots=True)
class HandOver:
    """The customer asks the bot for a person: the conversation joins its team's queue."""

    at: datetime


@dataclass(frozen=True, slots=True)
class Wake:
    """A snooze's time has come (the beat task asks at `at`)."""

    at: datetime


Step: TypeAlias = PostMessage | Assign | SetStatus | Resolve | Reopen | Rate | Wake | HandOver


@dataclass(frozen=True, slots=True)
class Event:
    """One row the step appends to the log."""

    type: str
    at: datetime
    state: State  # the conversation as this event leaves it
    agent: Agent = None
    change: dict[str, Any] = field(default_factory=dict)
    public: bool = True
    message: bool = False  # the message.created of a PostMessage: the caller adds the message


# --- At one instant ----------------------------------------------------------------------------

# History from another helpdesk often stamps several things with one time. Events come before
# messages (an assignment or a reopen made at the time of a message applies to it), except a
# resolution, which comes after them: "reply and resolve" is a reply of the cycle it closes.
# A rating comes last: it rates the resolution.
_SIMULTANEOUS_ORDER = {"message": 1, "resolved": 2, "rating": 3}


def simultaneous_rank(kind: str) -> int:
    """Sort key among steps of one instant; `kind` is an import step's kind ("message", an
    event type such as "assigned" or "resolved", or "rating")."""
    return _SIMULTANEOUS_ORDER.get(kind, 0)


# --- Creation ---------------------------------------------------------------------------------


def create(
    *, at: datetime, team: Hashable | None, with_bot: bool = False
) -> tuple[State, list[Event]]:
    """A new conversation, with no message yet, in `team`; `with_bot`: the bot answers first."""
    state = State(last_activity_at=at, with_bot=with_bot)
    change: dict[str, Any] = {"team": [None, team]}
    if with_bot:
        change["bot"] = True
    return state, [Event(CREATED, at, state, change=change)]


# --- The steps ---------------------------------------------------------------------------------


def apply(state: State, step: Step) -> tuple[State, list[Event]]:
    """The new state and the events the step appends (none when it changes nothing).

    Raises InvalidInput or NotAllowed, with a message for the user, when the step breaks a rule.
    """
    events: list[Event] = []
    return _RULES[type(step)](state, step, events), events


def _post_message(state: State, step: PostMessage, events: list[Event]) -> State:
    check_private_note(step.author_kind, step.private)
    at = step.at
    if _claims(state, step):
        state = _assign(state, Assign(at, step.agent, by=step.agent), events)
    waiting_since = state.waiting_since
    if step.author_kind == CUSTOMER:
        state = _wake_for_customer(state, at, events)
        waiting_since = state.waiting_since or at
    elif step.author_kind == AGENT and not step.private:
        waiting_since = None  # answered
    preview = state.preview
    if not step.private and step.author_kind != SYSTEM:
        preview = message_preview(step.body)  # an automatic notice keeps the customer's words
    state = state._replace(
        waiting_since=waiting_since,
        preview=preview,
        last_activity_at=_later(state.last_activity_at, at),
    )
    agent = step.agent if step.author_kind == AGENT else None
    events.append(Event(MESSAGE_CREATED, at, state, agent, public=not step.private, message=True))
    return state


def _claims(state: State, step: PostMessage) -> bool:
    """Whether the message makes its author the assignee: see PostMessage.claim."""
    replies = step.author_kind == AGENT and not step.private and step.agent is not None
    return step.claim and replies and state.assignee is None


def _wake_for_customer(state: State, at: datetime, events: list[Event]) -> State:
    if state.status == RESOLVED:
        return _start_cycle(state, at, None, events)
    if state.status in (PENDING, SNOOZED):
        return _change_status(state, OPEN, at, None, None, events)
    return state


def _assign(state: State, step: Assign, events: list[Event]) -> State:
    if state.assignee == step.assignee:
        return state
    change: dict[str, Any] = {"assignee": [state.assignee, step.assignee], "by": step.by}
    if step.transfer:
        change["transfer"] = step.transfer
    state = state._replace(assignee=step.assignee)
    events.append(Event(ASSIGNED, step.at, state, step.assignee, change))
    return state


def _set_status(state: State, step: SetStatus, events: list[Event]) -> State:
    status, at = step.status, step.at
    if status == RESOLVED:
        return _resolve(state, Resolve(at, step.by), events)
    if status not in (OPEN, PENDING, SNOOZED):
        raise InvalidInput(
            _("Unknown status."), fields={"status": _("Choose open, pending, snoozed or resolved.")}
        )
    check_snooze(status, step.snoozed_until, at)
    if state.status == RESOLVED and status == OPEN:
        return _start_cycle(state, at, step.by, events)
    if state.status == RESOLVED:
        raise NotAllowed(_("Reopen the conversation first."))
    if state.status != status or status == SNOOZED:  # snoozing again moves the time
        return _change_status(state, status, at, step.by, step.snoozed_until, events)
    return state


def _resolve(state: State, step: Resolve, events: list[Event]) -> State:
    if state.status == RESOLVED:
        return state
    at = step.at
    change = {"status": [state.status, RESOLVED], "resolved": True}
    credited = step.by if step.by is not None else state.assignee
    state = state._replace(
        status=RESOLVED,
        resolved_at=at,
        snoozed_until=None,
        waiting_since=None,  # an unanswered turn is dropped at resolution
        last_activity_at=_later(state.last_activity_at, at),
    )
    events.append(Event(UPDATED, at, state, credited, change))
    return state


def _reopen(state: State, step: Reopen, events: list[Event]) -> State:
    if state.status != RESOLVED:
        return state  # reopening what is not resolved changes nothing
    return _start_cycle(state, step.at, step.by, events)


def _rate(state: State, step: Rate, events: list[Event]) -> State:
    score = check_score(step.score)
    check_rateable(state.status, state.rated_cycle == state.cycle)
    state = state._replace(rated_cycle=state.cycle)
    change = {"rating": {"score": score, "cycle": state.cycle}}
    events.append(Event(RATED, step.at, state, change=change))
    return state


def _wake(state: State, step: Wake, events: list[Event]) -> State:
    if state.status == SNOOZED and state.snoozed_until and state.snoozed_until <= step.at:
        return _change_status(state, OPEN, step.at, None, None, events)
    return state


def _hand_over(state: State, step: HandOver, events: list[Event]) -> State:
    """From the bot to the team's queue, like a new conversation: the customer waits from
    now, which is where first response and wait time count from (docs/reports.md)."""
    if not state.with_bot:
        raise NotAllowed(_("No bot is answering this conversation."), code="no_bot")
    at = step.at
    state = _wake_for_customer(state, at, events)
    state = state._replace(
        with_bot=False,
        waiting_since=at,
        last_activity_at=_later(state.last_activity_at, at),
    )
    change: dict[str, Any] = {"handed_over": True}
    events.append(Event(UPDATED, at, state, change=change))
    return state


def _start_cycle(state: State, at: datetime, by: Agent, events: list[Event]) -> State:
    cycle = state.cycle
    state = state._replace(
        status=OPEN,
        cycle=cycle + 1,
        resolved_at=None,
        snoozed_until=None,
        waiting_since=None,
    )
    change = {"status": [RESOLVED, OPEN], "cycle": [cycle, cycle + 1], "reopened": True}
    events.append(Event(UPDATED, at, state, by, change))
    return state


def _change_status(
    state: State,
    status: str,
    at: datetime,
    by: Agent,
    snoozed_until: datetime | None,
    events: list[Event],
) -> State:
    change: dict[str, Any] = {"status": [state.status, status]}
    if snoozed_until:
        change["snoozed_until"] = snoozed_until.isoformat()
    state = state._replace(
        status=status, snoozed_until=snoozed_until if status == SNOOZED else None
    )
    events.append(Event(UPDATED, at, state, by, change))
    return state


def _later(current: datetime | None, at: datetime) -> datetime:
    return at if current is None or at > current else current


_RULES: dict[type, Callable[[State, Any, list[Event]], State]] = {
    PostMessage: _post_message,
    Assign: _assign,
    SetStatus: _set_status,
    Resolve: _resolve,
    Reopen: _reopen,
    Rate: _rate,
    Wake: _wake,
    HandOver: _hand_over,
}


# --- Checks (also asked by forms before anything is locked) -------------------------------------

PREVIEW_LENGTH = 160


def message_preview(body: str) -> str:
    """What inboxes show of the last public message: one line, cut to fit."""
    return " ".join(body.split())[:PREVIEW_LENGTH]


def preview_text(body: str, file_names: list[str]) -> str:
    """What a message says in a preview: its body, or for a file alone the file's name."""
    return body or " ".join(f"📎 {name}" for name in file_names)


def check_private_note(author_kind: str, private: bool) -> None:
    if private and author_kind != AGENT:
        raise InvalidInput(
            _("Only agents can write private notes."), fields={"private": _("Not allowed.")}
        )


def check_snooze(status: str, snoozed_until: datetime | None, at: datetime) -> None:
    if status == SNOOZED and (snoozed_until is None or snoozed_until <= at):
        raise InvalidInput(
            _("Snoozing needs a time in the future."),
            fields={"snoozed_until": _("Give a time in the future.")},
        )


def check_score(score: Any) -> int:
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise InvalidInput(
            _("Rate from 1 to 5."), fields={"score": _("A whole number from 1 to 5.")}
        )
    return score


def check_rateable(status: str, already_rated: bool) -> None:
    """Once per cycle, and only once the cycle is resolved."""
    if status != RESOLVED:
        raise NotAllowed(_("A conversation can be rated once it is resolved."), code="not_resolved")
    if already_rated:
        raise NotAllowed(_("This conversation has already been rated."), code="already_rated")
