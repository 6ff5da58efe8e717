# ruff: noqa: F811  (test functions take the imported fixtures by name)
"""An NPS answer after a conversation is an event of its log: it reaches the customer's and
the team's sockets live with a cursor, as the customer may see it."""

import pytest

from conversations.services import conversation_assign, customer_answer_nps
from tests.conversations.socket_fixtures import (  # noqa: F401
    agent_path,
    customer_path,
    fresh_channel_layer,
    make_agent,
)
from tests.conversations.test_consumers import assert_silent, db, receive, resume, socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.anyio]


async def test_an_answer_reaches_the_customer_and_the_team_live(
    make_customer, make_agent, make_team, start_conversation
):
    team = await db(make_team)()
    agent = await db(make_agent)(teams=[team])
    customer, stranger = await db(make_customer)(), await db(make_customer)()
    conversation = await db(start_conversation)(customer, team=team)
    await db(conversation_assign)(conversation=conversation, assignee=agent)
    agents_path = await db(agent_path)(agent)

    async with (
        socket(customer_path(customer)) as mine,
        socket(customer_path(stranger)) as theirs,
        socket(agents_path) as team_socket,
    ):
        for ws in (mine, theirs, team_socket):
            await resume(ws, None)
        await db(customer_answer_nps)(customer=customer, conversation=conversation, score=9)

        seen = await receive(mine)
        heard = await receive(team_socket)
        await assert_silent(theirs)

    assert seen["type"] == heard["type"] == "conversation.nps_answered"
    assert seen["cursor"] == heard["cursor"] and isinstance(seen["cursor"], int)
    assert seen["conversation"] == conversation.pk
    assert heard["change"] == {"nps": {"score": 9}}
    # the customer's view: the conversation without the inside (the agent's email)
    assert seen["data"]["assignee"]["email"] is None
    assert heard["data"]["assignee"]["email"] == agent.email
