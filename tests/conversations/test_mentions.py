"""Mentions in private notes (Issue 15, "Mentions and collaboration"): the syntax, who can be
mentioned, the `mentioned=me` filter, the message shape and the mention email."""

import time
from types import SimpleNamespace

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.core.cache import cache

from conversations.mail.mentions import send_mention_email
from conversations.mentions import handles_in, resolve
from conversations.models import Mention
from conversations.services import Author, message_post
from helpdesk.celery import app
from tests.conftest import unique

# --- The syntax (no database) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "handles"),
    [
        ("@ayse can you check?", ["ayse"]),
        ("Thanks @Ayse.", ["ayse"]),
        ("@ayse, @bob and @ayse again", ["ayse", "bob"]),
        ("ask @ayse@example.com please", ["ayse@example.com"]),
        ("(@bob.smith) knows", ["bob.smith"]),
        ("write to ayse@example.com", []),  # an address in the text is no mention
        ("an @ alone", []),
        ("email@@ayse", []),
        ("", []),
    ],
)
def test_the_handles_a_note_names(body, handles):
    assert handles_in(body) == handles


def person(pk: int, email: str) -> SimpleNamespace:
    return SimpleNamespace(pk=pk, email=email)


def test_a_short_handle_names_the_one_agent_with_it_and_never_a_shared_one():
    ayse = person(1, "Ayse@example.com")
    bob_here = person(2, "bob@example.com")
    bob_there = person(3, "bob@other.example")
    candidates = [ayse, bob_here, bob_there]
    assert resolve(["ayse"], candidates) == [ayse]
    assert resolve(["bob"], candidates) == []  # two bobs: ambiguous
    assert resolve(["bob@other.example", "ayse@example.com"], candidates) == [bob_there, ayse]
    assert resolve(["nobody"], candidates) == []


# --- Stored with the note, for agents who may read it ------------------------------------------


@pytest.fixture
def team_of_three(make_team, make_agent):
    team = make_team("Billing")
    other = make_team("Sales")
    ayse = make_agent("ayse@example.com", teams=[team], first_name="Ayşe", last_name="Demir")
    bob = make_agent("bob@example.com", teams=[team], first_name="Bob")
    sam = make_agent("sam@example.com", teams=[other], first_name="Sam")  # another team
    return SimpleNamespace(team=team, other=other, ayse=ayse, bob=bob, sam=sam)


@pytest.fixture
def conversation(team_of_three, start_conversation):
    return start_conversation(team=team_of_three.team, body="My invoice is wrong.")


def note(conversation, author, body: str, *, private: bool = True):
    message, _created = message_post(
        conversation=conversation,
        author=Author.of_agent(author),
        body=body,
        client_id=unique("note"),
        private=private,
    )
    return message


def mentioned(message) -> list[int]:
    return list(
        Mention.objects.filter(message=message).order_by("id").values_list("user_id", flat=True)
    )


def test_a_private_note_mentions_a_colleague_of_the_team(conversation, team_of_three):
    people = team_of_three
    message = note(conversation, people.ayse, "@bob can you refund this one?")
    assert mentioned(message) == [people.bob.pk]
    mention = Mention.objects.get(message=message)
    assert mention.conversation_id == conversation.pk


def test_only_agents_who_may_read_the_conversation_can_be_mentioned(
    conversation, team_of_three, make_agent
):
    people = team_of_three
    admin = make_agent("root@example.com", is_superuser=True)
    message = note(conversation, people.ayse, "@sam @root @sam@example.com have a look")
    assert mentioned(message) == [admin.pk]  # Sam's team cannot see Billing's conversation


def test_an_assignee_from_another_team_can_be_mentioned(conversation, team_of_three):
    from conversations.services import conversation_assign

    conversation_assign(conversation=conversation, assignee=team_of_three.sam)
    message = note(conversation, team_of_three.ayse, "@sam it is yours now")
    assert mentioned(message) == [team_of_three.sam.pk]


def test_in_a_conversation_without_a_team_every_agent_can_be_mentioned(
    team_of_three, make_customer
):
    from conversations.services import conversation_create

    people = team_of_three
    teamless = conversation_create(customer=make_customer())
    teamless.team = None
    teamless.save(update_fields=["team"])
    message = note(teamless, people.ayse, "@sam @bob both of you")
    assert mentioned(message) == [people.sam.pk, people.bob.pk]


def test_mentions_in_messages_the_customer_sees_do_nothing(conversation, team_of_three):
    message = note(conversation, team_of_three.ayse, "@bob will call you back", private=False)
    assert mentioned(message) == []


def test_mentioning_yourself_or_an_inactive_agent_does_nothing(conversation, team_of_three):
    people = team_of_three
    people.bob.is_active = False
    people.bob.save()
    assert mentioned(note(conversation, people.ayse, "@ayse @bob remind me")) == []


