"""Rate limits that hold: the client's address behind a known number of proxies, counters
that count exactly under concurrency (real Redis, a real server), and the agent API's limit."""

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from conversations.throttling import client_ip, hit
from tests.helpers import limit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

SESSIONS = "/api/v1/widget/sessions"


# --- The client's address ------------------------------------------------------------------


@pytest.mark.parametrize(
    "proxies, peer, forwarded, expected",
    [
        (0, "198.51.100.1", None, "198.51.100.1"),
        (0, "198.51.100.1", "203.0.113.9", "198.51.100.1"),  # no proxy: the header is a lie
        (1, "10.0.0.1", "203.0.113.9", "203.0.113.9"),
        (1, "10.0.0.1", "1.2.3.4, 203.0.113.9", "203.0.113.9"),  # what the client prepended
        (2, "10.0.0.1", "1.2.3.4, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (2, "10.0.0.1", "203.0.113.9", "203.0.113.9"),  # fewer entries than proxies
        (1, "10.0.0.1", None, "10.0.0.1"),  # reached the server without the proxy
        (1, "10.0.0.1", "not-an-address", "10.0.0.1"),
        (1, "10.0.0.1", "1.2.3.4, 2001:db8::1", "2001:db8::1"),
        (0, None, None, "unknown"),
    ],
)
def test_the_client_address_trusts_exactly_the_configured_proxies(
    settings, proxies, peer, forwarded, expected
):
    settings.HELPDESK_TRUSTED_PROXIES = proxies
    assert client_ip(peer, forwarded) == expected


def test_a_new_x_forwarded_for_per_request_does_not_reset_the_limit(settings):
    limit(settings, widget_sessions="3/min")
    client = APIClient()
    statuses = [
        client.post(SESSIONS, {}, format="json", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(5)
    ]
    assert statuses == [201, 201, 201, 429, 429]


def test_through_the_server_a_new_x_forwarded_for_does_not_reset_the_limit(
    settings, live_server_url
):
    """uvicorn, left to itself, would take the header from a local peer as the address."""
    limit(settings, widget_sessions="2/min")

    def post(n: int) -> int:
        request = urllib.request.Request(
            live_server_url + SESSIONS,
            data=b"{}",
            headers={"Content-Type": "application/json", "X-Forwarded-For": f"203.0.113.{n}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    assert [post(n) for n in range(4)] == [201, 201, 429, 429]


def test_behind_trusted_proxies_each_client_has_its_own_budget(settings):
    limit(settings, widget_sessions="2/min")
    settings.HELPDESK_TRUSTED_PROXIES = 2
    client = APIClient()

    def post(chain: str) -> int:
        return client.post(
            SESSIONS, {}, format="json", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=chain
        ).status_code

    # The client makes up the left part; the two proxies wrote the right two entries.
    first = [post(f"6.6.6.{n}, 203.0.113.7, 10.0.0.2") for n in range(3)]
    assert first == [201, 201, 429]
    assert post("203.0.113.8, 10.0.0.2") == 201  # another client behind the same proxies


# --- Counters under concurrency --------------------------------------------------------------


def test_the_counter_counts_every_hit_of_many_threads_exactly():
    with ThreadPoolExecutor(max_workers=32) as pool:
        waits = list(pool.map(lambda _: hit("helpdesk:rate:test:threads", 50, 60), range(400)))
    assert waits.count(None) == 50
    assert all(0 < wait <= 60 for wait in waits if wait is not None)


def test_concurrent_session_posts_against_a_live_server_accept_exactly_the_limit(
    settings, live_server_url
):
    limit(settings, widget_sessions="30/min")

    def post(_: int) -> tuple[int, dict]:
        request = urllib.request.Request(
            live_server_url + SESSIONS,
            data=b"{}",
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            assert error.headers["Retry-After"]
            return error.code, json.loads(error.read())

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(post, range(300)))
    statuses = [status for status, _ in answers]
    assert statuses.count(201) == 30
    assert statuses.count(429) == 270
    assert {body["error"]["code"] for status, body in answers if status == 429} == {"rate_limited"}


# --- The agent API ---------------------------------------------------------------------------


def test_the_agent_api_is_limited_per_agent(settings, make_agent):
    limit(settings, agent="3/min")
    first, second = make_agent(), make_agent()

    def client_of(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        return client

    flooding = client_of(first)
    statuses = [flooding.get("/api/v1/agents/me").status_code for _ in range(3)]
    refused = flooding.get("/api/v1/conversations")  # the budget spans the agent API
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused["Retry-After"]) > 0
    assert flooding.get("/api/v1/reports/summary").status_code == 429
    assert client_of(second).get("/api/v1/agents/me").status_code == 200


# --- Widget reads ----------------------------------------------------------------------------


def test_every_widget_call_of_a_customer_counts_reads_included(settings, make_customer):
    limit(settings, widget_customer="3/min")
    flooding, other = make_customer(), make_customer()

    def client_of(customer) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {customer.token}")
        return client

    polling = client_of(flooding)
    statuses = [polling.get("/api/v1/widget/conversations").status_code for _ in range(3)]
    refused = polling.get("/api/v1/widget/conversations")
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused["Retry-After"]) > 0
    assert client_of(other).get("/api/v1/widget/conversations").status_code == 200
