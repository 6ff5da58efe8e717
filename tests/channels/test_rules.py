"""Platform rules: WhatsApp's 24-hour window, text limits, private notes, statuses only
forward, and the platform's message id as the key against duplicates."""

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from conversations.models import Conversation, Delivery, Message
from inboxes import services
from inboxes.registry import Inbound, StatusUpdate
from tests.channels.conftest import hub_signature, raw
from tests.channels.platform import fixture

pytestmark = pytest.mark.django_db

WHATSAPP = {
    "phone_number_id": "106540352242922",
    "access_token": "EAAG-token",
    "app_secret": "wa-app-secret",
    "verify_token": "wa-verify",
}


@pytest.fixture
def whatsapp(make_inbox, platform):
    """A WhatsApp conversation whose customer wrote just now (the delivery task is not run:
    no worker here, and the broker is purged)."""
    created = make_inbox("whatsapp", **WHATSAPP, api_base_url=platform.url)
    inbox = services.Inbox.objects.get(pk=created["id"])
    services.receive_message(inbox=inbox, inbound=Inbound("905551112233", "Ece", "Hi", "wamid.1"))
    return Conversation.objects.get(inbox=inbox)


def agent_reply(client, conversation, body: str, **fields):
    return client.post(
        f"/api/v1/conversations/{conversation.pk}/messages",
        {"body": body, "client_id": f"c-{len(body)}-{body[:10]}", **fields},
        format="json",
    )


@pytest.mark.parametrize(
    ("current", "new", "moves"),
    [
        ("", "pending", True),
        ("pending", "sent", True),
        ("sent", "delivered", True),
        ("delivered", "read", True),
        ("pending", "read", True),  # statuses may skip steps
        ("read", "delivered", False),  # a late one never goes back
        ("read", "sent", False),
        ("delivered", "sent", False),
        ("sent", "sent", False),
        ("pending", "failed", True),
        ("sent", "failed", True),
        ("delivered", "failed", False),  # it arrived
        ("failed", "sent", False),
        ("failed", "delivered", True),  # it arrived after all
        ("failed", "pending", True),  # an agent's retry
        ("sent", "pending", False),
    ],
)
def test_delivery_only_moves_forward(current, new, moves):
    assert Delivery.advances(current, new) is moves


def test_whatsapp_refuses_a_reply_outside_the_24_hour_window(whatsapp, alice_client):
    inside = agent_reply(alice_client, whatsapp, "Within the window")
    whatsapp.messages.update(created_at=timezone.now() - timedelta(hours=24, minutes=1))

    outside = agent_reply(alice_client, whatsapp, "Too late")

    assert inside.status_code == 201 and inside.json()["delivery"] == "pending"
    assert outside.status_code == 409
    assert outside.json()["error"]["code"] == "window_closed"
    assert "24 hours" in outside.json()["error"]["message"]
    assert not whatsapp.messages.filter(body="Too late").exists()


def test_a_private_note_never_leaves(whatsapp, alice_client):
    whatsapp.messages.update(created_at=timezone.now() - timedelta(days=3))  # window closed too

    note = agent_reply(alice_client, whatsapp, "Customer is a VIP", private=True)

    assert note.status_code == 201
    assert note.json()["delivery"] is None
    assert Message.objects.get(pk=note.json()["id"]).delivery == ""


@pytest.mark.parametrize(
    ("channel", "fields", "limit"),
    [
        ("telegram", {"bot_token": "1:A", "secret_token": "s"}, 4096),
        (
            "messenger",
            {"page_id": "1", "access_token": "t", "app_secret": "a", "verify_token": "v"},
            2000,
        ),
        (
            "instagram",
            {"page_id": "1", "access_token": "t", "app_secret": "a", "verify_token": "v"},
            1000,
        ),
    ],
)
def test_replies_longer_than_the_platform_takes_are_refused(
    make_inbox, alice_client, channel, fields, limit
):
    inbox = services.Inbox.objects.get(pk=make_inbox(channel, **fields)["id"])
    services.receive_message(inbox=inbox, inbound=Inbound("42", "Ece", "Hi", "m-1"))
    conversation = Conversation.objects.get(inbox=inbox)

    fits = agent_reply(alice_client, conversation, "x" * limit)
    too_long = agent_reply(alice_client, conversation, "y" * (limit + 1))

    assert fits.status_code == 201
    assert too_long.status_code == 400
    assert too_long.json()["error"]["code"] == "too_long"
    assert str(limit) in too_long.json()["error"]["fields"]["body"][0]


