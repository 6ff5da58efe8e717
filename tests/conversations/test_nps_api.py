"""The NPS question of the widget API: POST /api/v1/widget/nps and GET (whether to ask)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from conversations.errors import NotAllowed
from conversations.models import Conversation, ConversationEvent, EventType, NpsResponse
from conversations.services import conversation_resolve, customer_answer_nps

from .test_widget_api import customer_client, new_session, start, widget  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

NPS = "/api/v1/widget/nps"


def resolved_conversation(client) -> int:
    created = start(client).json()
    conversation_resolve(conversation=Conversation.objects.get(pk=created["id"]))
    return created["id"]


def test_an_answer_after_a_resolved_conversation_is_kept_and_logged(customer_client):  # noqa: F811
    client, customer = customer_client
    conversation = resolved_conversation(client)
    assert client.get(NPS).json() == {"ask": True, "ask_again_at": None}

    answered = client.post(
        NPS, {"score": 9, "comment": "Fast and kind", "conversation": conversation}, format="json"
    )

    assert answered.status_code == 201, answered.content
    body = answered.json()
    assert (body["score"], body["comment"], body["conversation"]) == (
        9,
        "Fast and kind",
        conversation,
    )
    saved = NpsResponse.objects.get(customer=customer)
    assert (saved.score, saved.conversation_id) == (9, conversation)
    event = ConversationEvent.objects.get(
        conversation_id=conversation, type=EventType.CONVERSATION_NPS_ANSWERED
    )
    assert event.change == {"nps": {"score": 9}}


def test_asking_again_within_the_interval_answers_409_already_answered(customer_client, settings):  # noqa: F811
    settings.HELPDESK_NPS_INTERVAL_DAYS = 90
    client, customer = customer_client
    assert client.post(NPS, {"score": 3}, format="json").status_code == 201

    again = client.post(NPS, {"score": 10}, format="json")

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_answered"
    assert NpsResponse.objects.filter(customer=customer).count() == 1
    state = client.get(NPS).json()
    assert state["ask"] is False
    first = NpsResponse.objects.get(customer=customer).created_at
    assert state["ask_again_at"] == (first + timedelta(days=90)).isoformat().replace("+00:00", "Z")


def test_after_the_interval_the_customer_may_answer_again(customer_client, settings):  # noqa: F811
    settings.HELPDESK_NPS_INTERVAL_DAYS = 30
    client, customer = customer_client
    customer_answer_nps(customer=customer, score=6, at=timezone.now() - timedelta(days=31))
    assert client.get(NPS).json() == {"ask": True, "ask_again_at": None}
    assert client.post(NPS, {"score": 8}, format="json").status_code == 201
    customer_answer_nps(customer=customer, score=7, at=timezone.now() + timedelta(days=31))
    assert NpsResponse.objects.filter(customer=customer).count() == 3


def test_another_customer_has_their_own_interval(customer_client):  # noqa: F811
    client, _ = customer_client
    assert client.post(NPS, {"score": 10}, format="json").status_code == 201
    other = widget(new_session()["customer_token"])
    assert other.get(NPS).json()["ask"] is True
    answered = other.post(NPS, {"score": 0, "conversation": None}, format="json")
    assert answered.status_code == 201
    assert answered.json()["conversation"] is None  # an answer that followed no conversation
    assert not ConversationEvent.objects.filter(type=EventType.CONVERSATION_NPS_ANSWERED).exists()


@pytest.mark.parametrize("score", [11, -1, 7.5, "seven", None, True, [9]])
def test_a_score_that_is_not_a_whole_number_from_0_to_10_answers_400(customer_client, score):  # noqa: F811
    client, customer = customer_client
    response = client.post(NPS, {"score": score}, format="json")
    assert response.status_code == 400
    assert "score" in response.json()["error"]["fields"]
    assert not NpsResponse.objects.filter(customer=customer).exists()


def test_a_missing_score_or_a_bad_body_answers_400(customer_client):  # noqa: F811
    client, _ = customer_client
    assert client.post(NPS, {"comment": "hi"}, format="json").status_code == 400
    assert client.post(NPS, [9], format="json").json()["error"]["code"] == "invalid"
    bad_id = client.post(NPS, {"score": 9, "conversation": "x"}, format="json")
    assert bad_id.status_code == 400
    assert "conversation" in bad_id.json()["error"]["fields"]


def test_a_conversation_of_another_customer_answers_404_and_records_nothing(customer_client):  # noqa: F811
    client, customer = customer_client
    other = widget(new_session()["customer_token"])
    theirs = resolved_conversation(other)

    for conversation in (theirs, 2**62, 0):
        response = client.post(NPS, {"score": 9, "conversation": conversation}, format="json")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert not NpsResponse.objects.exists()
    assert client.get(NPS).json()["ask"] is True  # a refused answer does not count


def test_the_nps_calls_need_a_customer_token():
    assert widget("not-a-token").get(NPS).status_code == 401
    refused = APIClient().post(NPS, {"score": 9}, format="json")
    assert refused.status_code == 401
    assert "error" in refused.json()


@pytest.mark.django_db(transaction=True)
def test_answers_sent_at_once_count_once(make_customer):
    """Eight answers of one customer at the same moment, each on its own connection: the
    customer's row lock lets exactly one through; the others meet the interval."""
    from tests.agents.test_routing import run_in_threads

    customer = make_customer()
    outcomes: list[str] = []

    def answer(index: int) -> None:
        try:
            customer_answer_nps(customer=customer, score=index)
            outcomes.append("created")
        except NotAllowed as error:
            outcomes.append(error.code)

    assert run_in_threads(8, answer) == []
    assert sorted(outcomes) == ["already_answered"] * 7 + ["created"]
    assert NpsResponse.objects.filter(customer=customer).count() == 1
