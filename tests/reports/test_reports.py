"""Reports from live history: rollups, exact percentiles, rebuild = incremental."""

import random
import statistics
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from conversations.events import publish_pending_events
from conversations.services import (
    Author,
    conversation_assign,
    conversation_rate,
    conversation_request_callback,
    conversation_resolve,
    conversation_set_status,
    conversation_start,
    message_post,
)
from reports.models import MetricFact, MetricHistogram, MetricRollup
from reports.selectors import Slice, _histogram_plan, split_range, summary, timeseries
from reports.services import process_new_events, rebuild_all

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def reply(conversation, agent, minute: float, body: str = "reply"):
    message_post(
        conversation=conversation,
        author=Author.of_agent(agent),
        body=body,
        client_id=f"a{minute}-{conversation.pk}",
        at=at(minute),
    )


def customer_says(conversation, minute: float):
    message_post(
        conversation=conversation,
        author=Author.customer(),
        body="hi",
        client_id=f"c{minute}-{conversation.pk}",
        at=at(minute),
    )


def snapshot() -> tuple:
    rows = lambda model, *fields: sorted(model.objects.values_list(*fields))  # noqa: E731
    return (
        rows(
            MetricFact,
            "conversation_id",
            "cycle",
            "metric",
            "at",
            "value",
            "bucket",
            "team_id",
            "agent_id",
            "channel",
            "inbox_id",
        ),
        rows(
            MetricRollup,
            "granularity",
            "start",
            "metric",
            "team_id",
            "agent_id",
            "channel",
            "inbox_id",
            "count",
            "total",
            "positive",
            "negative",
        ),
        rows(
            MetricHistogram,
            "day",
            "metric",
            "team_id",
            "agent_id",
            "channel",
            "inbox_id",
            "bucket",
            "count",
        ),
    )


def test_a_known_history_gives_known_numbers_and_the_rebuild_agrees(
    make_customer, make_agent, make_team
):
    team = make_team(name="billing")
    alice = make_agent(teams=[team])
    conversation, _ = conversation_start(
        customer=make_customer(), body="Fatura", client_id="c0", team=team, at=at(0)
    )
    conversation_assign(conversation=conversation, assignee=alice, at=at(1))
    reply(conversation, alice, 5)
    conversation_set_status(conversation=conversation, status="pending", at=at(6))
    # an escalation, then its number corrected (still one request), cleared, asked again
    conversation_request_callback(conversation=conversation, phone="+90 555", by=alice, at=at(7))
    conversation_request_callback(conversation=conversation, phone="+90 5551", by=alice, at=at(8))
    conversation_request_callback(conversation=conversation, phone=None, by=alice, at=at(9))
    conversation_request_callback(conversation=conversation, phone="0212 555", at=at(10))
    customer_says(conversation, 16)
    reply(conversation, alice, 18)
    conversation_resolve(conversation=conversation, at=at(20))
    conversation_rate(conversation=conversation, score=5, at=at(21))
    publish_pending_events()
    assert process_new_events() == 1

    report = summary(at(-60 * 24), at(60 * 24), Slice())
    assert report["conversations"] | {"open_now": None} == {
        "created": 1,
        "resolved": 1,
        "reopened": 0,
        "escalated": 2,
        "bot_resolved": 0,
        "handed_over": 0,
        "open_now": None,
    }
    # each request at its moment, credited to who asked (else the assignee), in its team
    escalations = MetricFact.objects.filter(metric="escalated").order_by("at")
    assert [(f.at, f.agent_id, f.team_id) for f in escalations] == [
        (at(7), alice.pk, team.pk),
        (at(10), alice.pk, team.pk),
    ]
    assert summary(at(8), at(60), Slice())["conversations"]["escalated"] == 1
    assert summary(at(-60), at(60), Slice(team=team.pk + 1))["conversations"]["escalated"] == 0
    assert report["first_response_time"] == {
        "count": 1,
        "mean": 300.0,
        "median": 300.0,
        "p90": 300.0,
    }
    assert report["wait_time"]["count"] == 2 and report["wait_time"]["mean"] == 210.0
    assert report["wait_time"]["median"] == 210.0 and report["wait_time"]["p90"] == pytest.approx(
        282.0
    )
    # assigned+open: 1→6 and 16→20 = 9 minutes
    assert report["handle_time"]["mean"] == 540.0
    assert report["resolution_time"]["mean"] == 1200.0
    assert report["csat"] == {
        "responses": 1,
        "score_percent": 100.0,
        "mean": 5.0,
        "response_rate": 1.0,
    }

    assert summary(at(-60), at(60 * 24), Slice(team=team.pk))["handle_time"]["count"] == 1
    assert summary(at(-60), at(60 * 24), Slice(team=team.pk + 1))["handle_time"]["count"] == 0
    assert summary(at(-60), at(60 * 24), Slice(agent=alice.pk))["wait_time"]["count"] == 2

    incremental = snapshot()
    rebuild_all(chunk_size=1)
    assert snapshot() == incremental


def test_period_includes_its_start_and_excludes_its_end(start_conversation, make_agent):
    agent = make_agent()
    conversation = start_conversation(at=at(0))
    reply(conversation, agent, 10)  # first response completes at minute 10
    publish_pending_events()
    process_new_events()
    assert summary(at(10), at(11), Slice())["first_response_time"]["count"] == 1
    assert summary(at(9), at(10), Slice())["first_response_time"]["count"] == 0


