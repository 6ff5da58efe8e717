"""The metric definitions of DESIGN.md ("Metrics"), as one walk over a conversation's history.

`facts_for(steps)` turns a conversation's history, oldest first, into the values the reports
aggregate: one Fact per measured value, stamped with the moment it completes (the period it
falls in), the agent it is credited to and the conversation's team at that moment. Both the
incremental task and the full rebuild call it, so they cannot disagree.
"""

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, NamedTuple


class Metric:
    FIRST_RESPONSE = "first_response_time"
    WAIT = "wait_time"
    HANDLE = "handle_time"
    RESOLUTION = "resolution_time"
    CSAT = "csat"
    NPS = "nps"  # a 0–10 "would you recommend us?" answer after the conversation
    CREATED = "created"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    MESSAGES_IN = "messages_in"
    MESSAGES_OUT = "messages_out"
    ESCALATED = "escalated"  # a "call back by phone" request
    BOT_RESOLVED = "bot_resolved"  # resolved while the bot held it: no human took part
    HANDED_OVER = "handed_over"  # the bot passed it to the team's queue
    # A campaign's invitation answered: the customer's reply started the conversation …
    CAMPAIGN_ANSWERED = "campaign_answered"
    # … which an agent then answered: the conversation the invitation produced.
    CAMPAIGN_CONVERSATION = "campaign_conversation"

    DURATIONS = (FIRST_RESPONSE, WAIT, HANDLE, RESOLUTION)
    COUNTS = (
        CREATED,
        RESOLVED,
        REOPENED,
        MESSAGES_IN,
        MESSAGES_OUT,
        ESCALATED,
        BOT_RESOLVED,
        HANDED_OVER,
        CAMPAIGN_ANSWERED,
        CAMPAIGN_CONVERSATION,
    )


class Step:
    """Kinds of history step; only what the definitions look at."""

    CUSTOMER_MESSAGE = "customer_message"
    AGENT_REPLY = (
        "agent_reply"  # a public message by an agent (bots, system, notes are not replies)
    )
    ASSIGN = "assign"  # agent=None unassigns
    STATUS = "status"  # open | pending | snoozed
    RESOLVE = "resolve"
    REOPEN = "reopen"
    RATE = "rate"
    NPS = "nps"  # the customer answered the NPS question after this conversation
    TEAM = "team"
    ESCALATE = "escalate"  # a call back by phone was requested (agent: who asked)
    BOT = "bot"  # the conversation starts with the bot answering (docs/bot.md)
    HANDOVER = "handover"  # … which passes it to the team's queue
    CAMPAIGN = "campaign"  # it answers a campaign's invitation (agent: its sender, if any)


# NamedTuples rather than dataclasses: a full rebuild makes tens of millions of them, and a
# tuple is built several times faster.
class HistoryStep(NamedTuple):
    at: datetime
    kind: str
    agent: int | None = None
    status: str | None = None
    team: int | None = None
    score: int | None = None


class Fact(NamedTuple):
    metric: str
    at: datetime
    value: float
    agent: int | None
    team: int | None
    cycle: int


OPEN, PENDING, SNOOZED, RESOLVED = "open", "pending", "snoozed", "resolved"


