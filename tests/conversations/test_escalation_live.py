# ruff: noqa: F811  (test functions take the imported fixtures by name)
"""Live, on real websockets and the Redis channel layer: a call-back request reaches agents
with the new `callback` and never the customer; a transfer reaches the receiving team."""

import pytest

from conversations.models import EventType
from conversations.services import conversation_request_callback
from tests.conversations.socket_fixtures import (  # noqa: F401
    agent_path,
    customer_path,
    fresh_channel_layer,
    make_agent,
    post,
)
from tests.conversations.test_consumers import (
    assert_silent,
    db,
    receive,
    resume,
    socket,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.anyio]


async def test_agents_hear_a_call_back_request_live_and_the_customer_does_not(
    make_team, make_agent, start_conversation
):
    team = await db(make_team)()
    agent = await db(make_agent)(teams=[team], first_name="Alice")
    conversation = await db(start_conversation)(team=team)
    customer = await db(lambda: conversation.customer)()
    async with (
        socket(await db(agent_path)(agent)) as agent_ws,
        socket(customer_path(customer)) as customer_ws,
    ):
        await resume(agent_ws, None)
        await resume(customer_ws, None)
        await db(conversation_request_callback)(
            conversation=conversation, phone="+90 555 000 11 22", by=agent
        )
        event = await receive(agent_ws)
        assert event["type"] == EventType.CONVERSATION_UPDATED
        assert event["change"] == {"callback_phone": [None, "+90 555 000 11 22"]}
        assert event["data"]["callback"]["phone"] == "+90 555 000 11 22"
        assert event["data"]["callback"]["requested_by"] == {"id": agent.pk, "name": "Alice"}
        # The customer hears the next public message, and nothing of the escalation.
        await db(post)(conversation, "still there?")
        while (seen := await receive(customer_ws))["type"] != "message.created":
            assert "callback" not in seen.get("data", {}), seen
            assert "callback_phone" not in seen.get("change", {}), seen
        assert seen["data"]["body"] == "still there?"
        await assert_silent(customer_ws, seconds=0.3)


async def test_the_receiving_team_hears_a_transfer_with_its_note(
    make_team, make_agent, start_conversation
):
    from conversations.services import conversation_transfer

    support, billing = await db(make_team)(), await db(make_team)()
    alice = await db(make_agent)(teams=[support])
    omar = await db(make_agent)(teams=[billing])
    conversation = await db(start_conversation)(team=support)
    async with socket(await db(agent_path)(omar)) as ws:
        await resume(ws, None)
        await db(conversation_transfer)(
            conversation=conversation, by=alice, team=billing, note="Invoice: yours"
        )
        note, moved = await receive(ws), await receive(ws)
        assert note["type"] == EventType.MESSAGE_CREATED
        assert note["data"]["private"] is True and note["data"]["body"] == "Invoice: yours"
        assert moved["type"] == EventType.CONVERSATION_UPDATED
        assert moved["change"] == {
            "team": [support.pk, billing.pk],
            "transfer": {"by": alice.pk, "note": note["data"]["id"]},
        }
        assert moved["data"]["team"]["id"] == billing.pk
