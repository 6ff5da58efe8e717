"""Fixtures shared by the socket tests (test_consumers.py, test_live_server.py)."""

import pytest


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