class _Walk:
    """The state of one conversation while its history is replayed."""

    def __init__(self) -> None:
        self.facts: list[Fact] = []
        self.status = OPEN
        self.in_cycle = False
        self.cycle = 0
        self.cycle_start: datetime | None = None
        self.reply_clock_start: datetime | None = None  # first response counts from here
        self.with_bot = False
        self.turn_start: datetime | None = None
        self.replied = False
        self.assignee: int | None = None
        self.had_assignee = False
        self.assigned_open = 0.0  # seconds assigned and open in this cycle
        self.open_since_reply = 0.0  # seconds open since the first reply (the fallback)
        self.team: int | None = None
        self.resolver: int | None = None
        self.clock: datetime | None = None
        self.from_campaign = False
        self.campaign_sender: int | None = None

    def emit(self, metric: str, at: datetime, value: float, agent: int | None) -> None:
        self.facts.append(Fact(metric, at, value, agent, self.team, self.cycle))

    def advance(self, at: datetime) -> None:
        """Let the handle clocks run from the previous step up to `at`."""
        if self.clock is not None and self.in_cycle and self.status == OPEN and at > self.clock:
            elapsed = (at - self.clock).total_seconds()
            if self.assignee is not None:
                self.assigned_open += elapsed
            if self.replied:
                self.open_since_reply += elapsed
        if self.clock is None or at > self.clock:
            self.clock = at

    def start_cycle(self, at: datetime) -> None:
        self.cycle += 1
        self.in_cycle = True
        self.status = OPEN
        self.cycle_start = at
        self.reply_clock_start = at
        self.turn_start = None
        self.replied = False
        self.had_assignee = self.assignee is not None  # an assignee kept from before holds
        self.assigned_open = 0.0
        self.open_since_reply = 0.0
        self.emit(Metric.CREATED if self.cycle == 1 else Metric.REOPENED, at, 1, self.assignee)
        if self.from_campaign and self.cycle == 1:
            self.emit(Metric.CAMPAIGN_ANSWERED, at, 1, self.campaign_sender)

    def customer_message(self, at: datetime) -> None:
        self.emit(Metric.MESSAGES_IN, at, 1, None)
        if not self.in_cycle:
            self.start_cycle(at)
        elif self.status in (PENDING, SNOOZED):
            self.status = OPEN
        if self.turn_start is None:
            self.turn_start = at

    def agent_reply(self, at: datetime, agent: int | None) -> None:
        self.emit(Metric.MESSAGES_OUT, at, 1, agent)
        if not self.in_cycle:
            return  # a reply outside a cycle counts for nothing
        assert self.reply_clock_start is not None
        if not self.replied:
            self.replied = True
            first = (at - self.reply_clock_start).total_seconds()
            self.emit(Metric.FIRST_RESPONSE, at, first, agent)
            if self.from_campaign and self.cycle == 1:
                self.emit(Metric.CAMPAIGN_CONVERSATION, at, 1, self.campaign_sender)
        if self.turn_start is not None:
            self.emit(Metric.WAIT, at, (at - self.turn_start).total_seconds(), agent)
            self.turn_start = None

    def assign(self, agent: int | None) -> None:
        self.assignee = agent
        if agent is not None and self.in_cycle:
            self.had_assignee = True

    def set_status(self, status: str) -> None:
        if self.in_cycle and status in (OPEN, PENDING, SNOOZED):
            self.status = status

    def resolve(self, at: datetime, agent: int | None) -> None:
        if not self.in_cycle:
            return
        assert self.cycle_start is not None
        credited = agent if agent is not None else self.assignee
        self.emit(Metric.RESOLVED, at, 1, credited)
        if self.with_bot:
            self.emit(Metric.BOT_RESOLVED, at, 1, None)
        self.emit(Metric.RESOLUTION, at, (at - self.cycle_start).total_seconds(), credited)
        if self.had_assignee:
            self.emit(Metric.HANDLE, at, self.assigned_open, credited)
        elif self.replied:
            self.emit(Metric.HANDLE, at, self.open_since_reply, credited)
        self.resolver = credited
        self.in_cycle = False
        self.status = RESOLVED
        self.turn_start = None  # an unanswered turn is dropped at resolution

    def hand_over(self, at: datetime) -> None:
        """From the bot to a person: first response and wait count from now, as if the
        customer had just written (resolution time still counts from the cycle's start)."""
        if not self.with_bot:
            return
        self.with_bot = False
        self.emit(Metric.HANDED_OVER, at, 1, None)
        if self.in_cycle:
            self.reply_clock_start = at
            self.turn_start = at

    def reopen(self, at: datetime) -> None:
        if self.status == RESOLVED and self.cycle:
            self.start_cycle(at)

    def rate(self, at: datetime, score: int) -> None:
        self.emit(Metric.CSAT, at, score, self.resolver)

    def nps(self, at: datetime, score: int) -> None:
        """Credited like CSAT to the agent who resolved; before any resolution, the assignee."""
        self.emit(
            Metric.NPS, at, score, self.resolver if self.resolver is not None else self.assignee
        )

    def escalate(self, at: datetime, agent: int | None) -> None:
        """Counted when requested, credited to the agent who asked (else the assignee)."""
        self.emit(Metric.ESCALATED, at, 1, agent if agent is not None else self.assignee)


