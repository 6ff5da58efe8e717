"""Channels end to end over real HTTP: signed webhooks posted to a served build (uvicorn), the
agent's live socket, a real Celery worker delivering replies to a fake platform server that
answers with the documented shapes (fixtures/), retries after a 500, refusals of bad
signatures, and nothing stored twice."""

import json
from contextlib import contextmanager

import pytest
import requests
from celery.contrib.testing.worker import start_worker
from rest_framework.authtoken.models import Token

from conversations.models import Conversation, Message
from helpdesk.celery import app
from inboxes.models import DeliveryAttempt
from tests.channels.conftest import hub_signature, post_hub_signed, raw
from tests.channels.platform import fixture
from tests.conversations.socket_fixtures import agent_path, fresh_channel_layer  # noqa: F401
from tests.conversations.test_live_server import open_socket
from tests.helpers import eventually

pytestmark = pytest.mark.usefixtures("fresh_channel_layer")


@contextmanager
def celery_worker():
    assert not app.conf.task_always_eager
    app.control.purge()
    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        yield


def next_event(socket, type_: str) -> dict:
    """The next event of this type (others, such as conversation.created, are passed)."""
    while (event := socket.receive(timeout=10))["type"] != type_:
        pass
    return event


def reply(live_server_url: str, agent, conversation_id: int, body: str) -> requests.Response:
    key = Token.objects.get_or_create(user=agent)[0].key
    return requests.post(
        f"{live_server_url}/api/v1/conversations/{conversation_id}/messages",
        json={"body": body, "client_id": f"reply-{body[:20]}"},
        headers={"Authorization": f"Token {key}"},
        timeout=10,
    )


def delivery_of(message_id: int) -> str:
    return Message.objects.get(pk=message_id).delivery


# --- The api channel -----------------------------------------------------------------------------


def test_api_channel_posts_in_and_delivers_signed_replies_after_a_500(
    live_server_url, make_inbox, platform, make_agent, support
):
    inbox = make_inbox("api", webhook_url=f"{platform.url}/crm/hook")
    agent = make_agent(teams=[support], capacity=0)
    url = f"{live_server_url}/api/v1/channels/{inbox['id']}/messages"
    message = {
        "customer": {"external_id": "u-42", "name": "Deniz Kaya", "email": "deniz@example.com"},
        "body": "Where is order 1042?",
        "external_id": "crm-1",
    }
    secret = {"Authorization": f"Bearer {inbox['secret']}"}
    platform.script = [(500, {"error": "busy"})]
    platform.answer = (200, {"received": True})

    with celery_worker(), open_socket(live_server_url, agent_path(agent)) as ws:
        ws.resume(None)
        wrong = requests.post(
            url, json=message, headers={"Authorization": "Bearer nope"}, timeout=10
        )
        first = requests.post(url, json=message, headers=secret, timeout=10)
        again = requests.post(url, json=message, headers=secret, timeout=10)
        pushed = next_event(ws, "message.created")

        assert wrong.status_code == 401 and wrong.json()["error"]["code"]
        assert first.status_code == 201, first.content
        assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
        assert pushed["data"]["body"] == "Where is order 1042?"
        conversation = Conversation.objects.get(pk=first.json()["conversation"])
        assert (conversation.channel, conversation.inbox_id) == ("api", inbox["id"])
        assert conversation.customer.email == "deniz@example.com"
        assert Message.objects.filter(conversation=conversation).count() == 1

        answered = reply(live_server_url, agent, conversation.pk, "It ships today.")
        assert answered.status_code == 201 and answered.json()["delivery"] == "pending"
        failed, delivered = platform.wait_for(2)
        sent = next_event(ws, "message.updated")

    assert failed.path == delivered.path == "/crm/hook"
    assert failed.body == delivered.body  # the same delivery, again
    expected = hub_signature(inbox["secret"], delivered.body)
    assert delivered.headers["X-Helpdesk-Signature"] == expected
    event = delivered.json()
    assert event["event"] == "message.created"
    assert event["message"]["body"] == "It ships today."
    assert event["conversation"]["id"] == conversation.pk
    assert "labels" in event["conversation"] and "callback" not in event["conversation"]
    assert sent["data"]["delivery"] == "sent" and sent["data"]["id"] == answered.json()["id"]
    attempts = DeliveryAttempt.objects.filter(message_id=answered.json()["id"])
    assert [(a.number, a.ok, a.status_code) for a in attempts] == [(1, False, 500), (2, True, None)]


