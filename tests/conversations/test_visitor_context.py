"""Visitor context: page views from the widget, identify attributes, customer notes, the
customer's context for agents (GET /api/v1/customers/{id}), the visitors on the site now and
a conversation an agent starts with one of them."""

import pytest
from rest_framework.test import APIClient

from conversations.live.presence import customer_socket_closed, customer_socket_opened
from conversations.models import Conversation, Customer, CustomerNote, PageView, Status
from conversations.visitor_context import PAGEVIEWS_KEPT, describe_user_agent
from tests.helpers import limit

from .test_widget_api import customer_client, new_session, start, widget  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

PAGEVIEWS = "/api/v1/widget/pageviews"
SESSIONS = "/api/v1/widget/sessions"
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"


def customer_url(customer: Customer) -> str:
    return f"/api/v1/customers/{customer.pk}"


def view(client: APIClient, url: str, **extra):
    return client.post(PAGEVIEWS, {"url": url, **extra}, format="json")


# --- Page views -------------------------------------------------------------------------------


def test_a_page_view_is_stored_with_the_browser_and_time_zone(customer_client):  # noqa: F811
    client, customer = customer_client

    answer = client.post(
        PAGEVIEWS,
        {
            "url": "https://shop.example.com/shoes?size=42",
            "title": "  Running   shoes\n",
            "referrer": "https://www.example.org/",
            "time_zone": "Europe/Istanbul",
        },
        format="json",
        HTTP_USER_AGENT=FIREFOX_WINDOWS,
    )

    assert answer.status_code == 201, answer.content
    assert answer.json()["title"] == "Running shoes"
    pageview = PageView.objects.get(customer=customer)
    assert (pageview.url, pageview.referrer) == (
        "https://shop.example.com/shoes?size=42",
        "https://www.example.org/",
    )
    customer.refresh_from_db()
    assert (customer.browser, customer.time_zone) == ("Firefox · Windows", "Europe/Istanbul")
    assert customer.last_seen_at == pageview.at


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"url": ""},
        {"url": "javascript:alert(1)"},
        {"url": "/relative/path"},
        {"url": "https://shop.example.com/" + "a" * 2000},
        {"url": 42},
        {"url": "https://shop.example.com/", "referrer": "data:text/html,hi"},
        {"url": "https://shop.example.com/", "title": ["a list"]},
    ],
)
def test_a_bad_page_view_answers_400_in_the_error_shape(customer_client, body):  # noqa: F811
    client, customer = customer_client

    answer = client.post(PAGEVIEWS, body, format="json")

    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["code"]
    assert not PageView.objects.filter(customer=customer).exists()


def test_a_long_title_is_cut_and_an_unknown_time_zone_is_dropped(customer_client):  # noqa: F811
    client, customer = customer_client

    answer = view(client, "https://shop.example.com/", title="x" * 1000, time_zone="Mars/Olympus")

    assert answer.status_code == 201
    assert len(PageView.objects.get(customer=customer).title) == 300
    customer.refresh_from_db()
    assert customer.time_zone == ""


def test_page_views_without_a_token_answer_401():
    answer = view(APIClient(), "https://shop.example.com/")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"]


def test_page_views_are_rate_limited(customer_client, settings):  # noqa: F811
    limit(settings, widget_pageviews="3/min")
    client, customer = customer_client

    answers = [view(client, f"https://shop.example.com/{n}").status_code for n in range(4)]

    assert answers == [201, 201, 201, 429]
    assert PageView.objects.filter(customer=customer).count() == 3


def test_only_the_newest_page_views_are_kept(customer_client):  # noqa: F811
    client, customer = customer_client
    for n in range(PAGEVIEWS_KEPT + 5):
        assert view(client, f"https://shop.example.com/{n}").status_code == 201

    kept = list(PageView.objects.filter(customer=customer).values_list("url", flat=True))

    assert len(kept) == PAGEVIEWS_KEPT
    assert "https://shop.example.com/4" not in kept
    assert f"https://shop.example.com/{PAGEVIEWS_KEPT + 4}" in kept


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (FIREFOX_WINDOWS, "Firefox · Windows"),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.0 Safari/605.1.15",
            "Safari · macOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0 Mobile Safari/537.36",
            "Chrome · Android",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0 Safari/537.36 Edg/131.0",
            "Edge · Windows",
        ),
        ("curl/8.0", ""),
    ],
)
def test_the_user_agent_reads_as_browser_and_system(user_agent, expected):
    assert describe_user_agent(user_agent) == expected