def facts_for(steps: Iterable[HistoryStep]) -> list[Fact]:
    """Every metric value of one conversation, from its history in the order it happened."""
    walk = _Walk()
    for step in steps:
        walk.advance(step.at)
        kind = step.kind
        if kind == Step.CUSTOMER_MESSAGE:
            walk.customer_message(step.at)
        elif kind == Step.AGENT_REPLY:
            walk.agent_reply(step.at, step.agent)
        elif kind == Step.ASSIGN:
            walk.assign(step.agent)
        elif kind == Step.STATUS:
            walk.set_status(step.status or "")
        elif kind == Step.RESOLVE:
            walk.resolve(step.at, step.agent)
        elif kind == Step.REOPEN:
            walk.reopen(step.at)
        elif kind == Step.RATE:
            walk.rate(step.at, step.score or 0)
        elif kind == Step.NPS:
            walk.nps(step.at, step.score or 0)
        elif kind == Step.TEAM:
            walk.team = step.team
        elif kind == Step.ESCALATE:
            walk.escalate(step.at, step.agent)
        elif kind == Step.BOT:
            walk.with_bot = True
        elif kind == Step.HANDOVER:
            walk.hand_over(step.at)
        elif kind == Step.CAMPAIGN:
            walk.from_campaign, walk.campaign_sender = True, step.agent
    return walk.facts


# --- From the event log ----------------------------------------------------------------------

EVENT_FIELDS = ("type", "at", "agent_id", "author_kind", "public", "change")


def steps_from_events(events: Iterable[tuple[Any, ...]]) -> Iterator[HistoryStep]:
    """Translate ConversationEvent rows (EVENT_FIELDS, in log order) into history steps."""
    for type_, at, agent_id, author_kind, public, change in events:
        if type_ == "message.created":
            if author_kind == "customer":
                yield HistoryStep(at, Step.CUSTOMER_MESSAGE)
            elif author_kind == "agent" and public:
                yield HistoryStep(at, Step.AGENT_REPLY, agent=agent_id)
        elif type_ == "conversation.assigned":
            yield HistoryStep(at, Step.ASSIGN, agent=change["assignee"][1])
        elif type_ in ("conversation.created", "conversation.updated"):
            yield from _steps_from_update(at, agent_id, change)
        elif type_ == "conversation.rated":
            yield HistoryStep(at, Step.RATE, score=change["rating"]["score"])
        elif type_ == "conversation.nps_answered":
            yield HistoryStep(at, Step.NPS, score=change["nps"]["score"])


def _steps_from_update(
    at: datetime, agent_id: int | None, change: dict[str, Any]
) -> Iterator[HistoryStep]:
    if "team" in change:
        yield HistoryStep(at, Step.TEAM, team=change["team"][1])
    if change.get("bot"):
        yield HistoryStep(at, Step.BOT)
    if change.get("campaign"):
        yield HistoryStep(at, Step.CAMPAIGN, agent=change["campaign"]["sender"])
    if change.get("handed_over"):
        yield HistoryStep(at, Step.HANDOVER)
    before_phone, after_phone = change.get("callback_phone") or [None, None]
    if after_phone and not before_phone:  # a new request; a corrected number is not another
        yield HistoryStep(at, Step.ESCALATE, agent=agent_id)
    if change.get("reopened"):
        yield HistoryStep(at, Step.REOPEN)
    elif change.get("resolved"):
        yield HistoryStep(at, Step.RESOLVE, agent=agent_id)
    elif "status" in change:
        yield HistoryStep(at, Step.STATUS, status=change["status"][1])
