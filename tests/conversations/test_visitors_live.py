# ruff: noqa: F811  (test functions take the imported fixtures by name)
"""On the site now, live, over a real server socket (uvicorn, the Redis channel layer, the
`websockets` client): a visitor arriving, opening another page and leaving reaches the
agents who may see them as a `visitor` event, and nobody else."""

import json
import urllib.request

import pytest

from tests.conversations.socket_fixtures import (  # noqa: F401
    agent_path,
    customer_path,
    fresh_channel_layer,
    make_agent,
)
from tests.conversations.test_live_server import open_socket

ONLY_PRESENCE = ("presence",)  # the agents' own presence; visitor events are what we read


def open_page(base_url: str, customer, url: str) -> None:
    """What the widget sends on each page: POST /api/v1/widget/pageviews, over HTTP."""
    request = urllib.request.Request(
        base_url + "/api/v1/widget/pageviews",
        data=json.dumps({"url": url, "title": "Shop"}).encode(),
        headers={"Authorization": f"Bearer {customer.token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 201


def next_visitor(ws) -> dict:
    event = ws.receive(skip=ONLY_PRESENCE)
    assert event["type"] == "visitor", event
    assert "cursor" not in event  # a hint, not an event of the log
    return event["data"]


def test_every_agent_sees_a_new_visitor_arrive_change_page_and_leave(
    live_server_url, make_team, make_agent, make_customer
):
    support, billing = make_team(), make_team()
    ayse, bob = make_agent(teams=[support]), make_agent(teams=[billing])
    visitor = make_customer(name="Vera Visitor")
    with (
        open_socket(live_server_url, agent_path(ayse)) as ayse_ws,
        open_socket(live_server_url, agent_path(bob)) as bob_ws,
    ):
        ayse_ws.resume(None)
        bob_ws.resume(None)
        with open_socket(live_server_url, customer_path(visitor)):
            for ws in (ayse_ws, bob_ws):  # a visitor who has not written: every agent's
                arrived = next_visitor(ws)
                assert (arrived["id"], arrived["name"], arrived["online"]) == (
                    visitor.pk,
                    "Vera Visitor",
                    True,
                )
            open_page(live_server_url, visitor, "https://shop.example.com/cart")
            for ws in (ayse_ws, bob_ws):
                page = next_visitor(ws)["current_page"]
                assert page["url"] == "https://shop.example.com/cart"
        for ws in (ayse_ws, bob_ws):
            left = next_visitor(ws)
            assert (left["id"], left["online"]) == (visitor.pk, False)


def test_a_customer_with_conversations_is_seen_by_their_teams_only(
    live_server_url, make_team, make_agent, make_customer, start_conversation
):
    support, billing = make_team(), make_team()
    ayse, bob = make_agent(teams=[support]), make_agent(teams=[billing])
    admin = make_agent(is_superuser=True)
    customer = make_customer()
    start_conversation(customer, team=support)
    with (
        open_socket(live_server_url, agent_path(ayse)) as ayse_ws,
        open_socket(live_server_url, agent_path(bob)) as bob_ws,
        open_socket(live_server_url, agent_path(admin)) as admin_ws,
    ):
        for ws in (ayse_ws, bob_ws, admin_ws):
            ws.resume(None)
        open_page(live_server_url, customer, "https://shop.example.com/checkout")
        for ws in (ayse_ws, admin_ws):
            seen = next_visitor(ws)
            assert seen["id"] == customer.pk
            assert seen["current_page"]["url"] == "https://shop.example.com/checkout"
        with pytest.raises(TimeoutError):  # Billing may not read Support's conversations
            bob_ws.receive(timeout=1, skip=ONLY_PRESENCE)