def test_a_reply_that_never_gets_through_fails_and_an_agent_retries_it(
    live_server_url, make_inbox, platform, make_agent, support, settings
):
    settings.HELPDESK_CHANNEL_MAX_RETRIES = 2
    inbox = make_inbox("api", webhook_url=f"{platform.url}/hook")
    agent = make_agent(teams=[support], capacity=0)
    platform.answer = (503, {"error": "down"})
    posted = requests.post(
        f"{live_server_url}/api/v1/channels/{inbox['id']}/messages",
        json={"customer": {"external_id": "u-7"}, "body": "Hello?"},
        headers={"Authorization": f"Bearer {inbox['secret']}"},
        timeout=10,
    ).json()

    with celery_worker(), open_socket(live_server_url, agent_path(agent)) as ws:
        ws.resume(None)
        message_id = reply(live_server_url, agent, posted["conversation"], "Hi!").json()["id"]
        assert eventually(lambda: delivery_of(message_id) == "failed", timeout=20)
        assert len(platform.requests) == 3  # the first attempt and two retries
        failed = [event for event in [next_event(ws, "message.updated")]]
        while failed[-1]["data"]["delivery"] != "failed":
            failed.append(next_event(ws, "message.updated"))

        platform.answer = (200, {})
        key = Token.objects.get(user=agent).key
        retried = requests.post(
            f"{live_server_url}/api/v1/conversations/{posted['conversation']}/messages/"
            f"{message_id}/retry",
            headers={"Authorization": f"Token {key}"},
            timeout=10,
        )
        assert retried.status_code == 200 and retried.json()["delivery"] == "pending"
        assert eventually(lambda: delivery_of(message_id) == "sent", timeout=20)

    assert len(platform.requests) == 4
    attempts = DeliveryAttempt.objects.filter(message_id=message_id)
    assert [(a.number, a.ok) for a in attempts] == [(1, False), (2, False), (3, False), (1, True)]


# --- Telegram ----------------------------------------------------------------------------------


def test_telegram_updates_become_a_conversation_and_replies_go_to_send_message(
    live_server_url, make_inbox, platform, make_agent, support
):
    inbox = make_inbox(
        "telegram", bot_token="123456:ABC-DEF", secret_token="tg-secret", api_base_url=platform.url
    )
    agent = make_agent(teams=[support], capacity=0)
    url = f"{live_server_url}/api/v1/channels/{inbox['id']}/webhook"
    signed = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret", "Content-Type": "application/json"}
    platform.answer = (200, fixture("telegram_send_answer"))

    with celery_worker(), open_socket(live_server_url, agent_path(agent)) as ws:
        ws.resume(None)
        unsigned = requests.post(url, data=raw(fixture("telegram_text")), timeout=10)
        forged = requests.post(
            url,
            data=raw(fixture("telegram_text")),
            headers={**signed, "X-Telegram-Bot-Api-Secret-Token": "guess"},
            timeout=10,
        )
        answers = [
            requests.post(url, data=raw(fixture(name)), headers=signed, timeout=10).json()
            for name in ("telegram_text", "telegram_text")
        ]
        pushed = next_event(ws, "message.created")

        assert unsigned.status_code == forged.status_code == 401
        assert forged.json()["error"]["code"] == "bad_signature"
        assert [a["created"] for a in answers] == [1, 0]
        assert answers[1]["duplicate"] == 1
        assert pushed["data"]["body"] == "/start"
        conversation = Conversation.objects.get(inbox_id=inbox["id"])
        assert conversation.channel == "telegram"
        assert conversation.customer.name == "Test Lastname"
        assert list(conversation.messages.values_list("body", flat=True)) == ["/start"]

        answered = reply(live_server_url, agent, conversation.pk, "Hello from the helpdesk")
        (sent,) = platform.wait_for(1)
        assert next_event(ws, "message.updated")["data"]["delivery"] == "sent"

    assert sent.path == "/bot123456:ABC-DEF/sendMessage"
    assert sent.json() == {"chat_id": 1111111, "text": "Hello from the helpdesk"}
    message = Message.objects.get(pk=answered.json()["id"])
    assert (message.delivery, message.external_id) == ("sent", "1111111:1368")


# --- WhatsApp ------------------------------------------------------------------------------------

WHATSAPP = {
    "phone_number_id": "106540352242922",
    "access_token": "EAAG-token",
    "app_secret": "wa-app-secret",
    "verify_token": "wa-verify",
}


