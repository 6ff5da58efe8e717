"""The agent workspace (/agent/) and the API it added: team=mine, label and customer filters,
read markers with unread counts, the agents and teams lists, and who may read what."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from conversations.models import ReadMarker
from conversations.services import (
    Author,
    conversation_assign,
    conversation_mark_read,
    conversation_update,
    message_post,
)

pytestmark = pytest.mark.django_db

LIST = "/api/v1/conversations"


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["results"]}


def customer_says(conversation, body: str, key: str) -> None:
    message_post(conversation=conversation, author=Author.customer(), body=body, client_id=key)


@pytest.fixture
def teams(make_team):
    return make_team("billing"), make_team("sales")


@pytest.fixture
def ayse(make_agent, teams):
    return make_agent("ayse@example.com", teams=[teams[0]], first_name="Ayşe", last_name="Demir")


@pytest.fixture
def bob(make_agent, teams):
    return make_agent("bob@example.com", teams=[teams[1]], first_name="Bob")


# --- The page -----------------------------------------------------------------------------------


def test_the_page_sends_anyone_but_staff_to_the_admin_login(client, django_user_model):
    response = client.get("/agent/")
    assert response.status_code == 302
    assert response.url == "/admin/login/?next=/agent/"
    client.force_login(django_user_model.objects.create_user("someone", password="pw"))
    assert client.get("/agent/").url.startswith("/admin/login/")


def test_the_page_renders_for_an_agent_with_its_strings_and_script(client, ayse):
    client.force_login(ayse)
    response = client.get("/agent/")
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Mine", "Unassigned", "My teams", "Longest waiting", "Private note", "Resolve"):
        assert text in html
    assert "/static/agents/workspace.js" in html and "/static/agents/workspace.css" in html
    # The staff pages' shared stylesheet first, then the page's; the script is an ES module
    # whose import of the shared client is fetched alongside it (modulepreload).
    assert html.index("/static/helpdesk/staff.css") < html.index("/static/agents/workspace.css")
    assert '<link rel="modulepreload" href="/static/helpdesk/client.js">' in html
    assert '<script type="module" src="/static/agents/workspace.js">' in html
    assert 'id="workspace-strings"' in html and 'id="workspace-me"' in html
    assert "csrftoken" in response.cookies  # the page writes through the API with the session


def test_the_page_speaks_turkish(client, ayse):
    client.force_login(ayse)
    response = client.get("/agent/", HTTP_ACCEPT_LANGUAGE="tr")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="tr">' in html
    # Strings the Turkish catalog already has (the workspace's own come with the next catalog).
    for turkish in ("Yardım Masası", "Raporlar", "Yönetim", "Oturumu kapat", "Kanal"):
        assert turkish in html
    assert "Log out" not in html


def test_the_page_is_linked_from_the_admin_and_the_reports(client, ayse):
    client.force_login(ayse)
    assert 'href="/agent/"' in client.get("/admin/").content.decode()
    assert 'href="/agent/"' in client.get("/reports/").content.decode()


# --- Who may read what --------------------------------------------------------------------------


def test_an_agent_reads_only_their_teams_conversations_unless_admin(
    logged_in, teams, ayse, bob, start_conversation, django_user_model
):
    billing, sales = teams
    ours = start_conversation(team=billing)
    theirs = start_conversation(team=sales)

    client = logged_in(ayse)
    assert ids(client.get(LIST)) >= {ours.pk} and theirs.pk not in ids(client.get(LIST))
    assert ids(client.get(LIST, {"team": sales.pk})) == set()
    assert client.get(f"{LIST}/{theirs.pk}").status_code == 404
    assert client.post(f"{LIST}/{theirs.pk}/read").status_code == 404
    assert (
        client.patch(f"{LIST}/{theirs.pk}", {"priority": "high"}, format="json").status_code == 404
    )

    admin = django_user_model.objects.create_superuser("boss@example.com", "boss@example.com", "pw")
    boss = logged_in(admin)
    assert ids(boss.get(LIST)) >= {ours.pk, theirs.pk}
    assert boss.get(f"{LIST}/{theirs.pk}").status_code == 200


def test_an_assignment_outside_ones_teams_is_readable(logged_in, teams, ayse, start_conversation):
    handed = start_conversation(team=teams[1])
    conversation_assign(conversation=handed, assignee=ayse)
    assert logged_in(ayse).get(f"{LIST}/{handed.pk}").status_code == 200


# --- Filters ------------------------------------------------------------------------------------


def test_team_mine_lists_the_conversations_of_the_agents_teams(
    logged_in, teams, ayse, make_team, start_conversation
):
    billing, sales = teams
    vip = make_team("vip")
    ayse.agent.teams.add(vip)
    in_billing = start_conversation(team=billing)
    in_vip = start_conversation(team=vip)
    start_conversation(team=sales)
    assert ids(logged_in(ayse).get(LIST, {"team": "mine"})) == {in_billing.pk, in_vip.pk}


def test_the_label_filter(logged_in, teams, ayse, start_conversation):
    refund = start_conversation(team=teams[0])
    other = start_conversation(team=teams[0])
    conversation_update(conversation=refund, labels=["refund", "vip"])
    conversation_update(conversation=other, labels=["shipping"])
    client = logged_in(ayse)
    assert ids(client.get(LIST, {"label": "refund"})) == {refund.pk}
    assert ids(client.get(LIST, {"label": "REFUND"})) == {refund.pk}
    assert ids(client.get(LIST, {"label": "nothing-like-it"})) == set()


def test_the_customer_filter_lists_a_customers_earlier_conversations(
    logged_in, teams, ayse, make_customer, start_conversation
):
    customer = make_customer()
    first = start_conversation(customer=customer, team=teams[0])
    second = start_conversation(customer=customer, team=teams[0])
    start_conversation(team=teams[0])
    assert ids(logged_in(ayse).get(LIST, {"customer": customer.pk})) == {first.pk, second.pk}


def test_waiting_since_ordering_puts_the_longest_wait_first_and_nobody_waiting_last(
    logged_in, teams, ayse, start_conversation
):
    first = start_conversation(team=teams[0])
    second = start_conversation(team=teams[0])
    answered = start_conversation(team=teams[0])
    message_post(conversation=answered, author=Author.of_agent(ayse), body="Done.", client_id="a1")
    response = logged_in(ayse).get(LIST, {"ordering": "waiting_since"})
    assert [item["id"] for item in response.json()["results"]] == [first.pk, second.pk, answered.pk]
    response = logged_in(ayse).get(LIST, {"ordering": "-waiting_since"})
    assert [item["id"] for item in response.json()["results"]][-1] == answered.pk


# --- Read markers and unread counts -------------------------------------------------------------


def test_unread_counts_customer_messages_since_the_agent_last_read(
    logged_in, teams, ayse, bob, start_conversation
):
    bob.agent.teams.add(teams[0])
    conversation = start_conversation(team=teams[0], body="Hello?")
    customer_says(conversation, "Anyone there?", "m2")
    ayse_client, bob_client = logged_in(ayse), logged_in(bob)

    def unread(client) -> int:
        results = client.get(LIST).json()["results"]
        return next(item["unread"] for item in results if item["id"] == conversation.pk)

    assert unread(ayse_client) == 2
    assert ayse_client.get(f"{LIST}/{conversation.pk}").json()["unread"] == 2

    response = ayse_client.post(f"{LIST}/{conversation.pk}/read")
    assert response.status_code == 200
    assert response.json()["unread"] == 0
    assert unread(ayse_client) == 0
    assert unread(bob_client) == 2  # per agent: Bob has not read it

    # An agent's reply and a private note are not unread; the customer's next message is.
    message_post(conversation=conversation, author=Author.of_agent(bob), body="Hi!", client_id="a")
    message_post(
        conversation=conversation,
        author=Author.of_agent(bob),
        body="VIP",
        client_id="n",
        private=True,
    )
    customer_says(conversation, "Thanks", "m3")
    assert unread(ayse_client) == 1


def test_a_read_marker_only_moves_forward_and_stays_within_the_conversation(
    logged_in, teams, ayse, start_conversation
):
    conversation = start_conversation(team=teams[0])
    customer_says(conversation, "Second", "m2")
    first, second = conversation.messages.order_by("id")
    client = logged_in(ayse)
    assert (
        client.post(f"{LIST}/{conversation.pk}/read", {"message": first.pk}).json()["unread"] == 1
    )
    client.post(f"{LIST}/{conversation.pk}/read", {"message": second.pk})
    answer = client.post(f"{LIST}/{conversation.pk}/read", {"message": first.pk}).json()
    assert answer["last_read_message"] == second.pk and answer["unread"] == 0
    marker = conversation_mark_read(conversation=conversation, user=ayse, through=10**12)
    assert marker.last_read_message_id == second.pk
    assert ReadMarker.objects.filter(conversation=conversation, user=ayse).count() == 1


def test_read_refuses_bad_input(logged_in, teams, ayse, start_conversation):
    conversation = start_conversation(team=teams[0])
    client = logged_in(ayse)
    response = client.post(f"{LIST}/{conversation.pk}/read", {"message": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] and "message" in response.json()["error"]["fields"]
    assert client.post(f"{LIST}/999999999/read").status_code == 404
    assert APIClient().post(f"{LIST}/{conversation.pk}/read").status_code in (401, 403)


def test_the_list_with_unread_counts_costs_the_same_queries_for_any_page_size(
    logged_in, teams, ayse, start_conversation, django_assert_num_queries
):
    client = logged_in(ayse)

    def list_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(LIST).status_code == 200
        return len(queries)

    for index in range(2):
        conversation = start_conversation(team=teams[0])
        conversation_update(conversation=conversation, labels=[f"l{index}"])
    few = list_queries()
    for index in range(8):
        conversation = start_conversation(team=teams[0])
        conversation_update(conversation=conversation, labels=["x", f"y{index}"])
        customer_says(conversation, "More", f"more-{index}")
        conversation_mark_read(conversation=conversation, user=ayse)
    assert list_queries() == few
    # session, user, count, the page (with its unread subqueries), labels
    with django_assert_num_queries(few):
        response = client.get(LIST)
    assert {item["unread"] for item in response.json()["results"]} == {0, 1}


# --- Agents and teams lists ---------------------------------------------------------------------


def test_the_agents_list_shows_load_and_presence(logged_in, teams, ayse, bob, start_conversation):
    conversation_assign(conversation=start_conversation(team=teams[0]), assignee=ayse)
    response = logged_in(bob).get("/api/v1/agents")
    assert response.status_code == 200
    agents = {agent["email"]: agent for agent in response.json()["results"]}
    assert agents["ayse@example.com"]["open_assigned"] == 1
    assert agents["ayse@example.com"]["name"] == "Ayşe Demir"
    assert agents["ayse@example.com"]["teams"] == [{"id": teams[0].pk, "name": "billing"}]
    assert agents["bob@example.com"]["presence"] == "offline"
    assert APIClient().get("/api/v1/agents").status_code in (401, 403)


def test_the_agents_list_costs_the_same_queries_for_more_agents(
    logged_in, teams, ayse, make_agent, django_assert_max_num_queries
):
    client = logged_in(ayse)
    for _ in range(6):
        make_agent(teams=list(teams))
    with django_assert_max_num_queries(5):
        assert len(client.get("/api/v1/agents").json()["results"]) == 7


def test_the_teams_list_says_which_are_mine(logged_in, teams, ayse):
    response = logged_in(ayse).get("/api/v1/teams")
    assert response.status_code == 200
    assert [(team["name"], team["member"]) for team in response.json()["results"]] == [
        ("billing", True),
        ("sales", False),
    ]


def test_a_customer_token_cannot_use_the_agent_lists(make_customer):
    customer = make_customer()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {customer.token}")
    assert client.get("/api/v1/teams").status_code in (401, 403)
    assert client.get(LIST).status_code in (401, 403)


def test_the_detail_tells_agents_more_about_the_customer(
    logged_in, teams, ayse, make_customer, start_conversation
):
    customer = make_customer(name="Deniz", email="deniz@example.com")
    customer.external_id = "shop-42"
    customer.language = "tr"
    customer.save()
    conversation = start_conversation(customer=customer, team=teams[0])
    detail = logged_in(ayse).get(f"{LIST}/{conversation.pk}").json()
    assert detail["customer"]["external_id"] == "shop-42"
    assert detail["customer"]["language"] == "tr"
    assert {"identifier", "created_at", "last_seen_at"} <= set(detail["customer"])
