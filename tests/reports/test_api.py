"""The report endpoints of shared/API.md."""

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from conversations.events import publish_pending_events
from conversations.services import Author, conversation_resolve, conversation_start, message_post
from reports.services import process_new_events

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PERIOD = {"since": "2026-03-01T00:00:00Z", "until": "2026-03-03T00:00:00Z"}


@pytest.fixture
def history(make_customer, make_team, make_agent):
    team = make_team(name="billing")
    agent = make_agent("ayse@example.com", teams=[team])
    conversation, _ = conversation_start(
        customer=make_customer(), body="?", client_id="q", team=team, at=T0
    )
    message_post(
        conversation=conversation,
        author=Author.of_agent(agent),
        body="!",
        client_id="r",
        at=T0 + timedelta(minutes=4),
    )
    conversation_resolve(conversation=conversation, by=agent, at=T0 + timedelta(minutes=10))
    publish_pending_events()
    process_new_events()
    return team, agent


def test_summary_has_the_documented_shape(manager_api, history):
    body = manager_api.get("/api/v1/reports/summary", PERIOD).json()
    assert {
        "since",
        "until",
        "conversations",
        "first_response_time",
        "wait_time",
        "handle_time",
        "resolution_time",
        "csat",
        "computed_at",
    } <= set(body)
    assert set(body["conversations"]) >= {"created", "resolved", "reopened", "open_now"}
    assert set(body["wait_time"]) == {"count", "mean", "median", "p90"}
    assert set(body["csat"]) == {"responses", "score_percent", "mean", "response_rate"}
    assert body["first_response_time"]["mean"] == 240.0
    assert body["csat"]["response_rate"] == 0.0


@pytest.mark.parametrize("team", ["billing", "id"])
def test_filters_take_ids_or_names(manager_api, history, team):
    billing, agent = history
    value = str(billing.pk) if team == "id" else team
    body = manager_api.get(
        "/api/v1/reports/summary", {**PERIOD, "team": value, "agent": agent.email, "channel": "web"}
    ).json()
    assert body["resolution_time"]["count"] == 1
    assert (
        manager_api.get("/api/v1/reports/summary", {**PERIOD, "channel": "email"}).json()[
            "resolution_time"
        ]["count"]
        == 0
    )


def test_timeseries_points(manager_api, history):
    body = manager_api.get(
        "/api/v1/reports/timeseries",
        {**PERIOD, "metric": "first_response_time", "interval": "day", "tz": "Europe/Istanbul"},
    ).json()
    assert body["metric"] == "first_response_time" and body["interval"] == "day"
    assert [p["count"] for p in body["points"]] == [
        0,
        1,
        0,
    ]  # Istanbul days overlapping the UTC period
    assert body["points"][1] == {"start": "2026-03-02T00:00:00+03:00", "value": 240.0, "count": 1}


@pytest.mark.parametrize(
    "params, field",
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-03-02", "until": "2026-03-01"}, "since"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"team": "nobody"}, "team"),
        ({"agent": "ghost@example.com"}, "agent"),
    ],
)
def test_bad_filters_answer_400_in_the_error_shape(manager_api, params, field):
    response = manager_api.get("/api/v1/reports/summary", params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_bad_metric_or_interval(manager_api):
    assert manager_api.get("/api/v1/reports/timeseries", {"metric": "happiness"}).status_code == 400
    response = manager_api.get(
        "/api/v1/reports/timeseries", {"metric": "wait_time", "interval": "fortnight"}
    )
    assert response.json()["error"]["fields"]["interval"]


def test_reports_need_a_staff_agent(make_customer):
    assert APIClient().get("/api/v1/reports/summary").status_code in (401, 403)


def test_moments_at_the_edges_of_iso_8601_are_answered_not_a_500(manager_api):
    # an offset PostgreSQL refuses (beyond ±15:59) is read as the same moment in UTC
    far = manager_api.get("/api/v1/reports/agents", {"until": "0420-06-01T03:08:28-22:22"})
    assert far.status_code == 200, far.content
    assert far.json()["until"] == "0420-06-02T01:30:28+00:00"
    # a default week before the first day of the calendar does not exist
    first = manager_api.get("/api/v1/reports/summary", {"until": "0001-01-02"})
    assert first.status_code == 400
    assert set(first.json()["error"]["fields"]) == {"since"}
