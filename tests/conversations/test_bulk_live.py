# ruff: noqa: F811  (test functions take the imported fixtures by name)
"""A bulk action reaches colleagues' workspaces live, one event per conversation changed, as
single changes do (websockets through Channels' communicator, on the Redis layer)."""

import pytest
from rest_framework.test import APIClient

from tests.conversations.socket_fixtures import agent_path, fresh_channel_layer, make_agent  # noqa: F401
from tests.conversations.test_consumers import assert_silent, db, receive_events, resume, socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.anyio]


def bulk_as(user, body: dict) -> dict:
    client = APIClient()
    client.force_login(user)
    response = client.post("/api/v1/conversations/bulk", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


async def test_a_colleague_hears_each_conversation_of_a_bulk_resolve(
    make_team, make_agent, start_conversation
):
    support, billing = await db(make_team)(), await db(make_team)()
    lead, colleague = await db(make_agent)(teams=[support]), await db(make_agent)(teams=[support])
    first = await db(start_conversation)(team=support)
    second = await db(start_conversation)(team=support)
    elsewhere = await db(start_conversation)(team=billing)
    async with socket(await db(agent_path)(colleague)) as colleague_ws:
        await resume(colleague_ws, None)
        answer = await db(bulk_as)(
            lead, {"ids": [first.pk, second.pk, elsewhere.pk], "action": "resolve"}
        )
        assert [result["ok"] for result in answer["results"]] == [True, True, False]
        heard = await receive_events(colleague_ws, 2)
        assert {(event["type"], event["conversation"]) for event in heard} == {
            ("conversation.updated", first.pk),
            ("conversation.updated", second.pk),
        }
        assert {event["data"]["status"] for event in heard} == {"resolved"}
        await assert_silent(colleague_ws)  # nothing of the refused one
