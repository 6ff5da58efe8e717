# ruff: noqa: F811  (test functions take the imported fixtures by name)
"""Files in live events (docs/attachments.md "Security"): `message.created` carries the
message's files with links signed for the socket's own reader, live and in a replay."""

import pytest
from channels.db import database_sync_to_async as db
from django.core.files.base import ContentFile

from conversations.files import links
from conversations.selectors import last_cursor
from conversations.services import Author, message_post
from tests.conversations.socket_fixtures import (  # noqa: F401
    agent_path,
    customer_path,
    fresh_channel_layer,
    make_agent,
)
from tests.conversations.test_consumers import receive, resume, socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.anyio]

PDF = b"%PDF-1.4\n%%EOF\n"


def post_file(conversation, name: str) -> None:
    message_post(
        conversation=conversation,
        author=Author.customer(),
        body="",
        client_id=f"live-{name}",
        files=[ContentFile(PDF, name=name)],
    )


def reader_of(url: str) -> str:
    link = links.read(url.rpartition("/")[2])
    assert link is not None
    return link.reader


async def test_files_reach_each_socket_with_links_for_its_own_reader(
    make_customer, make_agent, make_team, start_conversation
):
    team = await db(make_team)("Support")
    customer = await db(make_customer)()
    agent = await db(make_agent)(teams=[team])
    conversation = await db(start_conversation)(customer, team=team)
    before = await db(last_cursor)()
    await db(post_file)(conversation, "replayed.pdf")

    agent_socket = await db(agent_path)(agent)
    async with socket(customer_path(customer)) as customer_ws, socket(agent_socket) as agent_ws:
        replayed, _cursor = await resume(customer_ws, before)
        (item,) = replayed[-1]["data"]["attachments"]
        assert item["name"] == "replayed.pdf"
        assert reader_of(item["url"]) == links.customer_reader(customer.pk)
        await resume(agent_ws, None)
        await db(post_file)(conversation, "live.pdf")
        heard_by_customer = await receive(customer_ws)
        heard_by_agent = await receive(agent_ws)
    for event, reader in (
        (heard_by_customer, links.customer_reader(customer.pk)),
        (heard_by_agent, links.user_reader(agent.pk)),
    ):
        assert event["type"] == "message.created"
        (item,) = event["data"]["attachments"]
        assert item["name"] == "live.pdf" and reader_of(item["url"]) == reader