def test_whatsapp_handshake_signed_messages_retried_reply_and_out_of_order_statuses(
    live_server_url, make_inbox, platform, make_agent, support
):
    inbox = make_inbox("whatsapp", **WHATSAPP, api_base_url=f"{platform.url}/v21.0")
    agent = make_agent(teams=[support], capacity=0)
    url = f"{live_server_url}/api/v1/channels/{inbox['id']}/webhook"
    platform.script = [(500, {"error": {"message": "temporarily unavailable"}})]
    platform.answer = (200, fixture("whatsapp_send_answer"))

    def post(payload: dict, secret: str = "wa-app-secret") -> requests.Response:
        return post_hub_signed(url, payload, secret)

    handshake = {
        "hub.mode": "subscribe",
        "hub.challenge": "1158201444",
        "hub.verify_token": "wa-verify",
    }
    verified = requests.get(url, params=handshake, timeout=10)
    refused = requests.get(url, params={**handshake, "hub.verify_token": "nope"}, timeout=10)
    assert (verified.status_code, verified.text) == (200, "1158201444")
    assert refused.status_code == 403

    with celery_worker(), open_socket(live_server_url, agent_path(agent)) as ws:
        ws.resume(None)
        assert post(fixture("whatsapp_text"), secret="another-app").status_code == 401
        assert requests.post(url, data=raw(fixture("whatsapp_text")), timeout=10).status_code == 401
        counts = [post(fixture(name)).json()["created"] for name in
                  ("whatsapp_text", "whatsapp_text")]  # fmt: skip
        assert counts == [1, 0]
        assert next_event(ws, "message.created")["data"]["body"] == "Does it come in another color?"
        conversation = Conversation.objects.get(inbox_id=inbox["id"])
        assert (conversation.channel, conversation.customer.name) == ("whatsapp", "Sheena Nelson")
        assert list(conversation.messages.values_list("body", flat=True)) == [
            "Does it come in another color?"
        ]

        answered = reply(live_server_url, agent, conversation.pk, "Yes: blue and green.")
        failed, sent = platform.wait_for(2)
        message_id = answered.json()["id"]
        assert eventually(lambda: delivery_of(message_id) == "sent", timeout=20)

        # Statuses out of order: read, then a late delivered and sent change nothing.
        for status in ("read", "delivered", "sent"):
            update = fixture("whatsapp_status")
            update["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = status
            post(update)
        updates = [next_event(ws, "message.updated")["data"]["delivery"] for _ in range(2)]

    assert sent.path == failed.path == "/v21.0/106540352242922/messages"
    assert sent.headers["Authorization"] == "Bearer EAAG-token"
    assert sent.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "16505551234",
        "type": "text",
        "text": {"preview_url": False, "body": "Yes: blue and green."},
    }
    assert updates == ["sent", "read"]
    message = Message.objects.get(pk=message_id)
    assert message.delivery == "read"
    assert message.external_id == fixture("whatsapp_send_answer")["messages"][0]["id"]


# --- Messenger and Instagram ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "page", "inbound", "read", "sender"),
    [
        ("messenger", "1234567890", "messenger_text", "messenger_read", "6543210987654321"),
        ("instagram", "17841400000000000", "instagram_text", "instagram_read", "1300000000000000"),
    ],
)
def test_messenger_and_instagram_messages_replies_and_reads(
    live_server_url, make_inbox, platform, make_agent, support, channel, page, inbound, read, sender
):
    inbox = make_inbox(
        channel,
        page_id=page,
        access_token="page-token",
        app_secret="meta-secret",
        verify_token="meta-verify",
        api_base_url=f"{platform.url}/v21.0",
    )
    agent = make_agent(teams=[support], capacity=0)
    url = f"{live_server_url}/api/v1/channels/{inbox['id']}/webhook"
    answer = fixture("messenger_send_answer")
    if channel == "instagram":  # the read webhook names this mid
        answer = {**answer, "message_id": "aWdfZAG1faWQ6MTc4NDE0MDAwMDAwMDAwMDA6c2VudC0x"}
    platform.answer = (200, answer)

    def post(payload: dict) -> requests.Response:
        return post_hub_signed(url, payload, "meta-secret")

    with celery_worker():
        assert post(fixture(inbound)).json()["created"] == 1
        assert post(fixture(inbound)).json()["duplicate"] == 1
        conversation = Conversation.objects.get(inbox_id=inbox["id"])
        message_id = reply(live_server_url, agent, conversation.pk, "We have it in blue.").json()[
            "id"
        ]
        (sent,) = platform.wait_for(1)
        assert eventually(lambda: delivery_of(message_id) == "sent", timeout=20)
        reading = fixture(read)
        if channel == "messenger":  # a watermark after the reply
            reading["entry"][0]["messaging"][0]["read"]["watermark"] = 4102444800000
        assert post(reading).json()["statuses"] == 1

    assert conversation.channel == channel
    assert sent.path == f"/v21.0/{page}/messages"
    assert sent.headers["Authorization"] == "Bearer page-token"
    assert sent.json() == {
        "recipient": {"id": sender},
        "messaging_type": "RESPONSE",
        "message": {"text": "We have it in blue."},
    }
    assert delivery_of(message_id) == "read"
    assert json.loads(sent.body)["message"]["text"] == "We have it in blue."
