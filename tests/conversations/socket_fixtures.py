"""Fixtures and helpers shared by the socket tests (test_consumers.py, test_live_server.py,
test_escalation_live.py). Not a conftest: the other conversations tests keep the suite's
agents, with capacity."""

import pytest

from conversations.models import Message
from conversations.services import Author, message_post
from tests.conftest import unique


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """A channel layer of its own for every test. channels-redis lets one event loop at a
    time receive; a consumer of an earlier test's loop still winding down must not block the
    next test's loop (production has one loop per process)."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def make_agent(make_agent):
    """Agents without capacity: auto-assignment never hands them a conversation, so a socket
    hears only what the test does."""

    def make(*args, capacity: int = 0, **kwargs):
        return make_agent(*args, capacity=capacity, **kwargs)

    return make


def customer_path(customer) -> str:
    return f"/ws/customer/?token={customer.token}"


def agent_path(user) -> str:
    from rest_framework.authtoken.models import Token

    return f"/ws/agent/?token={Token.objects.get_or_create(user=user)[0].key}"


def post(conversation, body: str, author=None, private: bool = False) -> Message:
    message, _ = message_post(
        conversation=conversation,
        author=author or Author.customer(),
        body=body,
        client_id=unique("m"),
        private=private,
    )
    return message


def bodies(events: list[dict]) -> list[str]:
    return [event["data"]["body"] for event in events if event["type"] == "message.created"]
