"""The conversation's status machine, one (state, step) → (state, events) row each.

Read top to bottom, this table is the specification of the design's "Conversations" section:
what a customer message, a reply, an assignment, a status move, a resolution, a reopen, a
rating and an expiring snooze do to a conversation, and which events each one appends.
No database: the lifecycle is plain Python.
"""

from datetime import UTC, datetime, timedelta

import pytest

from conversations import lifecycle as lc
from conversations.errors import InvalidInput, NotAllowed
from conversations.lifecycle import (
    ASSIGNED,
    MESSAGE_CREATED,
    RATED,
    UPDATED,
    Assign,
    PostMessage,
    Rate,
    Reopen,
    Resolve,
    SetStatus,
    State,
    Wake,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


EARLIER = at(-60)
OPEN = State(status="open", last_activity_at=EARLIER)
WAITING = OPEN._replace(waiting_since=EARLIER, preview="Hello")
PENDING = OPEN._replace(status="pending")
SNOOZED = OPEN._replace(status="snoozed", snoozed_until=at(30))
RESOLVED = OPEN._replace(status="resolved", resolved_at=EARLIER)
ASSIGNED_ALICE = WAITING._replace(assignee="alice")
RATED_RESOLVED = RESOLVED._replace(rated_cycle=1)

customer = PostMessage(at(0), "customer", "Where is my order?")
reply = PostMessage(at(0), "agent", "  It ships\ntoday. ", agent="bob")
note = PostMessage(at(0), "agent", "Check the warehouse", private=True, agent="bob")
bot = PostMessage(at(0), "bot", "Try our help pages")
notice = PostMessage(at(0), "system", "We are closed now")
live_reply = PostMessage(at(0), "agent", "It ships today.", agent="bob", claim=True)
live_note = PostMessage(
    at(0), "agent", "Check the warehouse", private=True, agent="bob", claim=True
)

# (name, state, step, the new state's changed fields, [(event type, change)] in order)
TABLE = [
    # Messages
    (
        "a customer message starts a turn",
        OPEN,
        customer,
        dict(waiting_since=at(0), preview="Where is my order?", last_activity_at=at(0)),
        [(MESSAGE_CREATED, {})],
    ),
    (
        "a second customer message keeps the turn's start",
        WAITING,
        customer,
        dict(preview="Where is my order?", last_activity_at=at(0)),
        [(MESSAGE_CREATED, {})],
    ),
    (
        "a public reply answers the turn; the preview is one line",
        WAITING,
        reply,
        dict(waiting_since=None, preview="It ships today.", last_activity_at=at(0)),
        [(MESSAGE_CREATED, {})],
    ),
    (
        "a private note answers nobody and is not previewed",
        WAITING,
        note,
        dict(last_activity_at=at(0)),
        [(MESSAGE_CREATED, {})],
    ),
    (
        "a bot message is previewed but answers nobody",
        WAITING,
        bot,
        dict(preview="Try our help pages", last_activity_at=at(0)),
        [(MESSAGE_CREATED, {})],
    ),
    (
        "an automatic notice keeps the customer's words in the preview",
        WAITING,
        notice,
        dict(last_activity_at=at(0)),
        [(MESSAGE_CREATED, {})],
    ),
    (
        "a customer message turns a pending conversation open",
        PENDING,
        customer,
        dict(
            status="open",
            waiting_since=at(0),
            preview="Where is my order?",
            last_activity_at=at(0),
        ),
        [(UPDATED, {"status": ["pending", "open"]}), (MESSAGE_CREATED, {})],
    ),
    (
        "a customer message ends a snooze",
        SNOOZED,
        customer,
        dict(
            status="open",
            snoozed_until=None,
            waiting_since=at(0),
            preview="Where is my order?",
            last_activity_at=at(0),
        ),
        [(UPDATED, {"status": ["snoozed", "open"]}), (MESSAGE_CREATED, {})],
    ),
    (
        "a customer message reopens a resolved conversation: a new cycle",
        RESOLVED,
        customer,
        dict(
            status="open",
            cycle=2,
            resolved_at=None,
            waiting_since=at(0),
            preview="Where is my order?",
            last_activity_at=at(0),
        ),
        [
            (UPDATED, {"status": ["resolved", "open"], "cycle": [1, 2], "reopened": True}),
            (MESSAGE_CREATED, {}),
        ],
    ),
    (
        "an agent message on a resolved conversation reopens nothing",
        RESOLVED,
        reply,
        dict(preview="It ships today.", last_activity_at=at(0)),
        [(MESSAGE_CREATED, {})],
    ),
    # A live reply claims an unassigned conversation (an import's replies do not: above)
    (
        "a live reply assigns an unassigned conversation to its author, then answers",
        WAITING,
        live_reply,
        dict(
            assignee="bob",
            waiting_since=None,
            preview="It ships today.",
            last_activity_at=at(0),
        ),
        [(ASSIGNED, {"assignee": [None, "bob"], "by": "bob"}), (MESSAGE_CREATED, {})],
    ),
    (
        "a live reply leaves a colleague's conversation with them",
        ASSIGNED_ALICE,
        live_reply,
        dict(waiting_since=None, preview="It ships today.", last_activity_at=at(0)),
        [(MESSAGE_CREATED, {})],
    ),
    (
        "a private note claims nothing",
        WAITING,
        live_note,
        dict(last_activity_at=at(0)),
        [(MESSAGE_CREATED, {})],
    ),
    # Assignment
    (
        "assigning names the agent",
        WAITING,
        Assign(at(0), "alice", by="carol"),
        dict(assignee="alice"),
        [(ASSIGNED, {"assignee": [None, "alice"], "by": "carol"})],
    ),
    (
        "a transfer is noted in the assignment",
        ASSIGNED_ALICE,
        Assign(at(0), "bob", by="alice", transfer={"by": "alice", "note": 7}),
        dict(assignee="bob"),
        [
            (
                ASSIGNED,
                {
                    "assignee": ["alice", "bob"],
                    "by": "alice",
                    "transfer": {"by": "alice", "note": 7},
                },
            )
        ],
    ),
    (
        "assigning the assignee again changes nothing",
        ASSIGNED_ALICE,
        Assign(at(0), "alice"),
        {},
        [],
    ),
    (
        "unassigning",
        ASSIGNED_ALICE,
        Assign(at(0), None),
        dict(assignee=None),
        [(ASSIGNED, {"assignee": ["alice", None], "by": None})],
    ),
    # Status
    (
        "pending waits on the customer",
        WAITING,
        SetStatus(at(0), "pending", by="bob"),
        dict(status="pending"),
        [(UPDATED, {"status": ["open", "pending"]})],
    ),
    ("the same status again changes nothing", PENDING, SetStatus(at(0), "pending"), {}, []),
    (
        "snoozing until a time",
        WAITING,
        SetStatus(at(0), "snoozed", snoozed_until=at(60)),
        dict(status="snoozed", snoozed_until=at(60)),
        [(UPDATED, {"status": ["open", "snoozed"], "snoozed_until": at(60).isoformat()})],
    ),
    (
        "snoozing again moves the time",
        SNOOZED,
        SetStatus(at(0), "snoozed", snoozed_until=at(90)),
        dict(snoozed_until=at(90)),
        [(UPDATED, {"status": ["snoozed", "snoozed"], "snoozed_until": at(90).isoformat()})],
    ),
    (
        "open on a resolved conversation is a reopen",
        RESOLVED,
        SetStatus(at(0), "open", by="bob"),
        dict(status="open", cycle=2, resolved_at=None),
        [(UPDATED, {"status": ["resolved", "open"], "cycle": [1, 2], "reopened": True})],
    ),
    (
        "resolved as a status is a resolution",
        WAITING,
        SetStatus(at(0), "resolved"),
        dict(status="resolved", resolved_at=at(0), waiting_since=None, last_activity_at=at(0)),
        [(UPDATED, {"status": ["open", "resolved"], "resolved": True})],
    ),
    # Resolution and reopening
    (
        "resolving drops the unanswered turn",
        ASSIGNED_ALICE,
        Resolve(at(0)),
        dict(status="resolved", resolved_at=at(0), waiting_since=None, last_activity_at=at(0)),
        [(UPDATED, {"status": ["open", "resolved"], "resolved": True})],
    ),
    (
        "resolving a snoozed conversation ends the snooze",
        SNOOZED,
        Resolve(at(0), by="bob"),
        dict(status="resolved", resolved_at=at(0), snoozed_until=None, last_activity_at=at(0)),
        [(UPDATED, {"status": ["snoozed", "resolved"], "resolved": True})],
    ),
    ("resolving twice changes nothing", RESOLVED, Resolve(at(0)), {}, []),
    (
        "an explicit reopen starts a new cycle, waiting for the customer's next message",
        RESOLVED._replace(waiting_since=None),
        Reopen(at(0), by="bob"),
        dict(status="open", cycle=2, resolved_at=None),
        [(UPDATED, {"status": ["resolved", "open"], "cycle": [1, 2], "reopened": True})],
    ),
    ("reopening what is not resolved changes nothing", WAITING, Reopen(at(0)), {}, []),
    # Ratings
    (
        "a resolved cycle can be rated",
        RESOLVED,
        Rate(at(0), 4),
        dict(rated_cycle=1),
        [(RATED, {"rating": {"score": 4, "cycle": 1}})],
    ),
    # Snoozes that expire
    (
        "a snooze whose time has come opens the conversation",
        SNOOZED,
        Wake(at(30)),
        dict(status="open", snoozed_until=None),
        [(UPDATED, {"status": ["snoozed", "open"]})],
    ),
    ("a snooze before its time stays", SNOOZED, Wake(at(29)), {}, []),
    ("waking what is not snoozed changes nothing", PENDING, Wake(at(30)), {}, []),
]


@pytest.mark.parametrize(
    ("state", "step", "changed", "expected"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
def test_the_status_machine(state, step, changed, expected):
    new_state, events = lc.apply(state, step)
    assert new_state == state._replace(**changed)
    assert [(event.type, event.change) for event in events] == expected
    assert all(event.at == step.at for event in events)
    if events:  # the last event shows the state the step leaves behind
        assert events[-1].state == new_state


REFUSALS = [
    (
        "a customer cannot write a private note",
        WAITING,
        PostMessage(at(0), "customer", "Where is my order?", private=True),
        InvalidInput,
    ),
    ("an unknown status", WAITING, SetStatus(at(0), "archived"), InvalidInput),
    ("a snooze needs a time", WAITING, SetStatus(at(0), "snoozed"), InvalidInput),
    (
        "a snooze in the past",
        WAITING,
        SetStatus(at(0), "snoozed", snoozed_until=at(0)),
        InvalidInput,
    ),
    (
        "pending while resolved needs a reopen first",
        RESOLVED,
        SetStatus(at(0), "pending"),
        NotAllowed,
    ),
    ("rating before the resolution", WAITING, Rate(at(0), 5), NotAllowed),
    ("rating a cycle twice", RATED_RESOLVED, Rate(at(0), 5), NotAllowed),
    ("a score of 6", RESOLVED, Rate(at(0), 6), InvalidInput),
    ("a score that is not a whole number", RESOLVED, Rate(at(0), True), InvalidInput),
]


@pytest.mark.parametrize(
    ("state", "step", "error"), [row[1:] for row in REFUSALS], ids=[row[0] for row in REFUSALS]
)
def test_steps_that_break_a_rule_are_refused(state, step, error):
    with pytest.raises(error):
        lc.apply(state, step)


def test_events_carry_the_state_each_one_leaves_behind():
    state, (reopened, posted) = lc.apply(RESOLVED, customer)
    assert reopened.state.cycle == 2 and reopened.state.waiting_since is None
    assert posted.state == state and posted.message and posted.public


def test_the_resolution_credits_whoever_resolves_else_the_assignee():
    _state, (by_bob,) = lc.apply(ASSIGNED_ALICE, Resolve(at(0), by="bob"))
    _state, (by_nobody,) = lc.apply(ASSIGNED_ALICE, Resolve(at(0)))
    assert (by_bob.agent, by_nobody.agent) == ("bob", "alice")


def test_a_new_conversation_names_its_team():
    state, (created,) = lc.create(at=at(0), team=3)
    assert state == State(last_activity_at=at(0))
    assert (created.type, created.change) == (lc.CREATED, {"team": [None, 3]})


def test_at_one_instant_events_then_messages_then_a_resolution_then_ratings():
    kinds = ["rating", "resolved", "message", "assigned", "status", "reopened"]
    assert sorted(kinds, key=lc.simultaneous_rank) == [
        "assigned",
        "status",
        "reopened",
        "message",
        "resolved",
        "rating",
    ]