# --- identify: custom attributes --------------------------------------------------------------


def test_identify_stores_attributes_and_merges_later_ones():
    session = new_session(name="Ayşe", attributes={"plan": "gold", "orders": 3, "vip": True})
    token = session["customer_token"]
    again = APIClient().post(
        SESSIONS,
        {"customer_token": token, "attributes": {"orders": 4, "vip": None, "city": "İzmir"}},
        format="json",
    )

    assert again.status_code == 201
    customer = Customer.objects.get(pk=session["customer"]["id"])
    assert customer.attributes == {"plan": "gold", "orders": 4, "city": "İzmir"}


@pytest.mark.parametrize(
    "attributes",
    [
        ["plan", "gold"],
        {"plan": {"nested": "object"}},
        {"plan": ["a", "list"]},
        {"bad key!": "x"},
        {"k" * 41: "x"},
        {"note": "x" * 256},
        {f"key{n}": n for n in range(51)},
    ],
)
def test_bad_attributes_answer_400(attributes):
    answer = APIClient().post(SESSIONS, {"attributes": attributes}, format="json")

    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["fields"]["attributes"]
    assert not Customer.objects.exists()


def test_agents_find_conversations_by_attribute(alice_client, support):
    gold = widget(new_session(attributes={"plan": "Gold", "orders": 12})["customer_token"])
    basic = widget(new_session(attributes={"plan": "basic"})["customer_token"])
    gold_id, basic_id = start(gold).json()["id"], start(basic).json()["id"]

    def found(attribute: str) -> set[int]:
        answer = alice_client.get("/api/v1/conversations", {"attribute": attribute})
        assert answer.status_code == 200, answer.content
        return {item["id"] for item in answer.json()["results"]}

    assert found("plan:gold") == {gold_id}
    assert found("orders:12") == {gold_id}
    assert found("plan") == {gold_id, basic_id}
    assert found("plan:platinum") == set()
    assert found("plan__contains:gold") == set()  # a name, never a lookup
    for bad in (":gold", "not a name!:1"):
        refused = alice_client.get("/api/v1/conversations", {"attribute": bad})
        assert refused.status_code == 400
        assert refused.json()["error"]["fields"]["attribute"]


# --- The customer's context for agents ---------------------------------------------------------


def test_the_customer_detail_has_pages_newest_first_online_and_attributes(
    alice_client,
    support,
    customer_client,  # noqa: F811
):
    client, customer = customer_client
    start(client)
    view(client, "https://shop.example.com/a", title="A", time_zone="Europe/Istanbul")
    view(client, "https://shop.example.com/b", title="B")
    Customer.objects.filter(pk=customer.pk).update(attributes={"plan": "gold"})

    offline = alice_client.get(customer_url(customer)).json()
    customer_socket_opened(customer.pk, "socket-1")
    online = alice_client.get(customer_url(customer)).json()
    customer_socket_closed(customer.pk, "socket-1")

    assert [page["title"] for page in offline["pageviews"]] == ["B", "A"]
    assert offline["current_page"]["url"] == "https://shop.example.com/b"
    assert (offline["online"], online["online"]) == (False, True)
    assert offline["attributes"] == {"plan": "gold"}
    assert offline["time_zone"] == "Europe/Istanbul"


def test_an_agent_outside_the_customers_teams_gets_404(
    make_agent,
    billing,
    support,
    customer_client,  # noqa: F811
    logged_in,
):
    client, customer = customer_client
    start(client)  # lands in Support
    outsider = logged_in(make_agent(teams=[billing]))

    assert outsider.get(customer_url(customer)).status_code == 404
    assert outsider.get(customer_url(customer) + "/notes").status_code == 404


def test_customers_cannot_read_the_agent_side():
    token = new_session(name="A")["customer_token"]
    other = Customer.objects.get(pk=new_session(name="B")["customer"]["id"])

    for path in (customer_url(other), customer_url(other) + "/notes", "/api/v1/visitors"):
        assert widget(token).get(path).status_code == 401


