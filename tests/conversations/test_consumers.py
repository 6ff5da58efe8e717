# ruff: noqa: F811  (test functions take the imported fixtures by name)
"""The websockets through Channels' WebsocketCommunicator, on PostgreSQL and the Redis layer.

What a client notices: who gets in, what a resume replays, what arrives live and what never
does, typing, and the replies to bad input.
"""

import asyncio
import gc
import json
import weakref
from contextlib import asynccontextmanager
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client, override_settings

from conversations import events
from conversations.events import broadcasts_muted, envelope, groups_for, publish_pending_events
from conversations.live import consumers, delivery, tail
from conversations.live.tail import read_after
from conversations.models import ConversationEvent, EventType
from conversations.people import avatar_color
from conversations.selectors import last_cursor
from conversations.services import Author, conversation_assign
from helpdesk.asgi import application
from tests.conftest import unique

# Shared with the other socket tests: fixtures (pytest finds them by name here) and helpers.
from tests.conversations.socket_fixtures import (  # noqa: F401
    agent_path,
    bodies,
    customer_path,
    fresh_channel_layer,
    make_agent,
    post,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.anyio]

SITE = (b"origin", b"http://testserver")
TIMEOUT = 5


# --- Helpers -------------------------------------------------------------------------------


@asynccontextmanager
async def socket(path: str, headers: list[tuple[bytes, bytes]] | None = None):
    """An accepted websocket, closed (and its consumer's disconnect run) at the end."""
    communicator = WebsocketCommunicator(
        application, path, headers=[SITE] if headers is None else headers
    )
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected, "handshake refused"
    try:
        yield communicator
    finally:
        # Runs the consumer's disconnect (groups, presence); its channel-layer reader may take
        # a few seconds more to wind down, which no client notices: don't wait for it.
        await communicator.disconnect(timeout=1)


async def receive(
    communicator: WebsocketCommunicator, skip: tuple[str, ...] = ("presence", "visitor")
) -> dict[str, Any]:
    """The next message; presence changes and visitor hints are skipped unless asked for."""
    while (message := json.loads(await communicator.receive_from(timeout=TIMEOUT)))["type"] in skip:
        pass
    return message


async def resume(communicator: WebsocketCommunicator, after: int | None):
    """Send resume; returns (events replayed, cursor of `resumed`)."""
    await communicator.send_json_to({"type": "resume", "after": after})
    events = []
    while (message := await receive(communicator))["type"] != "resumed":
        events.append(message)
    return events, message["cursor"]


async def receive_events(communicator: WebsocketCommunicator, count: int) -> list[dict]:
    return [await receive(communicator) for _ in range(count)]


async def assert_silent(
    communicator: WebsocketCommunicator,
    seconds: float = 0.5,
    skip: tuple[str, ...] = ("presence", "visitor"),
) -> None:
    """Nothing arrives (but agents' own presence changes) for a while."""
    while not await communicator.receive_nothing(timeout=seconds, interval=0.02):
        message = json.loads(await communicator.receive_from())
        assert message["type"] in skip, f"unexpected: {message}"


async def close_code(communicator: WebsocketCommunicator) -> int:
    output = await communicator.receive_output(timeout=TIMEOUT)
    assert output["type"] == "websocket.close"
    return output.get("code")


def agent_reply(conversation, agent, body: str, private: bool = False):
    return post(conversation, body, Author.of_agent(agent), private)


db = database_sync_to_async


@pytest.fixture
def db_user(transactional_db):
    """A user who is not staff (a customer who happened to sign up on the site)."""
    from django.contrib.auth import get_user_model

    return lambda: get_user_model().objects.create_user(username=unique("user"), password="pw")


# --- Who gets in ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["", "?token=", "?token=not-a-customer-token", "?token=" + "x" * 500]
)
async def test_customer_socket_without_a_valid_token_closes_with_4401(query):
    async with socket(f"/ws/customer/{query}") as ws:
        assert await close_code(ws) == 4401