def test_a_webhook_delivered_twice_stores_one_message_and_statuses_of_unknown_messages_are_dropped(
    make_inbox, client
):
    created = make_inbox("whatsapp", **WHATSAPP)
    body = raw(fixture("whatsapp_text"))
    headers = {"HTTP_X_HUB_SIGNATURE_256": hub_signature("wa-app-secret", body)}
    url = f"/api/v1/channels/{created['id']}/webhook"

    answers = [
        client.post(url, body, content_type="application/json", **headers).json() for _ in range(3)
    ]
    status = raw(fixture("whatsapp_status"))
    statuses = client.post(
        url,
        status,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=hub_signature("wa-app-secret", status),
    )

    assert answers == [
        {"created": 1, "duplicate": 0, "statuses": 0, "ignored": 0},
        {"created": 0, "duplicate": 1, "statuses": 0, "ignored": 0},
        {"created": 0, "duplicate": 1, "statuses": 0, "ignored": 0},
    ]
    assert Message.objects.filter(conversation__inbox_id=created["id"]).count() == 1
    assert statuses.json()["statuses"] == 0


def test_a_webhook_for_another_number_of_the_account_is_not_ours(make_inbox, client):
    created = make_inbox("whatsapp", **{**WHATSAPP, "phone_number_id": "999"})
    body = raw(fixture("whatsapp_text"))

    answer = client.post(
        f"/api/v1/channels/{created['id']}/webhook",
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=hub_signature("wa-app-secret", body),
    )

    assert answer.json()["created"] == 0
    assert not Message.objects.exists()


def test_a_signed_body_that_is_not_json_is_a_400(make_inbox, client):
    created = make_inbox("whatsapp", **WHATSAPP)
    body = b"not json at all"

    answer = client.post(
        f"/api/v1/channels/{created['id']}/webhook",
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=hub_signature("wa-app-secret", body),
    )

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid"


def test_the_customer_writing_again_continues_the_conversation_and_reopens_it(whatsapp, alice):
    from conversations.services import conversation_resolve

    conversation_resolve(conversation=whatsapp, by=alice)
    inbox = whatsapp.inbox

    services.receive_message(
        inbox=inbox, inbound=Inbound("905551112233", "Ece", "Back again", "wamid.2")
    )

    whatsapp.refresh_from_db()
    assert Conversation.objects.filter(inbox=inbox).count() == 1
    assert (whatsapp.status, whatsapp.cycle) == ("open", 2)


def test_a_status_for_a_reply_moves_it_and_tells_the_agents(whatsapp, alice):
    from conversations.services import Author, message_post

    reply, _created = message_post(
        conversation=whatsapp, author=Author.of_agent(alice), body="On its way", client_id="r-1"
    )
    services.message_set_delivery(message=reply, delivery="sent", external_id="wamid.out")

    moved = services.apply_status(
        inbox=whatsapp.inbox, update=StatusUpdate("delivered", external_id="wamid.out")
    )
    late = services.apply_status(
        inbox=whatsapp.inbox, update=StatusUpdate("sent", external_id="wamid.out")
    )

    reply.refresh_from_db()
    assert (moved, late, reply.delivery) == (1, 0, "delivered")
    updates = whatsapp.events.filter(type="message.updated").order_by("id")
    assert [event.change["delivery"] for event in updates] == [
        ["pending", "sent"],
        ["sent", "delivered"],
    ]
    assert not any(event.public for event in updates)  # agents only


