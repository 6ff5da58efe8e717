"""POST /api/v1/conversations/bulk: one action on many conversations through the services,
answered per id; refusals (access, capacity, lifecycle) leave the others changed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import ConversationEvent, EventType, Status
from conversations.services import conversation_assign, conversation_resolve

pytestmark = pytest.mark.django_db

BULK = "/api/v1/conversations/bulk"


def outcome(response) -> dict[int, dict]:
    assert response.status_code == 200, response.content
    return {result["id"]: result for result in response.json()["results"]}


def test_bulk_resolve_resolves_each_and_records_each_event(
    alice, alice_client, start_conversation, support
):
    first, second = start_conversation(team=support), start_conversation(team=support)
    response = alice_client.post(
        BULK, {"ids": [second.pk, first.pk], "action": "resolve"}, format="json"
    )
    answer = response.json()
    assert [result["id"] for result in answer["results"]] == [second.pk, first.pk]  # as asked
    assert answer["succeeded"] == 2 and answer["failed"] == 0
    for conversation in (first, second):
        conversation.refresh_from_db()
        assert conversation.status == Status.RESOLVED
        assert outcome(response)[conversation.pk]["conversation"]["status"] == "resolved"
        resolved = ConversationEvent.objects.filter(
            conversation=conversation, type=EventType.CONVERSATION_UPDATED
        )
        assert resolved.exists()  # live workspaces hear of it as of a single change


def test_refusals_are_per_id_in_the_error_shape(
    alice, alice_client, start_conversation, support, billing
):
    mine = start_conversation(team=support)
    resolved = start_conversation(team=support)
    conversation_resolve(conversation=resolved)
    hidden = start_conversation(team=billing)  # not Alice's team: as if it did not exist
    until = (timezone.now() + timedelta(hours=2)).isoformat()
    response = alice_client.post(
        BULK,
        {
            "ids": [mine.pk, resolved.pk, hidden.pk, 987654],
            "action": "snooze",
            "snoozed_until": until,
        },
        format="json",
    )
    results = outcome(response)
    assert results[mine.pk]["ok"] is True
    assert results[resolved.pk]["ok"] is False
    assert results[resolved.pk]["error"]["code"] == "conflict"  # reopen it first
    assert results[resolved.pk]["error"]["message"]
    for pk in (hidden.pk, 987654):
        assert results[pk]["ok"] is False and results[pk]["error"]["code"] == "not_found"
    assert response.json()["succeeded"] == 1 and response.json()["failed"] == 3
    mine.refresh_from_db()
    hidden.refresh_from_db()
    assert mine.status == Status.SNOOZED and hidden.status == Status.OPEN


def test_bulk_assign_keeps_to_capacity(alice, alice_client, start_conversation, support):
    conversations = [start_conversation(team=support) for _ in range(4)]  # capacity 3
    response = alice_client.post(
        BULK,
        {"ids": [c.pk for c in conversations], "action": "assign", "assignee": "me"},
        format="json",
    )
    results = outcome(response)
    assert [results[c.pk]["ok"] for c in conversations] == [True, True, True, False]
    assert results[conversations[3].pk]["error"]["code"] == "at_capacity"
    assert alice.assigned_conversations.filter(status=Status.OPEN).count() == 3


def test_bulk_assign_to_an_agent_and_unassign(
    alice, alice_client, make_agent, start_conversation, support
):
    colleague = make_agent(teams=[support])
    first, second = start_conversation(team=support), start_conversation(team=support)
    given = alice_client.post(
        BULK,
        {"ids": [first.pk, second.pk], "action": "assign", "assignee": colleague.email},
        format="json",
    )
    assert all(result["ok"] for result in outcome(given).values())
    assert set(colleague.assigned_conversations.all()) == {first, second}
    cleared = alice_client.post(
        BULK, {"ids": [first.pk], "action": "assign", "assignee": None}, format="json"
    )
    assert outcome(cleared)[first.pk]["conversation"]["assignee"] is None


def test_bulk_label_adds_to_the_labels_each_has(alice_client, start_conversation, support):
    from conversations.services import conversation_update

    tagged, plain = start_conversation(team=support), start_conversation(team=support)
    conversation_update(conversation=tagged, labels=["vip"])
    response = alice_client.post(
        BULK, {"ids": [tagged.pk, plain.pk], "action": "label", "label": "Refund"}, format="json"
    )
    results = outcome(response)
    assert results[tagged.pk]["conversation"]["labels"] == ["refund", "vip"]
    assert results[plain.pk]["conversation"]["labels"] == ["refund"]


def test_bulk_priority_and_reopen(alice, alice_client, start_conversation, support):
    conversation = start_conversation(team=support)
    conversation_assign(conversation=conversation, assignee=alice)
    conversation_resolve(conversation=conversation)
    reopened = alice_client.post(
        BULK, {"ids": [conversation.pk], "action": "reopen"}, format="json"
    )
    assert outcome(reopened)[conversation.pk]["conversation"]["status"] == "open"
    urgent = alice_client.post(
        BULK, {"ids": [conversation.pk], "action": "priority", "priority": "urgent"}, format="json"
    )
    assert outcome(urgent)[conversation.pk]["conversation"]["priority"] == "urgent"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ids": [], "action": "resolve"}, "ids"),
        ({"ids": ["one"], "action": "resolve"}, "ids"),
        ({"ids": [1], "action": "explode"}, "action"),
        ({"ids": [1], "action": "label"}, "label"),
        ({"ids": [1], "action": "snooze"}, "snoozed_until"),
        ({"ids": [1], "action": "assign"}, "assignee"),
        ({"ids": [1], "action": "assign", "assignee": "nobody@example.com"}, "assignee"),
        ({"ids": [1], "action": "priority", "priority": "soon"}, "priority"),
    ],
)
def test_bad_input_refuses_the_whole_batch(alice_client, start_conversation, body, field):
    conversation = start_conversation()
    body = {**body, "ids": [conversation.pk if pk == 1 else pk for pk in body["ids"]]}
    response = alice_client.post(BULK, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN and conversation.assignee is None


def test_a_batch_over_the_maximum_is_refused(alice_client, settings, start_conversation):
    settings.HELPDESK_BULK_MAX_IDS = 2
    conversations = [start_conversation() for _ in range(3)]
    response = alice_client.post(
        BULK, {"ids": [c.pk for c in conversations], "action": "resolve"}, format="json"
    )
    assert response.status_code == 400
    assert "ids" in response.json()["error"]["fields"]
    assert not any(c.status == Status.RESOLVED for c in type(conversations[0]).objects.all())
