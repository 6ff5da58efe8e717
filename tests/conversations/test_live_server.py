# ruff: noqa: F811  (test functions take the imported fixtures by name)
"""The websockets over a real server socket: uvicorn in a thread, the Redis channel layer, and
the `websockets` client library, as a browser or an integration would use them."""

import json
import random
import threading
import time
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from conversations.models import Message
from conversations.people import avatar_color
from conversations.selectors import last_cursor
from conversations.services import Author

# Shared with the other socket tests: fixtures (pytest finds them by name here) and helpers.
from tests.conversations.socket_fixtures import (  # noqa: F401
    agent_path,
    bodies,
    customer_path,
    fresh_channel_layer,
    make_agent,
    post,
)

TIMEOUT = 5


# --- A small client ----------------------------------------------------------------------------


class Socket:
    """A websocket client that keeps every frame it received."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[str] = []

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def receive(
        self, timeout: float = TIMEOUT, skip: tuple[str, ...] = ("presence", "visitor")
    ) -> dict:
        while True:
            frame = self.ws.recv(timeout=timeout)
            self.frames.append(frame)
            message = json.loads(frame)
            if message["type"] not in skip:
                return message

    def resume(self, after: int | None) -> tuple[list[dict], int]:
        self.send({"type": "resume", "after": after})
        events = []
        while (message := self.receive())["type"] != "resumed":
            events.append(message)
        return events, message["cursor"]

    def events(self, count: int) -> list[dict]:
        return [self.receive() for _ in range(count)]

    def assert_silent(self, seconds: float = 0.5) -> None:
        with pytest.raises(TimeoutError):
            self.receive(timeout=seconds)


@contextmanager
def open_socket(base_url: str, path: str, origin: str | None = "self"):
    url = base_url.replace("http://", "ws://", 1) + path
    origin = base_url if origin == "self" else origin
    with connect(url, origin=origin, open_timeout=TIMEOUT, close_timeout=TIMEOUT) as ws:
        yield Socket(ws)


def wait_for(condition, timeout: float = TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


# --- Tests -----------------------------------------------------------------------------------


def test_messages_arrive_live_both_ways(
    live_server_url, make_team, make_agent, make_customer, start_conversation
):
    team = make_team()
    agent = make_agent(teams=[team])
    customer = make_customer()
    conversation = start_conversation(customer, team=team)
    with (
        open_socket(live_server_url, agent_path(agent)) as agent_ws,
        open_socket(live_server_url, customer_path(customer)) as customer_ws,
    ):
        agent_ws.resume(None)
        customer_ws.resume(None)

        post(conversation, "Is my order shipped?")
        event = agent_ws.receive()
        assert event["type"] == "message.created"
        assert event["conversation"] == conversation.pk
        assert event["data"]["body"] == "Is my order shipped?"
        assert event["data"]["author"]["kind"] == "customer"
        assert customer_ws.receive()["data"]["body"] == "Is my order shipped?"  # other tabs

        post(conversation, "Yes, this morning.", Author.of_agent(agent))
        assigned, event = customer_ws.events(2)  # replying took the unassigned conversation
        assert assigned["type"] == "conversation.assigned"
        assert assigned["data"]["assignee"]["id"] == agent.pk
        assert event["data"]["body"] == "Yes, this morning."
        # An agent without a name reaches the customer as "Support agent", never by address.
        assert event["data"]["author"] == {
            "kind": "agent",
            "id": agent.pk,
            "name": "Support agent",
            "avatar": {"initials": "SA", "color": avatar_color(agent.pk)},
        }
        assert bodies(agent_ws.events(2)) == ["Yes, this morning."]


def test_a_reconnecting_customer_gets_exactly_what_they_missed(
    live_server_url, make_agent, make_customer, start_conversation
):
    agent = make_agent()
    customer = make_customer()
    conversation = start_conversation(customer)
    other = start_conversation()
    with open_socket(live_server_url, customer_path(customer)) as ws:
        ws.resume(None)
        post(conversation, "before the tab closed", Author.of_agent(agent))  # assigns too
        cursor = ws.events(2)[-1]["cursor"]

    post(conversation, "reply one", Author.of_agent(agent))
    post(conversation, "a private note", Author.of_agent(agent), private=True)
    post(other, "for someone else", Author.of_agent(agent))
    post(conversation, "reply two", Author.of_agent(agent))

    with open_socket(live_server_url, customer_path(customer)) as ws:
        missed, resumed = ws.resume(cursor)
        assert bodies(missed) == ["reply one", "reply two"]
        assert len(missed) == 2, "nothing else, nothing twice"
        assert missed[0]["cursor"] < missed[1]["cursor"] == resumed
        post(conversation, "and live again", Author.of_agent(agent))
        assert bodies([ws.receive()]) == ["and live again"]
        ws.assert_silent()


def test_concurrent_posters_and_a_reconnecting_reader_lose_nothing(
    live_server_url, make_agent, make_customer, start_conversation
):
    """Writers in threads commit concurrently (so their broadcasts can reach Redis out of
    cursor order) while the reader keeps dropping its socket and resuming after the highest
    cursor it saw. It must end up with every public message once, in cursor order."""
    agent = make_agent()
    customer = make_customer()
    conversations = [start_conversation(customer, body=f"start {n}") for n in range(3)]
    start = last_cursor()
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            for n in range(20):
                conversation = conversations[(index + n) % len(conversations)]
                if n % 5 == 4:
                    post(conversation, f"note {index}-{n}", Author.of_agent(agent), private=True)
                elif n % 2:
                    post(conversation, f"agent {index}-{n}", Author.of_agent(agent))
                else:
                    post(conversation, f"customer {index}-{n}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()

    received: list[dict] = []
    cursor, rounds, rng = start, 0, random.Random(7)
    while True:
        # Read before connecting: once the writers are done, this round's replay has it all.
        finished = not any(thread.is_alive() for thread in threads)
        with open_socket(live_server_url, customer_path(customer)) as ws:
            replayed, _ = ws.resume(cursor)
            received += replayed
            deadline = time.monotonic() + rng.uniform(0.02, 0.3)
            while not finished and (left := deadline - time.monotonic()) > 0:
                try:
                    received.append(ws.receive(timeout=left))
                except TimeoutError:
                    break
        if received:
            cursor = received[-1]["cursor"]
        rounds += 1
        if finished:
            break

    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    cursors = [event["cursor"] for event in received]
    assert cursors == sorted(set(cursors)), "in cursor order, none twice"
    expected = set(
        Message.objects.filter(conversation__in=conversations, private=False)
        .exclude(body__startswith="start")
        .values_list("pk", flat=True)
    )
    got = [event["data"]["id"] for event in received if event["type"] == "message.created"]
    assert sorted(got) == sorted(expected), f"after {rounds} reconnects"
    assert not any(body.startswith("note") for body in bodies(received))


def test_a_forbidden_origin_is_refused_and_a_widget_origin_accepted(
    live_server_url, make_agent, make_customer
):
    customer, agent = make_customer(), make_agent()
    for path in [customer_path(customer), agent_path(agent)]:
        with pytest.raises(InvalidStatus) as refused:
            with open_socket(live_server_url, path, origin="https://evil.example"):
                pass
        assert refused.value.response.status_code == 403

    with open_socket(live_server_url, customer_path(customer)) as ws:  # the helpdesk's own page
        ws.send({"type": "ping"})
        assert ws.receive() == {"type": "pong"}

    with override_settings(HELPDESK_WIDGET_ORIGINS=["https://shop.example.com"]):
        with open_socket(
            live_server_url, customer_path(customer), "https://shop.example.com"
        ) as ws:
            ws.send({"type": "ping"})
            assert ws.receive() == {"type": "pong"}
        with pytest.raises(InvalidStatus):
            with open_socket(live_server_url, agent_path(agent), "https://shop.example.com"):
                pass


def test_a_socket_without_credentials_is_closed_with_4401(live_server_url):
    with open_socket(live_server_url, "/ws/agent/") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.receive()
    assert closed.value.rcvd.code == 4401


def test_an_agent_is_online_while_connected_and_offline_after(live_server_url, make_agent):
    from agents.models import Agent

    user = make_agent()

    def presence() -> str:
        return Agent.objects.get(pk=user.pk).presence

    assert presence() == "offline"
    with open_socket(live_server_url, agent_path(user)) as ws:
        assert presence() == "online", "online once the socket is open"
        ws.send({"type": "ping"})
        assert ws.receive() == {"type": "pong"}
    assert wait_for(lambda: presence() == "offline")


def test_a_message_body_arrives_verbatim_in_the_json(
    live_server_url, make_agent, make_customer, start_conversation
):
    """Plain text stays plain text: escaping is the page's job, when it shows it."""
    admin = make_agent(is_superuser=True)
    customer = make_customer()
    body = '<img src=x onerror=alert(1)> & "quotes" </script>'
    with open_socket(live_server_url, agent_path(admin)) as ws:
        ws.resume(None)
        start_conversation(customer, body=body)
        created, message = ws.events(2)
    assert created["type"] == "conversation.created"
    assert message["data"]["body"] == body
    assert "<img src=x onerror=alert(1)>" in ws.frames[-1]