def test_a_status_that_comes_before_the_send_is_noted_is_applied_once_it_is(
    whatsapp, alice, platform
):
    from conversations.services import Author, message_post
    from inboxes.models import EarlyStatus

    reply, _created = message_post(
        conversation=whatsapp, author=Author.of_agent(alice), body="On its way", client_id="r-9"
    )
    platform.answer = (200, {"messaging_product": "whatsapp", "messages": [{"id": "wamid.early"}]})
    read_first = services.apply_status(
        inbox=whatsapp.inbox, update=StatusUpdate("read", external_id="wamid.early")
    )

    assert read_first == 0 and EarlyStatus.objects.count() == 1
    assert services.deliver(message_id=reply.pk, attempt=1) is True
    reply.refresh_from_db()
    assert (reply.external_id, reply.delivery) == ("wamid.early", "read")
    assert not EarlyStatus.objects.exists()


def test_early_statuses_of_messages_never_sent_here_are_forgotten_after_a_day(whatsapp):
    from inboxes.models import EarlyStatus

    services.apply_status(
        inbox=whatsapp.inbox, update=StatusUpdate("sent", external_id="wamid.app")
    )
    EarlyStatus.objects.update(at=timezone.now() - timedelta(days=1, minutes=1))
    services.apply_status(
        inbox=whatsapp.inbox, update=StatusUpdate("sent", external_id="wamid.new")
    )

    assert services.forget_old_early_statuses() == 1
    assert list(EarlyStatus.objects.values_list("external_id", flat=True)) == ["wamid.new"]


def test_a_reply_whose_task_was_lost_is_found_by_the_sweep(whatsapp, alice):
    from conversations.services import Author, message_post
    from inboxes.models import DeliveryAttempt

    lost, _ = message_post(
        conversation=whatsapp, author=Author.of_agent(alice), body="Lost", client_id="r-lost"
    )
    tried, _ = message_post(
        conversation=whatsapp, author=Author.of_agent(alice), body="Tried", client_id="r-tried"
    )
    fresh, _ = message_post(
        conversation=whatsapp, author=Author.of_agent(alice), body="Fresh", client_id="r-fresh"
    )
    old = timezone.now() - timedelta(minutes=3)
    Message.objects.filter(pk__in=[lost.pk, tried.pk]).update(created_at=old)
    DeliveryAttempt.objects.create(message=tried, number=1, ok=False, status_code=500)

    assert services.stranded_replies() == [lost.pk]


def test_webhooks_are_rate_limited_per_inbox(make_inbox, client, settings, fresh_rate_limits):
    from tests.helpers import limit

    limit(settings, channel_webhook="2/min")
    created = make_inbox("whatsapp", **WHATSAPP)
    other = make_inbox("whatsapp", **{**WHATSAPP, "phone_number_id": "2"})

    answers = [
        client.post(
            f"/api/v1/channels/{created['id']}/webhook", b"{}", content_type="application/json"
        )
        for _ in range(3)
    ]
    elsewhere = client.post(
        f"/api/v1/channels/{other['id']}/webhook", b"{}", content_type="application/json"
    )

    assert [answer.status_code for answer in answers] == [401, 401, 429]
    assert answers[2].json()["error"]["code"] == "rate_limited"
    assert elsewhere.status_code == 401  # another inbox counts on its own


def test_run_in_the_request_as_in_the_embedded_mode_a_reply_is_tried_once(
    whatsapp, alice, platform
):
    from conversations.services import Author, message_post
    from inboxes.models import DeliveryAttempt
    from inboxes.tasks import deliver_message

    reply, _ = message_post(
        conversation=whatsapp, author=Author.of_agent(alice), body="Hello", client_id="r-eager"
    )
    platform.answer = (500, {"error": {"message": "down"}})

    deliver_message.apply(args=[reply.pk])  # eagerly, as CELERY_TASK_ALWAYS_EAGER runs it

    reply.refresh_from_db()
    assert reply.delivery == "failed"
    assert DeliveryAttempt.objects.filter(message=reply).count() == len(platform.requests) == 1