def test_percentiles_are_exact_over_many_values_and_any_range(make_customer, make_agent):
    rng = random.Random(7)
    agent = make_agent()
    waits = {}
    for n in range(60):
        start = rng.uniform(0, 60 * 24 * 5)  # over five days, so days, hours and minutes all count
        delay = rng.choice([rng.uniform(0, 1), rng.uniform(1, 120), rng.uniform(60, 6000)])
        conversation, _ = conversation_start(
            customer=make_customer(), body="q", client_id=f"s{n}", at=at(start)
        )
        reply(conversation, agent, start + delay / 60)
        waits[at(start + delay / 60)] = (at(start + delay / 60) - at(start)).total_seconds()
    publish_pending_events()
    process_new_events()
    for since, until in [
        (at(-1), at(60 * 24 * 6)),
        (at(37.5), at(60 * 24 * 3 + 11.25)),
        (at(600), at(700)),
    ]:
        values = sorted(v for moment, v in waits.items() if since <= moment < until)
        report = summary(since, until, Slice())["wait_time"]
        assert report["count"] == len(values)
        if len(values) >= 2:
            deciles = statistics.quantiles(values, n=10, method="inclusive")
            assert report["median"] == pytest.approx(statistics.median(values), abs=1e-6)
            assert report["p90"] == pytest.approx(deciles[8], abs=1e-6)
            assert report["mean"] == pytest.approx(statistics.fmean(values), abs=1e-6)


def test_percentiles_agree_whichever_way_the_edge_days_are_read(make_customer, make_agent):
    """Edge days are read as their facts or as the whole day minus the rest of it
    (selectors._histogram_plan): every shape of range gives the exact percentiles."""
    rng = random.Random(11)
    agent = make_agent()
    waits = {}
    for n in range(80):
        start = rng.uniform(-60 * 9, 60 * 24 * 3)  # from midnight of T0's day, over three days
        conversation, _ = conversation_start(
            customer=make_customer(), body="q", client_id=f"e{n}", at=at(start)
        )
        delay = rng.uniform(1, 3000)
        reply(conversation, agent, start + delay / 60)
        waits[at(start + delay / 60)] = (at(start + delay / 60) - at(start)).total_seconds()
    publish_pending_events()
    process_new_events()
    midnight = at(-60 * 9)
    for since, until in [
        (midnight, midnight + timedelta(hours=20)),  # a day minus its last 4 hours
        (midnight + timedelta(hours=2), midnight + timedelta(days=1)),  # minus its first 2
        (midnight + timedelta(hours=22), midnight + timedelta(days=1, hours=3)),  # one midnight
        (midnight + timedelta(hours=5), midnight + timedelta(days=2, hours=13)),  # both taken
        (midnight + timedelta(hours=20), midnight + timedelta(days=2, hours=4)),  # both added
        (midnight + timedelta(hours=3), midnight + timedelta(hours=21)),  # inside one day
    ]:
        values = sorted(v for moment, v in waits.items() if since <= moment < until)
        report = summary(since, until, Slice())["wait_time"]
        assert report["count"] == len(values)
        assert len(values) >= 2
        deciles = statistics.quantiles(values, n=10, method="inclusive")
        assert report["median"] == pytest.approx(statistics.median(values), abs=1e-6)
        assert report["p90"] == pytest.approx(deciles[8], abs=1e-6)


def test_histogram_plan_reads_at_most_half_a_day_of_facts_per_edge():
    day = datetime(2026, 3, 2, tzinfo=UTC)
    plan = _histogram_plan(day + timedelta(hours=5), day + timedelta(days=3, hours=2))
    assert (plan.first_day, plan.last_day) == (day, day + timedelta(days=3))
    assert plan.facts == [
        (day, day + timedelta(hours=5), -1),
        (day + timedelta(days=3), day + timedelta(days=3, hours=2), 1),
    ]
    inside = _histogram_plan(day + timedelta(hours=1), day + timedelta(hours=2))
    assert inside.first_day == inside.last_day
    assert inside.facts == [(day + timedelta(hours=1), day + timedelta(hours=2), 1)]


def test_split_range_uses_days_hours_and_minutes():
    segments = split_range(
        datetime(2026, 3, 1, 21, 30, tzinfo=UTC), datetime(2026, 3, 4, 2, 15, tzinfo=UTC)
    )
    assert segments.days == [(datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC))]
    assert segments.hours == [
        (datetime(2026, 3, 1, 22, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)),
        (datetime(2026, 3, 4, tzinfo=UTC), datetime(2026, 3, 4, 2, tzinfo=UTC)),
    ]
    assert segments.raw == [
        (datetime(2026, 3, 1, 21, 30, tzinfo=UTC), datetime(2026, 3, 1, 22, tzinfo=UTC)),
        (datetime(2026, 3, 4, 2, tzinfo=UTC), datetime(2026, 3, 4, 2, 15, tzinfo=UTC)),
    ]


def test_timeseries_days_follow_the_time_zone(make_customer):
    # 22:30 UTC on 2 March is already 3 March in Istanbul (UTC+3)
    for n, moment in enumerate(
        [datetime(2026, 3, 2, 20, 0, tzinfo=UTC), datetime(2026, 3, 2, 22, 30, tzinfo=UTC)]
    ):
        conversation_start(customer=make_customer(), body="x", client_id=f"tz{n}", at=moment)
    publish_pending_events()
    process_new_events()
    since, until = datetime(2026, 3, 1, 21, tzinfo=UTC), datetime(2026, 3, 3, 21, tzinfo=UTC)
    utc = timeseries("created", "day", ZoneInfo("UTC"), since, until, Slice())
    istanbul = timeseries("created", "day", ZoneInfo("Europe/Istanbul"), since, until, Slice())
    assert [(p["start"][:10], p["value"]) for p in istanbul["points"]] == [
        ("2026-03-02", 1),
        ("2026-03-03", 1),
    ]
    assert [p["value"] for p in utc["points"] if p["start"].startswith("2026-03-02")] == [2]
