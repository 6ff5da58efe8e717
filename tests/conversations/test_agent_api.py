"""The agents' conversation API of shared/API.md: visibility, filters, changes, replies."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from conversations.models import ConversationEvent, EventType, Status
from conversations.people import avatar_color
from conversations.services import (
    Author,
    conversation_assign,
    conversation_resolve,
    message_post,
)

pytestmark = pytest.mark.django_db

LIST = "/api/v1/conversations"


def url(conversation, suffix: str = "") -> str:
    return f"{LIST}/{conversation.pk}{suffix}"


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [conversation["id"] for conversation in response.json()["results"]]


# --- Authentication --------------------------------------------------------------------------


def test_a_token_authenticates_and_no_credentials_answer_401(alice, start_conversation):
    conversation = start_conversation()
    anonymous = APIClient().get(LIST)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=alice).key}")
    assert ids(client.get(LIST)) == [conversation.pk]

    client.credentials(HTTP_AUTHORIZATION="Token wrong")
    assert client.get(LIST).status_code == 401


def test_non_staff_users_are_refused_with_403(logged_in, start_conversation):
    start_conversation()
    user = get_user_model().objects.create_user("bob", "bob@example.com", "pw")
    response = logged_in(user).get(LIST)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_a_customer_token_is_no_agent_credential(alice):
    from conversations.services import customer_create

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {customer_create(name='x').token}")
    assert client.get(LIST).status_code == 401


# --- Visibility ------------------------------------------------------------------------------


def test_agents_see_their_teams_assignments_and_the_inbox_only(
    logged_in, alice, alice_client, make_agent, make_customer, start_conversation, support, billing
):
    own_team = start_conversation(team=support)
    other_team = start_conversation(team=billing, body="billing secret")
    assigned_elsewhere = start_conversation(team=billing)
    conversation_assign(conversation=assigned_elsewhere, assignee=alice)
    inbox = start_conversation()
    inbox.team = None  # a team-less conversation (no service moves one there yet)
    inbox.save(update_fields=["team"])

    assert sorted(ids(alice_client.get(LIST))) == sorted(
        [own_team.pk, assigned_elsewhere.pk, inbox.pk]
    )
    for response in [
        alice_client.get(url(other_team)),
        alice_client.patch(url(other_team), {"priority": "high"}, format="json"),
        alice_client.post(url(other_team, "/messages"), {"body": "x", "client_id": "1"}),
    ]:
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert b"billing secret" not in response.content

    admin = make_agent(is_superuser=True)
    assert logged_in(admin).get(url(other_team)).status_code == 200
    assert len(ids(logged_in(admin).get(LIST))) == 4


# --- Listing, filters, ordering --------------------------------------------------------------


def test_filters_by_status_assignee_team_and_channel(
    alice, alice_client, make_agent, start_conversation, support
):
    colleague = make_agent(teams=[support])
    mine = start_conversation()
    conversation_assign(conversation=mine, assignee=alice)
    theirs = start_conversation()
    conversation_assign(conversation=theirs, assignee=colleague)
    nobodys = start_conversation(channel="email")
    done = start_conversation()
    conversation_resolve(conversation=done)

    assert ids(alice_client.get(LIST, {"assignee": "me"})) == [mine.pk]
    assert ids(alice_client.get(LIST, {"assignee": "none"})) == [done.pk, nobodys.pk]
    assert ids(alice_client.get(LIST, {"assignee": colleague.pk})) == [theirs.pk]
    assert ids(alice_client.get(LIST, {"status": "resolved"})) == [done.pk]
    assert len(ids(alice_client.get(LIST, {"status": "open,pending"}))) == 3
    assert ids(alice_client.get(LIST, {"channel": "email"})) == [nobodys.pk]
    assert len(ids(alice_client.get(LIST, {"team": "support"}))) == 4
    assert len(ids(alice_client.get(LIST, {"team": support.pk}))) == 4


@pytest.mark.parametrize(
    "query, field",
    [
        ({"status": "closed"}, "status"),
        ({"assignee": "someone"}, "assignee"),
        ({"team": "Nowhere"}, "team"),
        ({"ordering": "customer__token"}, "ordering"),
    ],
)
def test_bad_filters_answer_400_with_fields(alice_client, start_conversation, query, field):
    start_conversation()
    response = alice_client.get(LIST, query)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_q_searches_message_bodies_and_the_customer(
    alice, alice_client, make_customer, start_conversation
):
    by_body = start_conversation(body="My invoice is wrong")
    message_post(
        conversation=by_body, author=Author.customer(), body="invoice again", client_id="x"
    )
    by_name = start_conversation(customer=make_customer(name="Zeynep Invoicer"))
    by_email = start_conversation(customer=make_customer(email="invoice-dept@example.com"))
    start_conversation(body="Unrelated")

    found = ids(alice_client.get(LIST, {"q": "INVOICE"}))
    assert sorted(found) == sorted([by_body.pk, by_name.pk, by_email.pk])  # once each


def test_ordering_and_pagination(alice_client, start_conversation):
    conversations = [start_conversation() for _ in range(3)]
    newest_first = ids(alice_client.get(LIST))
    assert newest_first == [c.pk for c in reversed(conversations)]
    assert ids(alice_client.get(LIST, {"ordering": "created_at"})) == [c.pk for c in conversations]
    assert ids(alice_client.get(LIST, {"ordering": "waiting_since"}))[0] == conversations[0].pk

    page = alice_client.get(LIST, {"page_size": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2
    assert page["next"] and page["previous"] is None
    assert alice_client.get(LIST, {"page": 9}).status_code == 404


def test_the_list_takes_a_fixed_number_of_queries(
    alice, alice_client, start_conversation, django_assert_max_num_queries
):
    for n in range(12):
        conversation = start_conversation()
        conversation_assign(conversation=conversation, assignee=alice)
        if n % 2:
            from conversations.services import conversation_update

            conversation_update(conversation=conversation, labels=["vip", f"l{n}"])
    # session, user, query terms, first look, ranking, page, labels, highlights (test_search)
    with django_assert_max_num_queries(8):
        response = alice_client.get(LIST, {"q": "help"})
    assert len(response.json()["results"]) == 12
    assert response.json()["results"][0]["assignee"]["email"] == "alice@example.com"


# --- One conversation ------------------------------------------------------------------------


def test_the_detail_has_every_message_including_private_notes(
    alice, alice_client, start_conversation
):
    conversation = start_conversation(body="<script>alert(1)</script>")
    message_post(
        conversation=conversation,
        author=Author.of_agent(alice),
        body="check the refund",
        client_id="n",
        private=True,
    )
    detail = alice_client.get(url(conversation)).json()
    assert detail["id"] == conversation.pk and detail["customer"]["name"] == "Ayşe Yılmaz"
    assert [(m["body"], m["private"]) for m in detail["messages"]] == [
        ("<script>alert(1)</script>", False),
        ("check the refund", True),
    ]
    assert detail["messages"][1]["author"]["name"] == "Alice"


def test_patch_changes_status_assignee_team_priority_and_labels(
    logged_in, alice, alice_client, start_conversation, billing
):
    conversation = start_conversation()
    response = alice_client.patch(
        url(conversation),
        {
            "assignee": "ALICE@example.com",
            "team": "billing",
            "priority": "high",
            "labels": ["vip", "refund"],
            "status": "pending",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["assignee"]["id"] == alice.pk and data["team"]["name"] == "Billing"
    assert (data["priority"], data["labels"], data["status"]) == (
        "high",
        ["refund", "vip"],
        "pending",
    )
    types = list(conversation.events.order_by("id").values_list("type", flat=True))
    assert types[-3:] == [
        EventType.CONVERSATION_UPDATED,
        EventType.CONVERSATION_ASSIGNED,
        EventType.CONVERSATION_UPDATED,
    ]

    # Moved to Billing but assigned to Alice: she still sees it.
    unassigned = alice_client.patch(url(conversation), {"assignee": None}, format="json")
    assert unassigned.status_code == 200 and unassigned.json()["assignee"] is None
    assert alice_client.get(url(conversation)).status_code == 404  # not hers, not her team's

    admin_client = logged_in(get_user_model().objects.create_superuser("root", "r@x.io", "pw"))
    resolved = admin_client.patch(url(conversation), {"status": "resolved"}, format="json")
    assert resolved.json()["status"] == "resolved"


def test_patch_snoozes_until_a_time(alice_client, start_conversation):
    conversation = start_conversation()
    later = timezone.now() + timedelta(hours=2)
    response = alice_client.patch(
        url(conversation), {"snoozed_until": later.isoformat()}, format="json"
    )
    assert response.json()["status"] == Status.SNOOZED
    refused = alice_client.patch(url(conversation), {"status": "snoozed"}, format="json")
    assert refused.status_code == 400 and "snoozed_until" in refused.json()["error"]["fields"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"status": "closed"}, "status"),
        ({"priority": "asap"}, "priority"),
        ({"assignee": "nobody@example.com"}, "assignee"),
        ({"assignee": 10**30}, "assignee"),
        ({"assignee": True}, "assignee"),
        ({"team": "Nowhere"}, "team"),
        ({"labels": "vip"}, "labels"),
        ({"labels": ["not a slug"]}, "labels"),
        ({"snoozed_until": "tomorrow"}, "snoozed_until"),
    ],
)
def test_bad_patches_answer_400_with_fields_and_change_nothing(
    alice_client, start_conversation, body, field
):
    conversation = start_conversation()
    events_before = conversation.events.count()
    response = alice_client.patch(url(conversation), {"priority": "urgent", **body}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    conversation.refresh_from_db()
    assert conversation.priority == "normal"
    assert conversation.events.count() == events_before


def test_a_non_agent_cannot_be_assigned(alice_client, start_conversation):
    customer_like = get_user_model().objects.create_user("eve", "eve@example.com", "pw")
    response = alice_client.patch(
        url(start_conversation()), {"assignee": customer_like.pk}, format="json"
    )
    assert response.status_code == 400


def test_a_reply_through_the_api_assigns_an_unassigned_conversation(
    alice, alice_client, start_conversation
):
    conversation = start_conversation()
    messages = url(conversation, "/messages")
    note = {"body": "Checking the order", "client_id": "n1", "private": True}
    assert alice_client.post(messages, note, format="json").status_code == 201
    assert alice_client.get(url(conversation)).json()["assignee"] is None
    reply = {"body": "It ships today", "client_id": "r1"}
    assert alice_client.post(messages, reply, format="json").status_code == 201
    assert alice_client.get(url(conversation)).json()["assignee"]["id"] == alice.pk
    mine = alice_client.get(LIST, {"assignee": "me"})
    assert ids(mine) == [conversation.pk]


def test_agent_replies_are_idempotent_and_notes_stay_private(
    alice, alice_client, start_conversation
):
    conversation = start_conversation()
    reply = {"body": "<b>On it</b>", "client_id": "r1"}
    first = alice_client.post(url(conversation, "/messages"), reply, format="json")
    assert first.status_code == 201
    assert first.json()["author"] == {
        "kind": "agent",
        "id": alice.pk,
        "name": "Alice",
        "avatar": {"initials": "A", "color": avatar_color(alice.pk)},
    }
    assert first.json()["body"] == "<b>On it</b>"
    again = alice_client.post(url(conversation, "/messages"), reply, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]

    note = alice_client.post(
        url(conversation, "/messages"),
        {"body": "VIP, be nice", "client_id": "n1", "private": True},
        format="json",
    )
    assert note.status_code == 201 and note.json()["private"] is True
    event = ConversationEvent.objects.get(message_id=note.json()["id"])
    assert event.public is False

    listed = alice_client.get(url(conversation, "/messages")).json()["results"]
    assert [m["client_id"] for m in listed][-2:] == ["r1", "n1"]
    conversation.refresh_from_db()
    assert conversation.waiting_since is None  # the public reply answered the customer

    bad = alice_client.post(url(conversation, "/messages"), {"body": ""}, format="json")
    assert bad.status_code == 400 and "client_id" in bad.json()["error"]["fields"]