def test_the_notes_shape_lists_its_mentions_live_and_in_the_api(
    conversation, team_of_three, logged_in
):
    from conversations.models import ConversationEvent

    people = team_of_three
    message = note(conversation, people.ayse, "@bob please look")
    event = ConversationEvent.objects.get(message=message)
    assert event.data["mentions"] == [{"id": people.bob.pk, "name": "Bob"}]
    assert event.public is False
    answer = logged_in(people.bob).get(f"/api/v1/conversations/{conversation.pk}")
    shown = {item["id"]: item["mentions"] for item in answer.json()["messages"]}
    assert shown[message.pk] == [{"id": people.bob.pk, "name": "Bob"}]
    assert all(mentions == [] for pk, mentions in shown.items() if pk != message.pk)


def test_the_participating_filter_lists_conversations_i_am_mentioned_in(
    team_of_three, start_conversation, logged_in
):
    people = team_of_three
    first = start_conversation(team=people.team, body="One")
    second = start_conversation(team=people.team, body="Two")
    start_conversation(team=people.team, body="Three")
    note(first, people.ayse, "@bob see this")
    note(second, people.bob, "@ayse and this")
    note(second, people.ayse, "@bob twice")
    note(second, people.ayse, "@bob three times: still one row in the list")
    client = logged_in(people.bob)
    answer = client.get("/api/v1/conversations", {"mentioned": "me", "ordering": "id"})
    assert answer.status_code == 200, answer.content
    assert [item["id"] for item in answer.json()["results"]] == [first.pk, second.pk]
    assert answer.json()["count"] == 2
    mine = logged_in(people.ayse).get("/api/v1/conversations", {"mentioned": " ME "})
    assert [item["id"] for item in mine.json()["results"]] == [second.pk]


def test_the_participating_filter_takes_only_me(logged_in, team_of_three):
    answer = logged_in(team_of_three.bob).get("/api/v1/conversations", {"mentioned": "7"})
    assert answer.status_code == 400
    assert answer.json()["error"]["fields"]["mentioned"]


def test_the_agents_list_for_a_conversation_is_who_may_be_mentioned(
    conversation, team_of_three, logged_in
):
    people = team_of_three
    client = logged_in(people.ayse)
    answer = client.get("/api/v1/agents", {"conversation": conversation.pk})
    assert answer.status_code == 200, answer.content
    assert {item["email"] for item in answer.json()["results"]} == {
        "ayse@example.com",
        "bob@example.com",
    }
    assert len(client.get("/api/v1/agents").json()["results"]) == 3  # without it: everyone
    assert client.get("/api/v1/agents", {"conversation": "x"}).status_code == 400
    # A conversation Sam may not read is not there for him.
    refused = logged_in(people.sam).get("/api/v1/agents", {"conversation": conversation.pk})
    assert refused.status_code == 404


# --- The email to an agent who is offline ---------------------------------------------------


def test_the_mention_email_names_the_author_quotes_the_note_and_links_the_workspace(
    conversation, team_of_three, settings
):
    settings.HELPDESK_PUBLIC_URL = "https://help.example.com"
    people = team_of_three
    message = note(conversation, people.ayse, "@bob <b>refund</b> please\nthanks")
    mention = Mention.objects.get(message=message)
    assert send_mention_email(mention.pk) is True
    assert send_mention_email(mention.pk) is False  # once only
    (email,) = mail.outbox
    assert email.to == ["bob@example.com"]
    assert email.subject == f"Ayşe Demir mentioned you in conversation #{conversation.pk}"
    link = f"https://help.example.com/agent/#conversation-{conversation.pk}"
    assert link in email.body
    assert "<b>refund</b> please\nthanks" in email.body
    html = email.alternatives[0][0]
    assert "&lt;b&gt;refund&lt;/b&gt; please<br>thanks" in html and "<b>refund" not in html
    assert link in html
    mention.refresh_from_db()
    assert mention.emailed_at is not None


def test_the_mention_email_speaks_the_sites_language(conversation, team_of_three, settings):
    settings.LANGUAGE_CODE = "tr"
    message = note(conversation, team_of_three.ayse, "@bob bakar mısın?")
    send_mention_email(Mention.objects.get(message=message).pk)
    (email,) = mail.outbox
    assert email.subject == f"Ayşe Demir sizi #{conversation.pk} numaralı görüşmede andı"
    assert "Görüşmeyi çalışma alanında açın:" in email.body


@pytest.mark.django_db(transaction=True)
def test_an_offline_agent_gets_the_mention_by_email_through_a_real_worker(
    team_of_three, start_conversation
):
    people = team_of_three
    conversation = start_conversation(team=people.team, body="Where is my parcel?")
    cache.clear()
    assert not app.conf.task_always_eager
    app.control.purge()
    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        note(conversation, people.ayse, "@bob the parcel is lost, can you call them?")
        deadline = time.monotonic() + 30
        while not mail.outbox and time.monotonic() < deadline:
            time.sleep(0.1)
    assert [email.to for email in mail.outbox] == [["bob@example.com"]]
    assert "the parcel is lost" in mail.outbox[0].body