def test_an_idle_socket_still_hears_the_next_reply(
    live_server_url, make_agent, make_customer, start_conversation
):
    """Customers wait minutes for a reply; the server's Redis reads must survive the silence
    (redis-py's default 5 s socket timeout once killed every consumer idle that long)."""
    agent, customer = make_agent(), make_customer()
    conversation = start_conversation(customer)
    with open_socket(live_server_url, customer_path(customer)) as ws:
        ws.resume(None)
        time.sleep(6.5)
        post(conversation, "Sorry for the wait!", Author.of_agent(agent))
        assert bodies(ws.events(2)) == ["Sorry for the wait!"]  # after its assignment


def test_an_open_customer_socket_counts_as_online(live_server_url, make_customer):
    import asyncio
    import time

    import websockets

    from conversations.live.presence import customer_is_online

    customer = make_customer()
    url = live_server_url.replace("http", "ws") + f"/ws/customer/?token={customer.token}"

    async def visit() -> bool:
        async with websockets.connect(url) as ws:
            await ws.send('{"type": "resume", "after": null}')
            await asyncio.wait_for(ws.recv(), 10)
            return await asyncio.to_thread(customer_is_online, customer.pk)

    assert asyncio.run(visit()) is True
    deadline = time.monotonic() + 10
    while customer_is_online(customer.pk) and time.monotonic() < deadline:
        time.sleep(0.1)  # the server notices the close on its own time
    assert customer_is_online(customer.pk) is False


@pytest.mark.parametrize("frame", [b"\x00" * 1_000_000, "x" * 1_000_000])
def test_a_frame_over_the_limit_closes_the_socket_before_it_is_read_whole(
    live_server_url, make_customer, frame
):
    """Binary or text, the server refuses a frame over HELPDESK_WS_MAX_BYTES as it arrives
    (1009), instead of reading up to uvicorn's default 16 MB into memory first."""
    customer = make_customer()
    with open_socket(live_server_url, customer_path(customer)) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.ws.send(frame)
            while True:
                ws.receive(skip=("presence", "error"))
    assert closed.value.rcvd.code == 1009
