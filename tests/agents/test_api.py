"""The agents' API: /agents/me, canned responses, the widget's availability, and the schema."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from agents.canned import render_canned
from agents.models import Agent, CannedResponse, Presence
from conversations.api.schema import SOME_TEXT
from conversations.people import AVATAR_COLORS, avatar_color
from conversations.services import (
    Author,
    conversation_assign,
    conversation_resolve,
    conversation_start,
    message_post,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

AVAILABILITY = "/api/v1/widget/availability"
CANNED = "/api/v1/canned-responses"
ME = "/api/v1/agents/me"


@pytest.fixture
def alice_capacity() -> int:
    """Alice takes two conversations here: the availability test fills her with two."""
    return 2


# --- /agents/me ------------------------------------------------------------------------------


def test_me_shows_the_agent_with_capacity_and_open_assignments(
    logged_in, alice, support, start_conversation
):
    for _ in range(2):
        conversation_assign(conversation=start_conversation(), assignee=alice)
    conversation_resolve(conversation=alice.assigned_conversations.first())
    response = logged_in(alice).get(ME)
    assert response.status_code == 200
    assert response.json() == {
        "id": alice.pk,
        "name": "Alice",
        "display_name": "",
        "public_name": "Alice",
        "avatar": {"initials": "A", "color": avatar_color(alice.pk)},
        "email": "alice@example.com",
        "teams": [{"id": support.pk, "name": "Support"}],
        "presence": "offline",
        "capacity": 2,
        "open_assigned": 1,
    }


def test_me_changes_presence(logged_in, alice):
    client = logged_in(alice)
    response = client.patch(ME, {"presence": "online"}, format="json")
    assert response.status_code == 200 and response.json()["presence"] == "online"
    assert Agent.objects.get(pk=alice.pk).presence == Presence.ONLINE

    bad = client.patch(ME, {"presence": "busy"}, format="json")
    assert bad.status_code == 400 and "presence" in bad.json()["error"]["fields"]


def test_an_agent_sets_the_name_customers_see(logged_in, alice, start_conversation):
    """Issue 15, agent profile: a display name, shown to customers; never an email."""
    client = logged_in(alice)
    response = client.patch(ME, {"display_name": "  Alice   from Support "}, format="json")
    assert response.status_code == 200, response.content
    me = response.json()
    assert me["display_name"] == "Alice from Support" and me["public_name"] == me["display_name"]
    assert me["avatar"] == {"initials": "AF", "color": avatar_color(alice.pk)}
    assert me["avatar"]["color"] in AVATAR_COLORS
    assert client.get(ME).json()["display_name"] == "Alice from Support"

    for bad in ["alice@example.com", "x" * 81, 5]:
        refused = client.patch(ME, {"display_name": bad}, format="json")
        assert refused.status_code == 400, bad
        assert "display_name" in refused.json()["error"]["fields"]

    cleared = client.patch(ME, {"display_name": ""}, format="json").json()
    assert cleared["display_name"] == "" and cleared["public_name"] == "Alice"  # first name


def test_a_staff_user_without_a_profile_gets_one_and_others_are_refused(logged_in):
    staff = get_user_model().objects.create_user("sam", "sam@example.com", "pw", is_staff=True)
    assert logged_in(staff).get(ME).json()["capacity"] == 3
    plain = get_user_model().objects.create_user("pat", "pat@example.com", "pw")
    assert logged_in(plain).get(ME).status_code == 403
    assert APIClient().get(ME).status_code == 401


# --- Canned responses ------------------------------------------------------------------------


def test_placeholders_are_filled_as_plain_text_and_unknown_ones_stay(alice, make_customer):
    customer = make_customer(name="<b>Ayşe</b> Yılmaz", email="ayse@example.com")
    conversation, _ = conversation_start(customer=customer, body="hi", client_id="1")
    body = (
        "Hi {{customer.first_name}} ({{ customer.email }}), {{agent.name}} here about "
        "#{{conversation.id}}. {{customer.shoe_size}} {{nope}}"
    )
    assert render_canned(body, conversation=conversation, agent_user=alice) == (
        f"Hi <b>Ayşe</b> (ayse@example.com), Alice here about #{conversation.pk}. "
        "{{customer.shoe_size}} {{nope}}"
    )


def test_an_empty_placeholder_takes_its_comma_and_space_along(alice, make_customer):
    """A widget customer has no name: "Hi , thanks" and "number, ?" read as broken."""
    customer = make_customer(name="")
    conversation, _ = conversation_start(customer=customer, body="hi", client_id="1")
    body = (
        "Hi {{customer.first_name}}, thanks! Your order number, {{customer.first_name}}? "
        "Have a great day, {{customer.name}}. Ask {{agent.first_name}}, {{team.name}}."
    )
    assert render_canned(body, conversation=conversation, agent_user=alice) == (
        "Hi, thanks! Your order number? Have a great day. Ask Alice, Support."
    )


def test_agents_create_list_and_render_canned_responses(
    logged_in, alice, start_conversation, make_team
):
    client = logged_in(alice)
    created = client.post(
        CANNED, {"shortcut": "hello", "body": "Hello {{customer.name}}, I am {{agent.name}}."}
    )
    assert created.status_code == 201, created.content
    assert created.json()["team"] is None
    other_team = make_team(name="Sales")
    CannedResponse.objects.create(shortcut="sales-only", body="x", team=other_team)

    listed = client.get(CANNED).json()["results"]
    assert [r["shortcut"] for r in listed] == ["hello"]  # not another team's

    conversation = start_conversation()
    render_url = f"{CANNED}/{created.json()['id']}/render"
    rendered = client.get(render_url, {"conversation": conversation.pk})
    assert rendered.status_code == 200
    assert rendered.json()["rendered"] == "Hello Ayşe Yılmaz, I am Alice."
    with_rendering = client.get(CANNED, {"conversation": conversation.pk}).json()["results"]
    assert with_rendering[0]["rendered"] == "Hello Ayşe Yılmaz, I am Alice."


def test_canned_response_errors(logged_in, alice, start_conversation, make_team):
    client = logged_in(alice)
    first = client.post(CANNED, {"shortcut": "hello", "body": "Hi"}, format="json")
    duplicate = client.post(CANNED, {"shortcut": "hello", "body": "Hi again"}, format="json")
    assert duplicate.status_code == 400
    assert "shortcut" in duplicate.json()["error"]["fields"]
    for body, field in [
        ({"shortcut": "has spaces", "body": "x"}, "shortcut"),
        ({"shortcut": "ok", "body": 5}, "body"),
        ({"shortcut": "ok2", "body": "x", "team": "Nowhere"}, "team"),
        ({"shortcut": "ok3", "body": "x", "team": make_team().name}, "team"),  # not her team
        ({"shortcut": "ok4", "body": "\x85 "}, "body"),  # white space to Python, not to \s
    ]:
        response = client.post(CANNED, body, format="json")
        assert response.status_code == 400 and field in response.json()["error"]["fields"], body

    schema = client.get("/api/schema/", {"format": "json"}).json()
    body_schema = schema["components"]["schemas"]["CannedResponseInput"]["properties"]["body"]
    assert body_schema["pattern"] == SOME_TEXT  # the fuzzer sent "\x85" as valid text

    render_url = f"{CANNED}/{first.json()['id']}/render"
    assert client.get(render_url).status_code == 400  # which conversation?
    hidden = start_conversation(team=make_team())
    assert client.get(render_url, {"conversation": hidden.pk}).status_code == 404
    assert client.get(f"{CANNED}/999999/render", {"conversation": hidden.pk}).status_code == 404


# --- Availability ----------------------------------------------------------------------------


def test_availability_of_the_default_team(alice, make_agent, support, start_conversation):
    nobody = APIClient().get(AVAILABILITY)
    assert nobody.status_code == 200
    assert nobody.json() == {
        "agents_online": 0,
        "can_chat_live": False,
        "estimated_wait_seconds": None,  # no history to estimate from
        "typical_reply_seconds": None,
        "open_now": True,  # no business hours: always open
        "opens_at": None,
    }

    Agent.objects.filter(pk=alice.pk).update(presence=Presence.ONLINE)
    live = APIClient().get(AVAILABILITY).json()
    assert live == {
        "agents_online": 1,
        "can_chat_live": True,
        "estimated_wait_seconds": None,
        "typical_reply_seconds": None,
        "open_now": True,
        "opens_at": None,
    }

    # Alice is full (capacity 2); three answered conversations give a 10-minute history.
    now = timezone.now()
    answered_elsewhere(support, waits_minutes=[10])
    for n in range(2):
        conversation, _ = conversation_start(
            customer=_customer(n), body="help", client_id="c", at=now - timedelta(minutes=30)
        )
        conversation_assign(conversation=conversation, assignee=alice)
        message_post(
            conversation=conversation,
            author=Author.of_agent(alice),
            body="hello",
            client_id="r",
            at=now - timedelta(minutes=20),
        )
    start_conversation()  # waiting in the queue, unassigned
    cache.clear()  # the typical wait is kept for a minute
    busy = APIClient().get(AVAILABILITY).json()
    assert busy["agents_online"] == 1 and busy["can_chat_live"] is False
    assert busy["estimated_wait_seconds"] == 2 * 600  # the queue ahead, then you


def _customer(n: int):
    from conversations.services import customer_create

    return customer_create(name=f"c{n}")


def answered_elsewhere(team, *, waits_minutes: list[float]) -> None:
    """Resolved conversations of `team` from the last days, each answered after a wait."""
    from conversations.services import customer_create

    users = get_user_model().objects
    replier = users.create_user(f"past-{users.count()}@example.com", is_staff=True)
    now = timezone.now()
    for n, minutes in enumerate(waits_minutes):
        asked = now - timedelta(days=1, hours=n)
        conversation, _ = conversation_start(
            customer=customer_create(name=f"past {n}"),
            body="help",
            client_id="c",
            team=team,
            at=asked,
        )
        message_post(
            conversation=conversation,
            author=Author.of_agent(replier),
            body="hello",
            client_id="r",
            at=asked + timedelta(minutes=minutes),
        )
        conversation_resolve(conversation=conversation, at=asked + timedelta(minutes=minutes + 1))


def test_the_wait_estimate_needs_enough_history_and_is_never_absurd(
    alice, support, start_conversation
):
    """Defect 5 of issue 15: "Estimated wait: about 3 h" next to "We usually reply within
    minutes", while an agent was answering. An estimate is a recent typical wait times the
    rounds of the queue ahead; without enough history, with nobody online, or beyond what
    anyone would believe, there is none."""
    Agent.objects.filter(pk=alice.pk).update(presence=Presence.ONLINE, capacity=1)
    conversation_assign(conversation=start_conversation(), assignee=alice)  # Alice is full
    start_conversation()  # one waits ahead

    answered_elsewhere(support, waits_minutes=[5])
    few = APIClient().get(AVAILABILITY).json()
    assert few["can_chat_live"] is False and few["agents_online"] == 1
    assert few["estimated_wait_seconds"] is None  # one conversation says nothing
    assert few["typical_reply_seconds"] is None

    answered_elsewhere(support, waits_minutes=[4, 6])  # now 4, 5 and 6 minutes
    cache.clear()  # the typical wait is kept for a minute
    enough = APIClient().get(AVAILABILITY).json()
    assert enough["typical_reply_seconds"] == 5 * 60
    assert enough["estimated_wait_seconds"] == 2 * 5 * 60  # the one ahead, then you

    for _ in range(30):
        start_conversation()  # a queue of 31 ahead of one agent: 2.6 hours is no estimate
    long = APIClient().get(AVAILABILITY).json()
    assert long["estimated_wait_seconds"] is None
    assert long["typical_reply_seconds"] == 5 * 60  # what "we usually reply within" says

    Agent.objects.filter(pk=alice.pk).update(presence=Presence.OFFLINE)
    nobody = APIClient().get(AVAILABILITY).json()
    assert nobody["agents_online"] == 0 and nobody["estimated_wait_seconds"] is None


def test_the_typical_wait_leaves_out_conversations_older_than_the_history(support):
    answered_elsewhere(support, waits_minutes=[3, 3, 3])
    from conversations.models import Conversation

    Conversation.objects.update(created_at=timezone.now() - timedelta(days=60))
    assert APIClient().get(AVAILABILITY).json()["typical_reply_seconds"] is None


def test_availability_by_team_name_and_unknown_team(make_team, make_agent):
    sales = make_team(name="Sales")
    make_agent(teams=[sales], presence="online")
    make_agent(teams=[sales], presence="away")
    assert APIClient().get(AVAILABILITY, {"team": "sales"}).json()["agents_online"] == 1
    unknown = APIClient().get(AVAILABILITY, {"team": "Nowhere"})
    assert unknown.status_code == 400 and "team" in unknown.json()["error"]["fields"]


def test_availability_is_rate_limited_per_ip(settings, support):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "widget_availability": "2/min",
        },
    }
    client = APIClient()
    assert [client.get(AVAILABILITY).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get(AVAILABILITY).json()["error"]["code"] == "rate_limited"


# --- The OpenAPI schema ----------------------------------------------------------------------


def test_the_schema_documents_the_api():
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/v1/widget/sessions",
        "/api/v1/widget/availability",
        "/api/v1/widget/conversations",
        "/api/v1/widget/conversations/{id}/messages",
        "/api/v1/widget/conversations/{id}/rating",
        "/api/v1/conversations",
        "/api/v1/conversations/{id}",
        "/api/v1/agents/me",
        "/api/v1/canned-responses",
    ]:
        assert path in paths, path


def test_the_schema_generates_without_warnings_that_matter(tmp_path, capsys):
    from django.core.management import call_command

    call_command("spectacular", "--file", str(tmp_path / "schema.yaml"))
    report = capsys.readouterr().err
    # An operationId collision too: drf-spectacular warns in every `check --deploy`.
    problems = [
        line
        for line in report.splitlines()
        if ("Warning" in line or "Error" in line) and not line.startswith(("Warnings:", "Errors:"))
    ]
    assert problems == []
    assert "/api/v1/widget/sessions" in (tmp_path / "schema.yaml").read_text()
