"""Escalation "call back by phone": the PATCH field and its validation, the conversation
shape (agents only), the inbox filter, the admin badge and filter, and the report count."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from conversations.events import publish_pending_events
from conversations.models import EventType
from conversations.services import conversation_request_callback
from reports.services import process_new_events, rebuild_all

pytestmark = pytest.mark.django_db

LIST = "/api/v1/conversations"


def url(conversation) -> str:
    return f"{LIST}/{conversation.pk}"


def test_an_agent_flags_a_call_back_and_clears_it(alice_client, alice, start_conversation):
    conversation = start_conversation()
    response = alice_client.patch(
        url(conversation), {"callback_phone": " +90 (555) 123-45 67 "}, format="json"
    )
    assert response.status_code == 200, response.content
    callback = response.json()["callback"]
    assert callback["phone"] == "+90 (555) 123-45 67"
    assert callback["requested_by"] == {"id": alice.pk, "name": "Alice"}
    assert callback["requested_at"].endswith("Z")
    event = conversation.events.order_by("-id").first()
    assert event.type == EventType.CONVERSATION_UPDATED
    assert event.change == {"callback_phone": [None, "+90 (555) 123-45 67"]}
    assert event.data["callback"] == callback, "the live event carries the new shape"
    assert alice_client.get(url(conversation)).json()["callback"] == callback

    # The customer's own view never shows it.
    widget = APIClient()
    widget.credentials(HTTP_AUTHORIZATION=f"Bearer {conversation.customer.token}")
    seen = widget.get(f"/api/v1/widget/conversations/{conversation.pk}").json()
    assert "callback" not in seen

    cleared = alice_client.patch(url(conversation), {"callback_phone": None}, format="json")
    assert cleared.status_code == 200 and cleared.json()["callback"] is None
    conversation.refresh_from_db()
    assert conversation.callback_requested_at is None and conversation.callback_requested_by is None
    assert conversation.events.order_by("-id").first().change == {
        "callback_phone": ["+90 (555) 123-45 67", None]
    }


@pytest.mark.parametrize(
    "phone",
    [
        "",
        "   ",
        "call me",
        "12345",
        "+90 555 123 45 67 ext. 9",
        "1" * 33,
        "((((((",
        905551234567,
        True,
    ],
)
def test_a_call_back_needs_a_phone_like_number(alice_client, start_conversation, phone):
    conversation = start_conversation()
    response = alice_client.patch(url(conversation), {"callback_phone": phone}, format="json")
    assert response.status_code == 400, response.content
    assert set(response.json()["error"]["fields"]) == {"callback_phone"}
    conversation.refresh_from_db()
    assert conversation.callback_phone == ""


def test_a_bad_call_back_leaves_the_rest_of_the_patch_undone(alice_client, start_conversation):
    conversation = start_conversation()
    response = alice_client.patch(
        url(conversation), {"priority": "urgent", "callback_phone": "nope"}, format="json"
    )
    assert response.status_code == 400
    conversation.refresh_from_db()
    assert conversation.priority == "normal", "all of the change or none of it"


def test_the_inbox_filters_call_backs(alice_client, alice, start_conversation):
    flagged, other = start_conversation(), start_conversation()
    conversation_request_callback(conversation=flagged, phone="0212 555 11 22", by=alice)

    def ids(params):
        response = alice_client.get(LIST, params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids({"callback": "true"}) == [flagged.pk]
    assert ids({"callback": "false"}) == [other.pk]
    bad = alice_client.get(LIST, {"callback": "maybe"})
    assert bad.status_code == 400 and "callback" in bad.json()["error"]["fields"]


def test_the_admin_shows_a_badge_and_filters_call_backs(client, make_agent, start_conversation):
    lead = make_agent(is_superuser=True)
    client.force_login(lead)
    flagged, other = start_conversation(), start_conversation()
    conversation_request_callback(conversation=flagged, phone="+44 20 7946 0000", by=lead)
    changelist = reverse("admin:conversations_conversation_changelist")
    page = client.get(changelist).content.decode()
    assert 'class="hd-badge hd-callback" title="+44 20 7946 0000"' in page
    listed = client.get(changelist, {"callback": "yes"}).context["cl"].result_list
    assert [c.pk for c in listed] == [flagged.pk]
    listed = client.get(changelist, {"callback": "no"}).context["cl"].result_list
    assert [c.pk for c in listed] == [other.pk]


def test_escalations_are_counted_in_the_report_and_the_rebuild_agrees(
    make_agent, make_team, start_conversation
):
    team = make_team(name="billing")
    agent = make_agent("ayse@example.com", teams=[team])
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    first = start_conversation(team=team, at=t0)
    second = start_conversation(team=team, at=t0, channel="email")
    conversation_request_callback(
        conversation=first, phone="0555 111", by=agent, at=t0 + timedelta(minutes=1)
    )
    conversation_request_callback(
        conversation=second, phone="0555 222", by=agent, at=t0 + timedelta(minutes=2)
    )
    conversation_request_callback(
        conversation=second, phone="0555 223", by=agent, at=t0 + timedelta(minutes=3)
    )
    publish_pending_events()
    process_new_events()

    manager = make_agent(is_superuser=True)
    reports = APIClient()
    reports.force_authenticate(manager)
    period = {"since": "2026-03-02T00:00:00Z", "until": "2026-03-03T00:00:00Z"}

    def escalated(**params):
        body = reports.get("/api/v1/reports/summary", {**period, **params}).json()
        return body["conversations"]["escalated"]

    assert escalated() == 2, "a corrected number is not a new request"
    assert escalated(channel="email") == 1
    assert escalated(agent=agent.pk) == 2 and escalated(team="billing") == 2
    series = reports.get(
        "/api/v1/reports/timeseries", {**period, "metric": "escalated", "interval": "day"}
    ).json()
    assert [point["value"] for point in series["points"]] == [2]
    before = escalated()
    rebuild_all()
    assert escalated() == before