async def test_agent_socket_refuses_anonymous_users_non_staff_and_bad_tokens(db_user):
    non_staff = await db(db_user)()
    for path in ["/ws/agent/", "/ws/agent/?token=wrong", await db(agent_path)(non_staff)]:
        async with socket(path) as ws:
            assert await close_code(ws) == 4401, path


async def test_agent_socket_accepts_a_session_cookie_or_an_api_token(make_agent):
    agent = await db(make_agent)()

    def session_cookie() -> bytes:
        client = Client()
        client.force_login(agent)
        return f"sessionid={client.cookies['sessionid'].value}".encode()

    cookie = await db(session_cookie)()
    for path, headers in [
        ("/ws/agent/", [SITE, (b"cookie", cookie)]),
        (await db(agent_path)(agent), None),
    ]:
        async with socket(path, headers) as ws:
            await ws.send_json_to({"type": "ping"})
            assert await receive(ws) == {"type": "pong"}


async def test_a_forbidden_origin_is_refused_and_a_widget_origin_accepted(
    make_customer, make_agent
):
    customer, agent = await db(make_customer)(), await db(make_agent)()
    evil = [(b"origin", b"https://evil.example")]
    for path in [customer_path(customer), await db(agent_path)(agent)]:
        refused = WebsocketCommunicator(application, path, headers=evil)
        assert (await refused.connect(timeout=TIMEOUT))[0] is False, path

    shop = [(b"origin", b"https://shop.example.com")]
    with override_settings(HELPDESK_WIDGET_ORIGINS=["https://shop.example.com"]):
        async with socket(customer_path(customer), shop) as ws:
            await ws.send_json_to({"type": "ping"})
            assert await receive(ws) == {"type": "pong"}
        refused = WebsocketCommunicator(application, await db(agent_path)(agent), headers=shop)
        assert (await refused.connect(timeout=TIMEOUT))[0] is False, "agents: own hosts only"