def test_a_platform_out_of_reach_is_logged_without_the_bot_token(make_inbox, alice, platform):
    from conversations.services import Author, message_post
    from inboxes.models import DeliveryAttempt

    closed = platform.url  # nothing listens there once the fake platform stops
    platform.stop()
    created = make_inbox(
        "telegram", bot_token="777:TOKEN-never-logged", secret_token="s", api_base_url=closed
    )
    inbox = services.Inbox.objects.get(pk=created["id"])
    services.receive_message(inbox=inbox, inbound=Inbound("42", "Ece", "Hi", "42:1"))
    reply, _ = message_post(
        conversation=Conversation.objects.get(inbox=inbox),
        author=Author.of_agent(alice),
        body="Hello",
        client_id="r-unreachable",
    )

    assert services.deliver(message_id=reply.pk, attempt=1) is False  # retried later
    (attempt,) = DeliveryAttempt.objects.filter(message=reply)
    assert not attempt.ok and attempt.error == "ConnectionError"
    assert "TOKEN-never-logged" not in attempt.error


def test_a_message_of_white_space_alone_is_acknowledged_and_not_stored(make_inbox, client):
    created = make_inbox("whatsapp", **WHATSAPP)
    payload = fixture("whatsapp_text")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = "   "
    body = raw(payload)

    answer = client.post(
        f"/api/v1/channels/{created['id']}/webhook",
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=hub_signature("wa-app-secret", body),
    )

    assert answer.status_code == 200  # a 4xx would only make the platform send it again
    assert answer.json()["ignored"] == 1
    assert not Message.objects.exists()


def test_a_target_that_redirects_is_not_followed(make_inbox, alice, platform):
    """A redirect could lead past the private-address check to an address the helpdesk must
    not call: it is a failed attempt (retried, like any answer but a 2xx), never followed."""
    from conversations.services import Author, message_post
    from inboxes.models import DeliveryAttempt

    class Redirector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(307)  # 307 keeps the POST: followed, it would reach `platform`
            self.send_header("Location", f"{platform.url}/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    redirector = ThreadingHTTPServer(("127.0.0.1", 0), Redirector)
    threading.Thread(target=redirector.serve_forever, daemon=True).start()
    try:
        port = redirector.server_address[1]
        created = make_inbox("api", webhook_url=f"http://127.0.0.1:{port}/hook")
        inbox = services.Inbox.objects.get(pk=created["id"])
        services.receive_message(inbox=inbox, inbound=Inbound("u-1", "Ece", "Hi", "m-1"))
        reply, _ = message_post(
            conversation=Conversation.objects.get(inbox=inbox),
            author=Author.of_agent(alice),
            body="Hello",
            client_id="r-redirected",
        )

        assert services.deliver(message_id=reply.pk, attempt=1) is False  # tried again later
    finally:
        redirector.shutdown()
        redirector.server_close()

    assert platform.requests == []
    (attempt,) = DeliveryAttempt.objects.filter(message=reply)
    assert not attempt.ok and attempt.status_code == 307
    reply.refresh_from_db()
    assert reply.delivery == "pending"


def test_a_platform_file_behind_redirects_is_fetched_with_each_hop_checked(platform, settings):
    """A platform's file may sit behind a redirect to its CDN: followed (a few hops), each
    target checked; a redirect to a private address is refused once private targets are."""
    from conversations.errors import InvalidInput
    from inboxes.registry import plugin_for

    platform.files["/cdn/photo.jpg"] = b"\xff\xd8\xff photo bytes"

    class Redirector(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(302)
            self.send_header("Location", f"{platform.url}/cdn/photo.jpg")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    redirector = ThreadingHTTPServer(("127.0.0.1", 0), Redirector)
    threading.Thread(target=redirector.serve_forever, daemon=True).start()
    telegram = plugin_for("telegram")
    start = f"http://127.0.0.1:{redirector.server_address[1]}/file/1"
    try:
        fetched = telegram.download(start, "photo.jpg")
        assert fetched.read() == b"\xff\xd8\xff photo bytes"

        settings.HELPDESK_WEBHOOK_ALLOW_PRIVATE = False
        with pytest.raises(InvalidInput):
            telegram.download(start, "photo.jpg")
    finally:
        redirector.shutdown()
        redirector.server_close()
