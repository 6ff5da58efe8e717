"""Alerts (Issue 15, defect 1 and "Alerts"): each agent's alert settings through the API, and
mention emails for agents who are offline (agents/alerts.py)."""

import pytest
from django.core import mail

from agents.alerts import email_offline_mentioned
from agents.models import AgentConnection, AlertSettings
from conversations.models import Mention
from conversations.services import Author, message_post
from helpdesk.celery import app
from tests.conftest import unique

ALERTS = "/api/v1/agents/me/alerts"
DEFAULTS = {
    "sound": True,
    "desktop": False,
    "new_conversations": True,
    "replies": True,
    "mentions": True,
    "mention_emails": True,
}


def test_an_agent_starts_with_the_defaults_and_changes_only_what_they_send(alice_client, alice):
    answer = alice_client.get(ALERTS)
    assert answer.status_code == 200
    assert answer.json() == DEFAULTS
    assert not AlertSettings.objects.exists()  # reading writes nothing

    changed = alice_client.patch(ALERTS, {"sound": False, "replies": False}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json() == {**DEFAULTS, "sound": False, "replies": False}
    again = alice_client.patch(ALERTS, {"desktop": True}, format="json")
    assert again.json() == {**DEFAULTS, "sound": False, "replies": False, "desktop": True}
    assert alice_client.get(ALERTS).json() == again.json()


def test_each_agent_has_their_own_settings(alice_client, make_agent, logged_in):
    bob = make_agent("bob@example.com")
    alice_client.patch(ALERTS, {"mentions": False}, format="json")
    assert logged_in(bob).get(ALERTS).json() == DEFAULTS


@pytest.mark.parametrize(
    "body", [{"sound": "loud"}, {"desktop": None}, {"mentions": 0}, [], "sound", {"sound": [True]}]
)
def test_bad_alert_settings_get_the_error_shape(alice_client, body):
    answer = alice_client.patch(ALERTS, body, format="json")
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["code"]


def test_alert_settings_need_an_agent(client):
    assert client.get(ALERTS).status_code in (401, 403)


# --- Mention emails: only to agents offline who want them --------------------------------------


@pytest.fixture
def eager_tasks():
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def pair(make_agent, make_team, start_conversation):
    team = make_team("Billing")
    ayse = make_agent("ayse@example.com", teams=[team], first_name="Ayşe")
    bob = make_agent("bob@example.com", teams=[team], first_name="Bob")
    conversation = start_conversation(team=team, body="Hello")
    return ayse, bob, conversation


def mention_bob(pair):
    ayse, _bob, conversation = pair
    message, _ = message_post(
        conversation=conversation,
        author=Author.of_agent(ayse),
        body="@bob have a look",
        client_id=unique("note"),
        private=True,
    )
    return message


def test_an_offline_agent_is_emailed(pair, eager_tasks):
    message = mention_bob(pair)
    assert email_offline_mentioned(message.pk) == [Mention.objects.get(message=message).pk]
    assert [email.to for email in mail.outbox] == [["bob@example.com"]]


def test_an_agent_with_the_workspace_open_is_not_emailed(pair, eager_tasks):
    _ayse, bob, _conversation = pair
    AgentConnection.objects.create(agent_id=bob.pk, channel_name="specific.bob!1")
    message = mention_bob(pair)
    assert email_offline_mentioned(message.pk) == []
    assert mail.outbox == []


def test_an_agent_who_turned_mention_emails_off_is_not_emailed(pair, eager_tasks, logged_in):
    _ayse, bob, _conversation = pair
    logged_in(bob).patch(ALERTS, {"mention_emails": False}, format="json")
    message = mention_bob(pair)
    assert email_offline_mentioned(message.pk) == []
    assert mail.outbox == []