# --- Notes --------------------------------------------------------------------------------------


def test_notes_are_shared_and_deleted_by_their_author_only(
    alice_client, make_agent, support, logged_in, make_customer
):
    customer = make_customer()
    bob = logged_in(make_agent(teams=[support], first_name="Bob"))

    written = alice_client.post(
        customer_url(customer) + "/notes", {"body": "<b>Prefers email</b>"}, format="json"
    )
    assert written.status_code == 201, written.content
    note = written.json()
    seen_by_bob = bob.get(customer_url(customer)).json()["notes"]
    refused = bob.delete(customer_url(customer) + f"/notes/{note['id']}")
    deleted = alice_client.delete(customer_url(customer) + f"/notes/{note['id']}")

    assert [(n["body"], n["author"]["name"], n["mine"]) for n in seen_by_bob] == [
        ("<b>Prefers email</b>", "Alice", False)
    ]
    assert refused.status_code == 409
    assert deleted.status_code == 204
    assert not CustomerNote.objects.exists()


@pytest.mark.parametrize(
    "body", [{}, {"body": ""}, {"body": "   "}, {"body": "x" * 2001}, {"body": 7}]
)
def test_a_bad_note_answers_400(alice_client, support, make_customer, body):
    answer = alice_client.post(customer_url(make_customer()) + "/notes", body, format="json")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"]


# --- On the site now ------------------------------------------------------------------------------


def test_visitors_lists_customers_with_an_open_widget_now(alice_client, support):
    here = Customer.objects.get(pk=new_session(name="Here")["customer"]["id"])
    gone = Customer.objects.get(pk=new_session(name="Gone")["customer"]["id"])
    for customer in (here, gone):
        view(widget(customer.token), f"https://shop.example.com/{customer.name}", title="Shoes")
    customer_socket_opened(here.pk, "socket-here")
    customer_socket_opened(gone.pk, "socket-gone")
    customer_socket_closed(gone.pk, "socket-gone")

    answer = alice_client.get("/api/v1/visitors")
    customer_socket_closed(here.pk, "socket-here")

    assert answer.status_code == 200
    assert [
        (v["name"], v["online"], v["current_page"]["url"]) for v in answer.json()["results"]
    ] == [("Here", True, "https://shop.example.com/Here")]


def test_visitors_is_for_agents_only(make_agent, logged_in):
    assert APIClient().get("/api/v1/visitors").status_code == 401
    non_staff = APIClient()
    from django.contrib.auth import get_user_model

    non_staff.force_login(get_user_model().objects.create_user(username="shopper"))
    assert non_staff.get("/api/v1/visitors").status_code == 403


def test_an_agent_starts_a_conversation_with_a_visitor(alice, alice_client, support):
    session = new_session(name="Visitor")
    customer_id = session["customer"]["id"]
    body = {"body": "Hello! Can I help you find a size?", "client_id": "reach-1"}

    started = alice_client.post(
        f"/api/v1/visitors/{customer_id}/conversations", body, format="json"
    )
    again = alice_client.post(f"/api/v1/visitors/{customer_id}/conversations", body, format="json")

    assert started.status_code == 201, started.content
    assert again.status_code == 200 and again.json()["id"] == started.json()["id"]
    conversation = Conversation.objects.get(pk=started.json()["id"])
    assert conversation.assignee == alice and conversation.team == support
    assert conversation.status != Status.RESOLVED
    seen = widget(session["customer_token"]).get("/api/v1/widget/conversations").json()["results"]
    assert [c["id"] for c in seen] == [conversation.pk]
    messages = widget(session["customer_token"]).get(
        f"/api/v1/widget/conversations/{conversation.pk}/messages"
    )
    assert [m["body"] for m in messages.json()["results"]] == [body["body"]]


def test_starting_a_conversation_needs_a_message(alice_client, support, make_customer):
    customer = make_customer()
    answer = alice_client.post(
        f"/api/v1/visitors/{customer.pk}/conversations",
        {"body": " ", "client_id": "x"},
        format="json",
    )
    assert answer.status_code == 400
    assert not Conversation.objects.filter(customer=customer).exists()
