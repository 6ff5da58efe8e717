"""Random histories through the live services and through import + rebuild give the numbers
of a plain reference reading of the definitions (tests/reports/reference.py)."""

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations.events import publish_pending_events
from conversations.history.replay import import_lines
from conversations.models import Conversation
from conversations.services import (
    Author,
    conversation_assign,
    conversation_rate,
    conversation_reopen,
    conversation_resolve,
    conversation_set_status,
    conversation_start,
    customer_create,
    message_post,
)
from reports.models import MetricFact
from reports.services import process_new_events, rebuild_all

from .reference import reference_facts

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 2, 1, 8, 0, tzinfo=UTC)
AGENTS = ("ayse@example.com", "mehmet@example.com", "alice@example.com")
_serial = itertools.count()

agent_index = st.integers(0, len(AGENTS) - 1)


@st.composite
def histories(draw: Any) -> list[dict[str, Any]]:
    """Valid action sequences: what a customer and agents could do, in time order. A
    resolution or a rating may share the instant of the action before it ("reply and
    resolve"), which the fine print orders after messages."""
    actions = [{"kind": "customer", "at": 0}]
    at, resolved, rated = 0, False, False
    for _ in range(draw(st.integers(0, 24))):
        common = ["customer", "agent", "bot", "system", "note", "assign", "reopen"]
        kinds = (
            common + (["rate"] if resolved and not rated else [])
            if resolved
            else common + ["pending", "snoozed", "open", "resolve"]
        )
        kind = draw(st.sampled_from(kinds))
        at += draw(st.integers(0 if kind in ("resolve", "rate") else 1, 4000))
        action: dict[str, Any] = {"kind": kind, "at": at}
        if kind in ("agent", "note"):
            action["agent"] = draw(agent_index)
        elif kind in ("assign", "resolve"):
            action["agent"] = draw(st.one_of(st.none(), agent_index))
        elif kind == "rate":
            action["score"] = draw(st.integers(1, 5))
        if kind == "resolve":
            resolved, rated = True, False
        elif kind in ("customer", "reopen") and resolved:
            resolved = False
        elif kind == "rate":
            rated = True
        actions.append(action)
    return actions


def as_lived(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The actions with what live use adds: a public agent reply to an unassigned
    conversation assigns it to the replier at that instant (an import does only what its
    file says, and the reference reads only the actions)."""
    lived, assignee = [], None
    for action in actions:
        if action["kind"] == "agent" and assignee is None:
            lived.append({"kind": "assign", "at": action["at"], "agent": action["agent"]})
            assignee = action["agent"]
        elif action["kind"] == "assign":
            assignee = action["agent"]
        lived.append(action)
    return lived


def moment(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def play_live(actions: list[dict[str, Any]], agents: list[Any]) -> Conversation:
    tag = next(_serial)
    customer = customer_create(name="Live")
    conversation, _ = conversation_start(
        customer=customer, body="start", client_id=f"{tag}-0", at=moment(0)
    )
    for n, action in enumerate(actions[1:], start=1):
        kind, at, who = action["kind"], moment(action["at"]), action.get("agent")
        agent = agents[who] if who is not None else None
        client_id = f"{tag}-{n}"
        if kind == "customer":
            message_post(
                conversation=conversation,
                author=Author.customer(),
                body="c",
                client_id=client_id,
                at=at,
            )
        elif kind in ("agent", "note"):
            message_post(
                conversation=conversation,
                author=Author.of_agent(agent),
                body="a",
                client_id=client_id,
                private=kind == "note",
                at=at,
            )
        elif kind in ("bot", "system"):  # an out-of-hours auto-reply is a system message
            message_post(
                conversation=conversation,
                author=Author(kind),
                body="b",
                client_id=client_id,
                at=at,
            )
        elif kind == "assign":
            conversation_assign(conversation=conversation, assignee=agent, at=at)
        elif kind in ("pending", "open"):
            conversation_set_status(conversation=conversation, status=kind, at=at)
        elif kind == "snoozed":
            conversation_set_status(
                conversation=conversation, status=kind, snoozed_until=at + timedelta(days=30), at=at
            )
        elif kind == "resolve":
            conversation_resolve(conversation=conversation, by=agent, at=at)
        elif kind == "reopen":
            conversation_reopen(conversation=conversation, at=at)
        elif kind == "rate":
            conversation_rate(conversation=conversation, score=action["score"], at=at)
    return conversation


def as_import_line(actions: list[dict[str, Any]]) -> tuple[str, str]:
    external_id = f"prop-{next(_serial)}"
    messages, events, ratings = [], [], []
    for action in actions:
        kind, at, who = action["kind"], moment(action["at"]).isoformat(), action.get("agent")
        email = AGENTS[who] if who is not None else None
        if kind == "customer":
            messages.append({"author_kind": "customer", "body": "c", "sent_at": at})
        elif kind in ("agent", "note"):
            messages.append(
                {
                    "author_kind": "agent",
                    "agent": email,
                    "body": "a",
                    "sent_at": at,
                    "private": kind == "note",
                }
            )
        elif kind in ("bot", "system"):
            messages.append({"author_kind": kind, "body": "b", "sent_at": at})
        elif kind == "assign":
            events.append({"type": "assigned", "agent": email, "at": at})
        elif kind in ("pending", "open", "snoozed"):
            events.append({"type": "status", "status": kind, "at": at})
        elif kind == "resolve":
            events.append({"type": "resolved", "agent": email, "at": at})
        elif kind == "reopen":
            events.append({"type": "reopened", "at": at})
        elif kind == "rate":
            ratings.append({"score": action["score"], "at": at})
    record = {
        "external_id": external_id,
        "channel": "web",
        "customer": {"external_id": f"cust-{external_id}", "name": "Imported"},
        "messages": messages,
        "events": events,
        "ratings": ratings,
    }
    return external_id, json.dumps(record)


def stored_facts(conversation_id: int, agent_index_by_id: dict[int, int]) -> set[tuple]:
    rows = MetricFact.objects.filter(conversation_id=conversation_id).values_list(
        "metric", "at", "value", "agent_id"
    )
    return {
        (metric, (at - T0).total_seconds(), round(value, 6), agent_index_by_id.get(agent_id))
        for metric, at, value, agent_id in rows
    }


def rounded(facts: set[tuple]) -> set[tuple]:
    return {(metric, at, round(value, 6), agent) for metric, at, value, agent in facts}


@pytest.fixture
def agents(make_agent):
    return [make_agent(email) for email in AGENTS]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=histories())
def test_live_and_imported_histories_match_the_reference(agents, actions):
    index_by_id = {agent.pk: n for n, agent in enumerate(agents)}
    expected = rounded(reference_facts(as_lived(actions)))

    live = play_live(actions, agents)
    publish_pending_events()
    process_new_events()
    assert stored_facts(live.pk, index_by_id) == expected, "incremental path"

    external_id, line = as_import_line(as_lived(actions))
    result = import_lines([line])
    assert result.created == 1, result
    publish_pending_events()
    rebuild_all()
    imported = Conversation.objects.get(external_id=external_id)
    assert stored_facts(imported.pk, index_by_id) == expected, "import + rebuild"
    assert stored_facts(live.pk, index_by_id) == expected, "the rebuild keeps the live numbers"
