"""NPS in the reports: the summary's numbers, slices by team and agent, the time series, the
agent table and the report API, the same after rebuild_reports (docs/reports.md "NPS")."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from conversations.events import publish_pending_events
from conversations.services import (
    conversation_assign,
    conversation_resolve,
    conversation_start,
    customer_answer_nps,
)
from reports.selectors import Slice, agent_table, summary, timeseries
from reports.services import process_new_events

from .test_reports import snapshot

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def answered_after(conversation, score: int, minute: float, resolver=None) -> None:
    conversation_resolve(conversation=conversation, by=resolver, at=at(minute - 1))
    customer_answer_nps(
        customer=conversation.customer, conversation=conversation, score=score, at=at(minute)
    )


@pytest.fixture
def answers(make_customer, make_agent, make_team):
    """Billing (Alice): 10, 9, 7, 3; Sales (Bob): 0; one 8 after no conversation; one 10 a
    day later. Returns (billing, sales, alice, bob)."""
    billing, sales = make_team(name="billing"), make_team(name="sales")
    alice, bob = make_agent(teams=[billing]), make_agent(teams=[sales])
    for n, score in enumerate([10, 9, 7, 3]):
        conversation, _ = conversation_start(
            customer=make_customer(), body="help", client_id=f"b{n}", team=billing, at=at(n)
        )
        conversation_assign(conversation=conversation, assignee=alice, at=at(n))
        answered_after(conversation, score, 30 + n, resolver=alice)
    theirs, _ = conversation_start(
        customer=make_customer(), body="yardım", client_id="s0", team=sales, at=at(0)
    )
    conversation_assign(conversation=theirs, assignee=bob, at=at(1))
    answered_after(theirs, 0, 40)  # resolved by nobody named: the assignee is credited
    customer_answer_nps(customer=make_customer(), score=8, at=at(50))
    later, _ = conversation_start(customer=make_customer(), body="x", client_id="l", at=at(0))
    answered_after(later, 10, 60 * 24 + 5)
    publish_pending_events()
    while process_new_events():
        pass
    return billing, sales, alice, bob


def test_the_summary_counts_promoters_passives_and_detractors(answers):
    nps = summary(at(-60), at(120), Slice())["nps"]
    # 10, 9 promoters; 7, 8 passives; 3, 0 detractors: (2 − 2) / 6
    assert nps == {"responses": 6, "promoters": 2, "passives": 2, "detractors": 2, "score": 0.0}
    both_days = summary(at(-60), at(60 * 48), Slice())["nps"]
    assert both_days["responses"] == 7
    assert both_days["score"] == pytest.approx(100 * (3 - 2) / 7)


def test_without_answers_the_score_is_null(answers):
    assert summary(at(-600), at(-60), Slice())["nps"] == {
        "responses": 0,
        "promoters": 0,
        "passives": 0,
        "detractors": 0,
        "score": None,
    }


def test_slices_by_team_and_agent_follow_the_conversation(answers):
    billing, sales, alice, bob = answers
    by_billing = summary(at(-60), at(120), Slice(team=billing.pk))["nps"]
    assert by_billing == {
        "responses": 4,
        "promoters": 2,
        "passives": 1,
        "detractors": 1,
        "score": 25.0,
    }
    assert summary(at(-60), at(120), Slice(agent=alice.pk))["nps"] == by_billing
    by_bob = summary(at(-60), at(120), Slice(agent=bob.pk))["nps"]
    assert (by_bob["responses"], by_bob["score"]) == (1, -100.0)
    assert summary(at(-60), at(120), Slice(team=sales.pk))["nps"] == by_bob
    # the answer after no conversation has no team, agent or channel
    web = summary(at(-60), at(120), Slice(channel="web"))["nps"]
    assert web["responses"] == 5 and web["passives"] == 1
    rows = {row["agent"]["id"]: row["nps"] for row in agent_table(at(-60), at(120), Slice())}
    assert rows[alice.pk] == by_billing and rows[bob.pk] == by_bob


def test_an_answer_falls_in_the_period_of_its_moment(answers):
    assert summary(at(33), at(40), Slice())["nps"]["responses"] == 1  # the 3 at minute 33
    assert summary(at(33), at(40.001), Slice())["nps"]["responses"] == 2
    assert summary(at(50), at(51), Slice())["nps"]["passives"] == 1  # after no conversation


def test_nps_is_a_timeseries_metric(answers):
    series = timeseries("nps", "day", ZoneInfo("UTC"), at(-60), at(60 * 48), Slice())
    assert [(p["start"][:10], p["count"], p["value"]) for p in series["points"]] == [
        ("2026-03-02", 6, 0.0),
        ("2026-03-03", 1, 100.0),
        ("2026-03-04", 0, None),
    ]
    hourly = timeseries("nps", "hour", ZoneInfo("UTC"), at(-60), at(60), Slice())
    assert [p["count"] for p in hourly["points"]] == [0, 6]
    weekly = timeseries("nps", "week", ZoneInfo("Europe/Istanbul"), at(-60), at(60 * 48), Slice())
    assert [(p["start"], p["count"]) for p in weekly["points"]] == [
        ("2026-03-02T00:00:00+03:00", 7)
    ]
    billing = answers[0]
    by_team = timeseries("nps", "day", ZoneInfo("UTC"), at(-60), at(600), Slice(team=billing.pk))
    assert [(p["count"], p["value"]) for p in by_team["points"]] == [(4, 25.0)]


def test_the_report_api_answers_nps(answers, staff_client):
    params = {"since": at(-60).isoformat(), "until": at(120).isoformat()}
    body = staff_client.get("/api/v1/reports/summary", params).json()
    assert body["nps"]["responses"] == 6 and body["nps"]["score"] == 0.0
    series = staff_client.get(
        "/api/v1/reports/timeseries", {**params, "metric": "nps", "interval": "hour"}
    )
    assert series.status_code == 200
    assert sum(point["count"] for point in series.json()["points"]) == 6
    by_team = staff_client.get("/api/v1/reports/summary", {**params, "team": "billing"}).json()
    assert by_team["nps"]["score"] == 25.0


def test_rebuild_reports_gives_the_same_nps(answers):
    before = snapshot()
    reports = [
        summary(at(-60), at(60 * 48), slice_)
        for slice_ in (Slice(), Slice(team=answers[0].pk), Slice(agent=answers[3].pk))
    ]
    call_command("rebuild_reports", stdout=open("/dev/null", "w"))
    assert snapshot() == before
    for report, slice_ in zip(
        reports, (Slice(), Slice(team=answers[0].pk), Slice(agent=answers[3].pk)), strict=True
    ):
        assert summary(at(-60), at(60 * 48), slice_)["nps"] == report["nps"]
    assert any(fact[2] == "nps" for fact in before[0])
