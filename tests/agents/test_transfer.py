"""Transfer to a team or a colleague with a private note: the API, capacity, routing, the
events it leaves and the admin action."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from rest_framework.test import APIClient

from agents.models import Presence
from conversations.events import publish_pending_events
from conversations.models import AuthorKind, ConversationEvent, EventType
from conversations.services import conversation_assign

pytestmark = pytest.mark.django_db


def transfer_url(conversation) -> str:
    return f"/api/v1/conversations/{conversation.pk}/transfer"


@pytest.fixture
def omar(make_agent, billing):
    return make_agent("omar@example.com", teams=[billing], first_name="Omar", capacity=1)


@pytest.fixture
def mine(start_conversation, support, alice):
    conversation = start_conversation(team=support)
    conversation_assign(conversation=conversation, assignee=alice)
    return conversation


def events_of(conversation, *types: str) -> list[ConversationEvent]:
    return list(conversation.events.filter(type__in=types).order_by("id"))


def test_transfer_to_a_team_puts_it_in_that_teams_queue_with_a_private_note(
    logged_in, alice, mine, billing
):
    response = logged_in(alice).post(
        transfer_url(mine), {"team": "billing", "note": "Invoice question"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["team"] == {"id": billing.pk, "name": "Billing"}
    assert body["assignee"] is None, "into the team's queue"
    note = mine.messages.order_by("-id").first()
    assert (note.body, note.private, note.agent, note.author_kind) == (
        "Invoice question",
        True,
        alice,
        AuthorKind.AGENT,
    )
    updated, assigned = events_of(
        mine, EventType.CONVERSATION_UPDATED, EventType.CONVERSATION_ASSIGNED
    )[-2:]
    transfer = {"by": alice.pk, "note": note.pk}
    assert updated.change == {"team": [mine.team_id, billing.pk], "transfer": transfer}
    assert assigned.change == {"assignee": [alice.pk, None], "by": alice.pk, "transfer": transfer}
    # the customer never sees the note
    widget = APIClient()
    widget.credentials(HTTP_AUTHORIZATION=f"Bearer {mine.customer.token}")
    messages = widget.get(f"/api/v1/widget/conversations/{mine.pk}/messages")
    assert messages.status_code == 200
    assert [m["body"] for m in messages.json()["results"]] == ["Hello, I need help"]


def test_transfer_to_a_colleague_by_email_and_to_a_team_and_colleague(
    logged_in, alice, mine, omar, billing
):
    client = logged_in(alice)
    response = client.post(
        transfer_url(mine), {"assignee": "OMAR@example.com", "note": "Yours"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["assignee"]["id"] == omar.pk
    assert response.json()["team"]["name"] == "Support", "the team stays unless named"
    # Omar (capacity 1) can see it now; he hands it on to Alice in Support... by id, with a team
    back = logged_in(omar).post(
        transfer_url(mine),
        {"team": mine.team_id, "assignee": alice.pk, "note": "Back to you"},
        format="json",
    )
    assert back.status_code == 200, back.content
    mine.refresh_from_db()
    assert (mine.assignee, mine.team.name) == (alice, "Support")
    assert mine.messages.filter(private=True).count() == 2


def test_a_transfer_to_a_team_is_routed_to_its_online_agent_with_room(
    logged_in, alice, mine, billing, make_agent
):
    online = make_agent(teams=[billing], presence=Presence.ONLINE, capacity=2)
    response = logged_in(alice).post(
        transfer_url(mine), {"team": billing.pk, "note": "Billing's"}, format="json"
    )
    assert response.status_code == 200
    publish_pending_events()  # after commit, routing reacts to the events
    mine.refresh_from_db()
    assert mine.assignee == online


def test_capacity_rules_are_those_of_a_manual_assignment(
    logged_in, alice, mine, omar, start_conversation, billing, make_agent
):
    conversation_assign(conversation=start_conversation(team=billing), assignee=omar)  # full
    refused = logged_in(alice).post(
        transfer_url(mine), {"assignee": omar.pk, "note": "Please"}, format="json"
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "at_capacity"
    mine.refresh_from_db()
    assert mine.assignee == alice and not mine.messages.filter(private=True).exists(), (
        "nothing changed, not even the note"
    )
    forced_by_agent = logged_in(alice).post(
        transfer_url(mine), {"assignee": omar.pk, "note": "Please", "force": True}, format="json"
    )
    assert forced_by_agent.status_code == 403
    lead = make_agent(is_superuser=True)
    forced = logged_in(lead).post(
        transfer_url(mine), {"assignee": omar.pk, "note": "Urgent", "force": True}, format="json"
    )
    assert forced.status_code == 200
    mine.refresh_from_db()
    assert mine.assignee == omar


@pytest.mark.parametrize(
    ("body", "fields", "code"),
    [
        ({"team": "Billing"}, {"note"}, "invalid"),
        ({"team": "Billing", "note": "   "}, {"note"}, "invalid"),
        ({"team": "Billing", "note": 5}, {"note"}, "invalid"),
        ({"team": "Billing", "note": "x" * 10_001}, {"note"}, "too_long"),
        ({"note": "somewhere"}, {"team", "assignee"}, "invalid"),
        ({"team": "Nowhere", "note": "x"}, {"team"}, "invalid"),
        ({"assignee": "nobody@example.com", "note": "x"}, {"assignee"}, "invalid"),
        ({"assignee": True, "note": "x"}, {"assignee"}, "invalid"),
        (
            {"team": "Support", "assignee": "alice@example.com", "note": "x"},
            None,
            "nothing_to_transfer",
        ),
    ],
)
def test_bad_transfers_answer_400_in_the_error_shape_and_change_nothing(
    logged_in, alice, mine, billing, body, fields, code
):
    before = mine.events.count()
    response = logged_in(alice).post(transfer_url(mine), body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    if fields:
        assert set(error["fields"]) == fields
    assert mine.events.count() == before


def test_agents_transfer_only_conversations_they_can_see(logged_in, omar, mine, start_conversation):
    response = logged_in(omar).post(
        transfer_url(mine), {"team": "Billing", "note": "mine now"}, format="json"
    )
    assert response.status_code == 404
    assert APIClient().post(transfer_url(mine), {}, format="json").status_code == 401


# --- Admin ---------------------------------------------------------------------------------------

CHANGELIST = reverse("admin:conversations_conversation_changelist")


def test_admin_transfers_many_with_one_note(
    client, make_agent, start_conversation, support, billing, omar
):
    lead = make_agent(is_superuser=True)
    client.force_login(lead)
    conversations = [start_conversation(team=support) for _ in range(2)]
    ask = client.post(
        CHANGELIST,
        {"action": "transfer", "_selected_action": [c.pk for c in conversations], "index": 0},
    )
    assert ask.status_code == 200 and b'name="note"' in ask.content
    missing = client.post(
        CHANGELIST,
        {
            "action": "transfer",
            "_selected_action": [c.pk for c in conversations],
            "apply": "1",
            "note": "x",
        },
    )
    assert b"Choose a team, an agent, or both." in missing.content
    done = client.post(
        CHANGELIST,
        {
            "action": "transfer",
            "_selected_action": [c.pk for c in conversations],
            "apply": "1",
            "team": billing.pk,
            "agent": omar.pk,
            "note": "Billing, both of them",
        },
        follow=True,
    )
    assert done.status_code == 200
    messages = [str(m) for m in get_messages(done.wsgi_request)]
    assert any("2 conversations transferred to Billing, Omar" in m for m in messages), messages
    for conversation in conversations:
        conversation.refresh_from_db()
        assert (conversation.team, conversation.assignee) == (billing, omar), "forced: a supervisor"
        assert conversation.messages.get(private=True).body == "Billing, both of them"