async def test_a_client_without_an_origin_header_is_not_a_browser_and_gets_in(make_customer):
    async with socket(customer_path(await db(make_customer)()), headers=[]) as ws:
        await ws.send_json_to({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


# --- Resume and replay -----------------------------------------------------------------------


async def test_resume_replays_the_customers_own_public_events_oldest_first(
    make_customer, make_agent, start_conversation
):
    customer, stranger, agent = (
        await db(make_customer)(),
        await db(make_customer)(),
        await db(make_agent)(),
    )
    before = await db(last_cursor)()
    first = await db(start_conversation)(customer, body="first question")
    await db(start_conversation)(stranger, body="someone else's")
    await db(agent_reply)(first, agent, "internal: refund?", private=True)
    await db(agent_reply)(first, agent, "public answer")
    second = await db(start_conversation)(customer, body="second question")

    async with socket(customer_path(customer)) as ws:
        events, cursor = await resume(ws, before)

    assert bodies(events) == ["first question", "public answer", "second question"]
    assert [e["conversation"] for e in events] == [first.pk] * 4 + [second.pk] * 2
    assert [e["type"] for e in events if e["conversation"] == first.pk] == [
        "conversation.created",
        "message.created",
        "conversation.assigned",  # the reply took the unassigned conversation
        "message.created",
    ]
    cursors = [e["cursor"] for e in events]
    assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors)
    assert cursor == await db(last_cursor)()
    assert all(set(e) >= {"type", "cursor", "conversation", "at", "data"} for e in events), (
        "the envelope of shared/API.md"
    )


async def test_resume_null_means_from_now(make_customer, start_conversation):
    customer = await db(make_customer)()
    await db(start_conversation)(customer)
    async with socket(customer_path(customer)) as ws:
        events, cursor = await resume(ws, None)
        assert events == [] and cursor == await db(last_cursor)()
        await assert_silent(ws)


async def test_replay_comes_in_batches_until_caught_up(
    monkeypatch, make_customer, start_conversation
):
    monkeypatch.setattr(delivery, "REPLAY_BATCH", 3)
    customer = await db(make_customer)()
    conversation = await db(start_conversation)(customer, body="m0")
    for n in range(1, 8):
        await db(post)(conversation, f"m{n}")
    async with socket(customer_path(customer)) as ws:
        events, _ = await resume(ws, 0)
    assert bodies(events) == [f"m{n}" for n in range(8)]


async def test_a_bad_resume_cursor_is_an_error_and_the_socket_stays(make_customer):
    async with socket(customer_path(await db(make_customer)())) as ws:
        for after in ["12", -1, 1.5, True, 2**70]:
            await ws.send_json_to({"type": "resume", "after": after})
            assert (await receive(ws))["code"] == "bad_request", after
        _, cursor = await resume(ws, None)
        assert isinstance(cursor, int)


# --- Live ------------------------------------------------------------------------------------


async def test_live_replies_reach_the_customer_but_never_private_notes(
    make_customer, make_agent, start_conversation
):
    customer, stranger, agent = (
        await db(make_customer)(),
        await db(make_customer)(),
        await db(make_agent)(),
    )
    mine = await db(start_conversation)(customer)
    theirs = await db(start_conversation)(stranger)
    async with socket(customer_path(customer)) as ws:
        await resume(ws, None)
        await db(agent_reply)(mine, agent, "internal note", private=True)
        await db(agent_reply)(theirs, agent, "for the other customer")
        await db(agent_reply)(mine, agent, "Here is your answer")
        assigned = await receive(ws)  # replying took the unassigned conversation
        assert assigned["type"] == "conversation.assigned"
        event = await receive(ws)
        assert event["type"] == "message.created"
        assert event["data"]["body"] == "Here is your answer"
        assert event["data"]["author"]["kind"] == "agent"
        await assert_silent(ws)


async def test_agents_hear_their_team_and_the_inbox_admins_hear_everything(
    make_team, make_agent, make_customer, start_conversation
):
    support, billing = await db(make_team)(), await db(make_team)()
    supporter = await db(make_agent)(teams=[support])
    admin = await db(make_agent)(is_superuser=True)
    async with (
        socket(await db(agent_path)(supporter)) as agent_ws,
        socket(await db(agent_path)(admin)) as admin_ws,
    ):
        await resume(agent_ws, None)
        await resume(admin_ws, None)
        await db(start_conversation)(body="billing question", team=billing)
        await db(start_conversation)(body="support question", team=support)
        assert bodies(await receive_events(agent_ws, 2)) == ["support question"]
        assert bodies(await receive_events(admin_ws, 4)) == [
            "billing question",
            "support question",
        ]
        await assert_silent(agent_ws)
        await assert_silent(admin_ws)


async def test_an_agent_hears_a_conversation_assigned_to_them_from_another_team(
    make_team, make_agent, start_conversation
):
    support, billing = await db(make_team)(), await db(make_team)()
    agent = await db(make_agent)(teams=[support])
    conversation = await db(start_conversation)(team=billing)
    async with socket(await db(agent_path)(agent)) as ws:
        await resume(ws, None)
        await db(conversation_assign)(conversation=conversation, assignee=agent)
        await db(post)(conversation, "are you there?")
        assigned, message = await receive_events(ws, 2)
        assert assigned["type"] == EventType.CONVERSATION_ASSIGNED
        assert message["data"]["body"] == "are you there?"


async def test_an_agent_hears_that_a_conversation_left_their_team(
    make_team, make_agent, start_conversation
):
    from conversations.services import conversation_update

    support, billing = await db(make_team)(), await db(make_team)()
    agent = await db(make_agent)(teams=[support])
    conversation = await db(start_conversation)(team=support)
    async with socket(await db(agent_path)(agent)) as ws:
        await resume(ws, None)
        await db(conversation_update)(conversation=conversation, team=billing)
        moved = await receive(ws)
        assert moved["type"] == EventType.CONVERSATION_UPDATED
        assert moved["change"]["team"] == [support.pk, billing.pk]
        await db(post)(conversation, "now billing's")
        await assert_silent(ws)


async def test_live_events_overlapping_the_replay_are_sent_once(make_customer, start_conversation):
    customer = await db(make_customer)()
    conversation = await db(start_conversation)(customer, body="one")
    async with socket(customer_path(customer)) as ws:
        before = await db(last_cursor)()
        await db(post)(conversation, "two")  # heard live before resume *and* in the replay
        await db(post)(conversation, "three")
        events, cursor = await resume(ws, before - 2)
        await db(post)(conversation, "four")
        events += await receive_events(ws, 1)
        await assert_silent(ws)
    assert bodies(events) == ["one", "two", "three", "four"]
    assert cursor == events[-2]["cursor"]


async def test_a_dropped_live_message_goes_out_with_the_next_event(
    make_customer, start_conversation
):
    """A message Redis lost is repaired from the log while the socket is connected."""
    customer = await db(make_customer)()
    conversation = await db(start_conversation)(customer)

    def post_unheard(body: str) -> None:
        with broadcasts_muted():  # sequenced in the log, never broadcast: a dropped message
            post(conversation, body)

    async with socket(customer_path(customer)) as ws:
        await resume(ws, None)
        await db(post_unheard)("lost in Redis")
        await assert_silent(ws, 0.3)
        await db(post)(conversation, "heard")
        events = await receive_events(ws, 2)
        await assert_silent(ws)
    assert bodies(events) == ["lost in Redis", "heard"], "in cursor order"


async def test_a_ping_polls_the_log_for_a_drop_nothing_followed(
    monkeypatch, make_customer, start_conversation
):
    monkeypatch.setattr(delivery, "POLL_SECONDS", 0)
    customer = await db(make_customer)()
    conversation = await db(start_conversation)(customer)
    async with socket(customer_path(customer)) as ws:
        await resume(ws, None)
        with_muted = database_sync_to_async(_post_muted)
        await with_muted(conversation, "lost in Redis")
        await ws.send_json_to({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}
        assert bodies([await receive(ws)]) == ["lost in Redis"]


def _two_unannounced_events(conversation) -> list[ConversationEvent]:
    """Post "first" and "second", logged and sequenced but never broadcast; newest first."""
    _post_muted(conversation, "first")
    _post_muted(conversation, "second")
    events = ConversationEvent.objects.filter(conversation=conversation).select_related(
        "conversation"
    )
    return list(events.order_by("-cursor")[:2])


def _post_muted(conversation, body: str) -> None:
    """Logged and sequenced, never broadcast: as if Redis dropped the wake-up."""
    with broadcasts_muted():
        post(conversation, body)
        publish_pending_events()


@pytest.fixture
def log_reads(monkeypatch) -> list[int]:
    """The cursors after which the log tail reads the database, as it reads."""
    reads: list[int] = []

    def counted_read(cursor: int, limit: int) -> list:
        reads.append(cursor)
        return read_after(cursor, limit)

    monkeypatch.setattr(tail, "read_after", counted_read)
    return reads


async def test_a_wake_up_carries_its_events_and_the_tail_reads_the_log_only_after_a_gap(
    log_reads, make_customer, start_conversation
):
    reads = log_reads
    customer = await db(make_customer)()
    conversation = await db(start_conversation)(customer)
    async with socket(customer_path(customer)) as ws:
        await resume(ws, None)
        await db(post)(conversation, "carried")
        assert bodies([await receive(ws)]) == ["carried"]
        assert reads == [], "the wake-up brought the event: no read"
        await db(_post_muted)(conversation, "lost in Redis")
        await db(post)(conversation, "after the gap")
        assert bodies(await receive_events(ws, 2)) == ["lost in Redis", "after the gap"]
        assert len(reads) == 1, "the gap was filled from the log"


async def test_wake_ups_overtaking_each_other_are_put_in_order_without_reading_the_log(
    log_reads, make_customer, start_conversation
):
    """Two publishers' wake-ups reach the tail in the wrong order: the later one waits for
    the earlier one instead of sending the tail to the database."""
    customer = await db(make_customer)()
    conversation = await db(start_conversation)(customer)
    async with socket(customer_path(customer)) as ws:
        await resume(ws, None)
        layer = get_channel_layer()
        for event in await db(_two_unannounced_events)(conversation):  # the later one first
            wake_up = [event.cursor, groups_for(event), envelope(event)]
            await layer.group_send(
                tail.LOG_GROUP,
                {"type": "log.wake", "cursor": event.cursor, "events": [wake_up]},
            )
        events = await receive_events(ws, 2)
        await assert_silent(ws)
    assert bodies(events) == ["first", "second"]
    assert log_reads == []


async def test_live_events_arriving_out_of_cursor_order_go_out_in_order(
    make_customer, start_conversation
):
    """Two server processes publish 1 and 2; Redis delivers 2 first. The client, which resumes
    after the highest cursor it saw, must never hold 2 without 1."""
    customer = await db(make_customer)()
    conversation = await db(start_conversation)(customer)
    async with socket(customer_path(customer)) as ws:
        await resume(ws, None)
        layer = get_channel_layer()
        for event in await db(_two_unannounced_events)(conversation):  # the later one first
            await layer.group_send(
                f"customer.{customer.pk}", {"type": "event.publish", "event": envelope(event)}
            )
        events = await receive_events(ws, 2)
        await assert_silent(ws)
    assert bodies(events) == ["first", "second"]


# --- Typing, ping, subscriptions ------------------------------------------------------------


async def test_typing_goes_to_the_other_side_and_not_back_to_its_author(
    make_team, make_agent, make_customer, start_conversation
):
    team = await db(make_team)()
    agent = await db(make_agent)(teams=[team], first_name="Deniz", last_name="Kaya")
    customer = await db(make_customer)(name="Ayşe")
    conversation = await db(start_conversation)(customer, team=team)
    async with (
        socket(customer_path(customer)) as customer_ws,
        socket(await db(agent_path)(agent)) as agent_ws,
    ):
        await resume(customer_ws, None)
        await resume(agent_ws, None)

        await customer_ws.send_json_to(
            {"type": "typing", "conversation": conversation.pk, "is_typing": True}
        )
        typing = await receive(agent_ws)
        assert typing["type"] == "typing" and "cursor" not in typing
        assert typing["conversation"] == conversation.pk and typing["at"]
        assert typing["data"] == {
            "author": {"kind": "customer", "id": customer.pk, "name": "Ayşe"},
            "is_typing": True,
        }
        await assert_silent(customer_ws, 0.3)

        await agent_ws.send_json_to(
            {"type": "typing", "conversation": conversation.pk, "is_typing": False}
        )
        typing = await receive(customer_ws)
        assert typing["data"]["author"] == {
            "kind": "agent",
            "id": agent.pk,
            "name": "Deniz Kaya",
            "avatar": {"initials": "DK", "color": avatar_color(agent.pk)},
        }
        assert typing["data"]["is_typing"] is False
        await assert_silent(agent_ws, 0.3)

        await agent_ws.send_json_to(
            {"type": "typing", "conversation": conversation.pk, "is_typing": True, "private": True}
        )
        await assert_silent(customer_ws, 0.3)


async def test_typing_in_a_conversation_the_client_may_not_see_is_not_found(
    make_team, make_agent, make_customer, start_conversation
):
    team, other_team = await db(make_team)(), await db(make_team)()
    agent = await db(make_agent)(teams=[team])
    stranger_conversation = await db(start_conversation)(team=other_team)
    async with (
        socket(customer_path(await db(make_customer)())) as customer_ws,
        socket(await db(agent_path)(agent)) as agent_ws,
    ):
        for ws in (customer_ws, agent_ws):
            await ws.send_json_to(
                {"type": "typing", "conversation": stranger_conversation.pk, "is_typing": True}
            )
            error = await receive(ws)
            assert error["type"] == "error" and error["code"] == "not_found"


async def test_an_agent_subscribes_to_a_visible_conversation_only(
    make_team, make_agent, make_customer, start_conversation
):
    team, other_team = await db(make_team)(), await db(make_team)()
    agent = await db(make_agent)(teams=[team])
    colleague = await db(make_agent)(teams=[team])
    customer = await db(make_customer)()
    visible = await db(start_conversation)(customer, team=team)
    hidden = await db(start_conversation)(team=other_team)
    async with (
        socket(await db(agent_path)(agent)) as ws,
        socket(await db(agent_path)(colleague)) as colleague_ws,
    ):
        await ws.send_json_to({"type": "subscribe", "conversation": hidden.pk})
        assert (await receive(ws))["code"] == "not_found"
        await ws.send_json_to({"type": "subscribe", "conversation": visible.pk})
        assert await receive(ws) == {"type": "subscribed", "conversation": visible.pk}
        # A colleague typing in it (agent typing goes to the conversation and the customer).
        await colleague_ws.send_json_to(
            {"type": "typing", "conversation": visible.pk, "is_typing": True}
        )
        typing = await receive(ws)
        assert typing["data"]["author"]["id"] == colleague.pk
        await ws.send_json_to({"type": "unsubscribe", "conversation": visible.pk})
        assert await receive(ws) == {"type": "unsubscribed", "conversation": visible.pk}


async def test_a_subscription_hears_nothing_once_the_conversation_left_the_agents_teams(
    make_team, make_agent, start_conversation
):
    """`subscribe` is for typing: a transfer away ends what the agent may hear, notes and
    typing included, though the subscription was never dropped."""
    from conversations.services import conversation_update

    support, billing = await db(make_team)(), await db(make_team)()
    agent = await db(make_agent)(teams=[support])
    biller = await db(make_agent)(teams=[billing])
    conversation = await db(start_conversation)(team=support)
    async with (
        socket(await db(agent_path)(agent)) as ws,
        socket(await db(agent_path)(biller)) as biller_ws,
    ):
        await resume(ws, None)
        await ws.send_json_to({"type": "subscribe", "conversation": conversation.pk})
        assert (await receive(ws))["type"] == "subscribed"
        await db(conversation_update)(conversation=conversation, team=billing)
        assert (await receive(ws))["change"]["team"] == [support.pk, billing.pk]
        await db(agent_reply)(conversation, biller, "billing only", private=True)
        await db(post)(conversation, "a customer message")
        await biller_ws.send_json_to(
            {"type": "typing", "conversation": conversation.pk, "is_typing": True, "private": True}
        )
        await assert_silent(ws, seconds=1.0)


async def test_an_agent_taken_out_of_a_team_stops_hearing_it_without_reconnecting(
    make_team, make_agent, start_conversation
):
    support, billing = await db(make_team)(), await db(make_team)()
    agent = await db(make_agent)(teams=[support])
    conversation = await db(start_conversation)(team=support)
    billing_conversation = await db(start_conversation)(team=billing)
    async with socket(await db(agent_path)(agent)) as ws:
        await resume(ws, None)
        await db(support.members.remove)(agent)
        await db(billing.members.add)(agent)
        await asyncio.sleep(1.0)  # the access change travels through the channel layer
        await db(post)(conversation, "support's secret")
        await db(post)(billing_conversation, "for billing")
        assert bodies(await receive_events(ws, 1)) == ["for billing"]
        await assert_silent(ws)


async def test_an_agent_whose_staff_access_ends_is_disconnected(make_agent):
    agent = await db(make_agent)()
    async with socket(await db(agent_path)(agent)) as ws:
        await resume(ws, None)
        await db(deactivate)(agent.pk)
        assert await close_code(ws) == consumers.CLOSE_UNAUTHORIZED


async def test_access_is_checked_again_on_a_ping_when_the_news_was_lost(
    make_team, make_agent, start_conversation, monkeypatch
):
    """Redis may lose the news of a membership change: pings check again now and then."""
    monkeypatch.setattr(consumers, "ACCESS_CHECK_SECONDS", 0.0)
    support = await db(make_team)()
    agent = await db(make_agent)(teams=[support])
    conversation = await db(start_conversation)(team=support)
    async with socket(await db(agent_path)(agent)) as ws:
        await resume(ws, None)
        await db(broadcasts_muted_membership_removal)(support, agent)
        await ws.send_json_to({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}
        await db(post)(conversation, "support's secret")
        await assert_silent(ws)


def deactivate(user_id: int) -> None:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(pk=user_id)
    user.is_active = False
    user.save()


def broadcasts_muted_membership_removal(team, agent) -> None:
    """Take `agent` out of `team` without telling any socket (a lost channel-layer message)."""
    from django.db import connection

    from conversations.models import TeamMembership

    with connection.cursor() as cursor:  # raw SQL: no model signals
        cursor.execute(
            f"DELETE FROM {TeamMembership._meta.db_table} WHERE team_id = %s AND user_id = %s",
            [team.pk, agent.pk],
        )


async def test_ping_and_bad_input_keep_the_socket_open(make_customer):
    async with socket(customer_path(await db(make_customer)())) as ws:
        for raw in ["not json", "[1, 2]", '{"no": "type"}', '{"type": "dance"}', "null"]:
            await ws.send_to(text_data=raw)
            error = await receive(ws)
            assert error["type"] == "error" and error["code"] == "bad_request", raw
            assert error["message"]
        await ws.send_to(bytes_data=b"\x00\x01")
        assert (await receive(ws))["code"] == "bad_request"
        await ws.send_json_to({"type": "typing", "conversation": "7", "is_typing": True})
        assert (await receive(ws))["code"] == "bad_request"
        await ws.send_json_to({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


async def test_a_message_over_the_size_limit_is_refused_and_the_socket_closed(make_customer):
    async with socket(customer_path(await db(make_customer)())) as ws:
        await ws.send_json_to({"type": "ping", "padding": "x" * consumers.MAX_MESSAGE_CHARS})
        assert (await receive(ws))["code"] == "too_large"
        assert await close_code(ws) == 1009


async def test_a_flood_of_messages_is_slowed_down(make_customer):
    async with socket(customer_path(await db(make_customer)())) as ws:
        for _ in range(40):
            await ws.send_json_to({"type": "ping"})
        replies = await receive_events(ws, 40)
    assert {"type": "pong"} in replies
    assert any(reply.get("code") == "rate_limited" for reply in replies)


async def test_the_reports_dashboard_socket_hears_report_updates_only(
    make_agent, start_conversation
):
    admin = await db(make_agent)(is_superuser=True)
    async with socket(await db(agent_path)(admin) + "&watch=reports") as ws:
        await resume(ws, None)
        await db(start_conversation)()
        await assert_silent(ws, 0.3)
        event = {"type": "report.updated", "at": "2026-01-05T09:00:00+00:00"}
        await get_channel_layer().group_send("reports", {"type": "event.publish", "event": event})
        assert await receive(ws) == event
        assert await db(presence_of)(admin) == "offline", "reading reports is not being online"


# --- Presence ------------------------------------------------------------------------------


def presence_of(user) -> str:
    from agents.models import Agent

    return Agent.objects.get(pk=user.pk).presence


async def test_an_agent_is_online_while_a_socket_is_open(make_team, make_agent):
    team = await db(make_team)()
    agent = await db(make_agent)(teams=[team])
    teammate = await db(make_agent)(teams=[team])
    path = await db(agent_path)(agent)
    async with socket(await db(agent_path)(teammate)) as teammate_ws:
        await resume(teammate_ws, None)
        async with socket(path):
            assert await db(presence_of)(agent) == "online"
            async with socket(path):  # a second tab
                pass
            assert await db(presence_of)(agent) == "online", "one tab is still open"
            event = await presence_event_of(teammate_ws, agent)
            assert "cursor" not in event and event["presence"] == "online"
        assert await db(presence_of)(agent) == "offline"
        assert (await presence_event_of(teammate_ws, agent))["presence"] == "offline"


async def presence_event_of(ws, agent) -> dict:
    """The next presence event about `agent` (the teammate may first hear its own)."""
    while True:
        event = await receive(ws, skip=())
        assert event["type"] == "presence"
        if event["agent"] == agent.pk:
            return event


async def test_an_agent_who_chose_away_stays_away_across_reconnects(make_agent):
    from agents.services import agent_set_presence

    agent = await db(make_agent)(presence="away")
    path = await db(agent_path)(agent)
    async with socket(path):
        assert await db(presence_of)(agent) == "away"
    assert await db(presence_of)(agent) == "away"
    async with socket(path):
        await db(lambda: agent_set_presence(agent=agent.agent, presence="online"))()
    assert await db(presence_of)(agent) == "offline"


async def test_a_socket_that_stops_its_heartbeat_is_counted_out(make_agent):
    from datetime import timedelta

    from django.utils import timezone

    from agents.presence import expire_stale_connections
    from agents.tasks import expire_stale_agent_connections

    agent = await db(make_agent)()
    async with socket(await db(agent_path)(agent)) as ws:
        assert await db(presence_of)(agent) == "online"
        later = timezone.now() + timedelta(seconds=91)
        assert await db(expire_stale_connections)(now=later) == 1
        assert await db(presence_of)(agent) == "offline"
        assert await db(expire_stale_agent_connections)() == 0, "nothing else is stale"
        # The browser was only silent: its next heartbeat counts it in again.
        await _heartbeat_now(ws)
        assert await db(presence_of)(agent) == "online"


async def _heartbeat_now(ws: WebsocketCommunicator) -> None:
    original = consumers.HEARTBEAT_WRITE_SECONDS
    consumers.HEARTBEAT_WRITE_SECONDS = 0
    try:
        await ws.send_json_to({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}
    finally:
        consumers.HEARTBEAT_WRITE_SECONDS = original


def test_the_beat_schedule_expires_stale_connections(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["expire-stale-agent-connections"]
    assert entry["task"] == "agents.tasks.expire_stale_agent_connections"
    assert entry["schedule"] <= 60


def test_widget_origins_default_to_the_helpdesks_own():
    from conversations.origins import customer_socket_origins, widget_origins

    assert widget_origins([], "https://help.example.com/desk/") == ["https://help.example.com"]
    assert widget_origins(["https://Shop.example.com:443/", " "], "http://x") == [
        "https://shop.example.com"
    ]
    assert widget_origins(["http://127.0.0.1:8080"], "http://x") == ["http://127.0.0.1:8080"]
    assert customer_socket_origins(
        ["https://shop.example.com"], "https://help.example.com", ["help.example.com", "*"]
    ) == ["https://shop.example.com", "https://help.example.com", "help.example.com"]


# --- Resources -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["customer", "agent"])
async def test_a_closed_socket_is_freed_at_once_not_at_the_next_full_collection(
    kind, make_customer, make_agent, monkeypatch
):
    """A consumer that only the cyclic garbage collector could free kept its server-side
    socket (and its compression buffers) until the next full collection: bench/soak.py saw a
    server hold three dead sockets for each open one, and grow by a quarter in half an hour."""
    opened: weakref.WeakSet = weakref.WeakSet()
    original_init = consumers.EventStreamConsumer.__init__

    def remembering_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        opened.add(self)

    monkeypatch.setattr(consumers.EventStreamConsumer, "__init__", remembering_init)
    if kind == "customer":
        path = customer_path(await db(make_customer)())
    else:
        path = await db(agent_path)(await db(make_agent)())
    gc.collect()
    gc.disable()
    try:
        async with socket(path) as ws:
            await resume(ws, None)
            await ws.send_json_to({"type": "ping"})
            assert await receive(ws) == {"type": "pong"}
            assert len(opened) == 1
        for _ in range(50):  # the consumer's task winds down
            if not opened:
                break
            await asyncio.sleep(0.02)
        assert len(opened) == 0
    finally:
        gc.enable()


async def test_a_server_runs_a_full_collection_regularly(make_customer, monkeypatch):
    """What only the cyclic collector frees (a closed socket's server side, in the websockets
    library) must not wait for the rare full passes that helpdesk/asgi.py's thresholds leave."""
    from helpdesk import asgi

    full_passes = []

    def count(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            full_passes.append(info)

    monkeypatch.setattr(asgi, "FULL_COLLECTION_SECONDS", 0.05)
    monkeypatch.setattr(events, "server_loop", None)  # as in a new server process
    gc.callbacks.append(count)
    try:
        async with socket(customer_path(await db(make_customer)())) as ws:
            await ws.send_json_to({"type": "ping"})
            assert await receive(ws) == {"type": "pong"}
            for _ in range(100):  # a busy machine may delay the timer: wait up to 5 s
                if len(full_passes) >= 2:
                    break
                await asyncio.sleep(0.05)
    finally:
        gc.callbacks.remove(count)
    assert len(full_passes) >= 2
