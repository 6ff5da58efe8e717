"""Messenger's and Instagram's files both ways, over real HTTP: a served build takes the
documented webhooks and downloads each image and file from its CDN URL (the fake platform
server), and an agent's files go out through the Send API: uploaded with the message on
Messenger (multipart `filedata`), as a signed link Meta fetches on Instagram. Their rules
are the other Meta platforms': replies within 24 hours of the customer's last message, and
files within the platform's size limit (and, on Instagram, of the types it takes)."""

import io
import json
from datetime import timedelta

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from conversations.models import Conversation, Inbox
from inboxes import services
from inboxes.registry import Inbound, plugin_for
from tests.channels.conftest import post_hub_signed
from tests.channels.platform import fixture
from tests.channels.test_channels_live import celery_worker, delivery_of, next_event
from tests.channels.test_channels_media import reply_with_file
from tests.conversations.socket_fixtures import agent_path, fresh_channel_layer  # noqa: F401
from tests.conversations.test_live_server import open_socket
from tests.helpers import eventually

PAGES = {"messenger": "1234567890", "instagram": "17841400000000000"}
SENDER = "6543210987654321"
IMAGE_PATH = "/v/t1.15752-9/label_n.png"
FILE_PATH = "/v/t59.2708-21/invoice-1042.pdf"
PDF = b"%PDF-1.4\n%invoice 1042\n"


def png_bytes(size: tuple[int, int] = (40, 30)) -> bytes:
    image = io.BytesIO()
    Image.new("RGB", size, "teal").save(image, "PNG")
    return image.getvalue()


def meta_inbox(make_inbox, platform, channel: str) -> dict:
    return make_inbox(
        channel,
        page_id=PAGES[channel],
        access_token="page-token",
        app_secret="meta-secret",
        verify_token="meta-verify",
        api_base_url=f"{platform.url}/v21.0",
    )


@pytest.fixture
def messenger(live_server_url, make_inbox, platform):
    """A Messenger inbox whose Graph API and CDN are the fake server; returns a function
    posting signed webhooks."""
    inbox = meta_inbox(make_inbox, platform, "messenger")
    url = f"{live_server_url}/api/v1/channels/{inbox['id']}/webhook"

    def post(payload: dict) -> requests.Response:
        return post_hub_signed(url, payload, "meta-secret")

    post.inbox_id = inbox["id"]
    return post


def files_on(platform) -> dict:
    """messenger_files.json with its CDN URLs on the fake server (the sticker's too)."""
    payload = fixture("messenger_files")
    for attachment in payload["entry"][0]["messaging"][0]["message"]["attachments"]:
        path = attachment["payload"]["url"].split(".com", 1)[1]
        attachment["payload"]["url"] = f"{platform.url}{path}"
    return payload


def test_messenger_images_and_files_are_kept_and_a_sticker_stays_text(
    messenger, platform, live_server_url, make_agent, support
):
    platform.files[IMAGE_PATH] = png_bytes()
    platform.files[FILE_PATH] = PDF
    agent = make_agent(teams=[support], capacity=0)

    with open_socket(live_server_url, agent_path(agent)) as ws:
        ws.resume(None)
        first = messenger(files_on(platform)).json()
        again = messenger(files_on(platform)).json()
        pushed = next_event(ws, "message.created")["data"]

    assert pushed["body"] == "The label and my invoice\n[Sticker]"
    assert [(a["name"], a["content_type"]) for a in pushed["attachments"]] == [
        ("label_n.png", "image/png"),
        ("invoice-1042.pdf", "application/pdf"),
    ]

    assert (first["created"], again["duplicate"]) == (1, 1)
    message = Conversation.objects.get(inbox_id=messenger.inbox_id).messages.get()
    assert message.body == "The label and my invoice\n[Sticker]"
    image, document = message.attachments.order_by("id")
    assert (image.name, image.content_type, image.file.read()) == (
        "label_n.png",
        "image/png",
        png_bytes(),
    )
    assert (document.name, document.content_type, document.file.read()) == (
        "invoice-1042.pdf",
        "application/pdf",
        PDF,
    )
    downloads = [(r.method, r.path.partition("?")[0]) for r in platform.requests]
    assert downloads == [("GET", IMAGE_PATH), ("GET", FILE_PATH)]  # once: not for the duplicate
    assert not any("Authorization" in r.headers for r in platform.requests)  # public CDN URLs


def test_a_messenger_file_that_cannot_be_kept_leaves_a_note_and_the_rest_is_kept(
    messenger, platform
):
    platform.files[IMAGE_PATH] = png_bytes()  # the PDF's URL answers 404

    assert messenger(files_on(platform)).json()["created"] == 1

    message = Conversation.objects.get(inbox_id=messenger.inbox_id).messages.get()
    assert [a.name for a in message.attachments.all()] == ["label_n.png"]
    assert message.body == (
        "The label and my invoice\n[Sticker]\n"
        "[The file “invoice-1042.pdf” was not kept: it could not be downloaded from the platform.]"
    )


def conversation_with_customer(make_inbox, platform, channel: str) -> Conversation:
    inbox = meta_inbox(make_inbox, platform, channel)
    services.receive_message(
        inbox=services.Inbox.objects.get(pk=inbox["id"]),
        inbound=Inbound(SENDER, "Deniz", "Can you show me?", "m_1"),
    )
    return Conversation.objects.get(inbox_id=inbox["id"])


def test_agents_files_go_out_through_the_send_api_uploaded_with_the_message(
    live_server_url, make_inbox, platform, make_agent, support
):
    channel = "messenger"
    agent = make_agent(teams=[support], capacity=0)
    conversation = conversation_with_customer(make_inbox, platform, channel)
    platform.answer = (200, fixture("messenger_send_answer"))

    photo, (text, image, document) = reply_with_a_photo_then_a_pdf(
        live_server_url, agent, conversation, platform
    )

    page_url = f"/v21.0/{PAGES[channel]}/messages"
    assert (text.path, text.json()) == (
        page_url,
        {
            "recipient": {"id": SENDER},
            "messaging_type": "RESPONSE",
            "message": {"text": "Like this?"},
        },
    )
    for upload, kind, name, data in ((image, "image", "a.png", png_bytes()), (document, "file", "label.pdf", PDF)):  # fmt: skip
        assert upload.path == page_url
        assert upload.headers["Authorization"] == "Bearer page-token"
        assert upload.headers["Content-Type"].startswith("multipart/form-data")
        fields = multipart_fields(upload)
        assert json.loads(fields["recipient"]) == {"id": SENDER}
        assert fields["messaging_type"] == "RESPONSE"
        assert json.loads(fields["message"]) == {
            "attachment": {"type": kind, "payload": {"is_reusable": False}}
        }
        assert f'name="filedata"; filename="{name}"'.encode() in upload.body
        assert data in upload.body
    assert delivery_of(photo["id"]) == "sent"
    assert (
        conversation.messages.get(pk=photo["id"]).external_id
        == (fixture("messenger_send_answer")["message_id"])
    )


def test_instagram_takes_an_agents_files_as_signed_links_meta_fetches(
    live_server_url, make_inbox, platform, make_agent, support, settings
):
    settings.HELPDESK_PUBLIC_URL = live_server_url
    agent = make_agent(teams=[support], capacity=0)
    conversation = conversation_with_customer(make_inbox, platform, "instagram")
    platform.answer = (200, fixture("messenger_send_answer"))

    photo, (text, image, document) = reply_with_a_photo_then_a_pdf(
        live_server_url, agent, conversation, platform
    )

    page_url = f"/v21.0/{PAGES['instagram']}/messages"
    assert (text.path, text.json()["message"]) == (page_url, {"text": "Like this?"})
    for sent, kind, data in ((image, "image", png_bytes()), (document, "file", PDF)):
        assert sent.path == page_url
        assert sent.headers["Authorization"] == "Bearer page-token"
        body = sent.json()
        assert (body["recipient"], body["messaging_type"]) == ({"id": SENDER}, "RESPONSE")
        attachment = body["message"]["attachment"]
        assert attachment["type"] == kind
        link = attachment["payload"]["url"]
        assert link.startswith(f"{live_server_url}/")
        fetched = requests.get(link, timeout=10)  # as Meta fetches it: no session, no token
        assert (fetched.status_code, fetched.content) == (200, data)
    assert delivery_of(photo["id"]) == "sent"


def reply_with_a_photo_then_a_pdf(live_server_url, agent, conversation, platform):
    """The agent's two replies, delivered by a real worker: "Like this?" with a PNG, then a PDF
    alone. Returns the first reply and the platform's three requests (text, image, PDF)."""
    with celery_worker():
        photo = reply_with_file(
            live_server_url, agent, conversation.pk, "Like this?", "a.png", png_bytes()
        )
        platform.wait_for(2)
        pdf = reply_with_file(live_server_url, agent, conversation.pk, "", "label.pdf", PDF)
        requests_made = platform.wait_for(3)
        assert eventually(lambda: delivery_of(pdf["id"]) == "sent", timeout=20)
    return photo, requests_made


def multipart_fields(recorded) -> dict[str, str]:
    """The text fields of a recorded multipart body."""
    fields = {}
    for part in recorded.body.split(b"\r\n--"):
        head, _, value = part.partition(b"\r\n\r\n")
        if b'name="' in head and b"filename=" not in head:
            name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
            fields[name] = value.rstrip(b"\r\n").decode()
    return fields


# --- Rules: the reply window and the platforms' file limits ------------------------------------


@pytest.fixture
def conversation_on(make_inbox, platform):
    """A conversation in a Messenger or Instagram inbox whose customer wrote just now."""

    def make(channel: str) -> Conversation:
        inbox = services.Inbox.objects.get(pk=meta_inbox(make_inbox, platform, channel)["id"])
        services.receive_message(inbox=inbox, inbound=Inbound(SENDER, "Deniz", "Hi", "m_1"))
        return Conversation.objects.get(inbox=inbox)

    return make


@pytest.mark.django_db
@pytest.mark.parametrize(("channel", "name"), [("messenger", "Messenger"), ("instagram", "Instagram")])  # fmt: skip
def test_a_reply_after_24_hours_is_refused_with_window_closed(
    channel, name, conversation_on, alice_client
):
    conversation = conversation_on(channel)
    inside = post_reply(alice_client, conversation, "Within the window")
    conversation.messages.update(created_at=timezone.now() - timedelta(hours=24, minutes=1))

    outside = post_reply(alice_client, conversation, "Too late")

    assert inside.status_code == 201 and inside.json()["delivery"] == "pending"
    assert outside.status_code == 409
    assert outside.json()["error"]["code"] == "window_closed"
    assert outside.json()["error"]["message"] == (
        f"The customer last wrote more than 24 hours ago: {name} takes a reply only after "
        "they write again."
    )
    assert not conversation.messages.filter(body="Too late").exists()


@pytest.mark.django_db
def test_an_image_over_instagrams_limit_is_refused_when_the_agent_sends_it(
    conversation_on, alice_client, settings
):
    settings.HELPDESK_ATTACHMENT_MAX_BYTES = 9 * 1024 * 1024  # ours takes it; Instagram's 8 MB not
    conversation = conversation_on("instagram")
    large = png_bytes() + b"\0" * (8 * 1024 * 1024)

    refused = post_reply(alice_client, conversation, "The photo", files=[("big.png", large)])
    taken = post_reply(alice_client, conversation, "A small one", files=[("a.png", png_bytes())])

    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "too_large"
    assert refused.json()["error"]["message"] == (
        "Instagram takes files of this type up to 8 MB: “big.png” is larger."
    )
    assert taken.status_code == 201
    assert not conversation.messages.filter(body="The photo").exists()


def post_reply(client: APIClient, conversation: Conversation, body: str, files=()):
    uploads = [SimpleUploadedFile(name, data) for name, data in files]
    data = {"body": body, "client_id": f"c-{body[:20]}"}
    if uploads:
        data["files"] = uploads
        return client.post(f"/api/v1/conversations/{conversation.pk}/messages", data)
    return client.post(f"/api/v1/conversations/{conversation.pk}/messages", data, format="json")


@pytest.mark.django_db
def test_a_file_type_instagram_does_not_take_is_refused_and_messenger_takes_it(
    conversation_on, alice_client
):
    notes = [("notes.txt", b"Order 1042: two labels\n")]

    refused = post_reply(alice_client, conversation_on("instagram"), "Notes", files=notes)
    taken = post_reply(alice_client, conversation_on("messenger"), "Notes", files=notes)

    assert refused.status_code == 415
    assert refused.json()["error"]["code"] == "unsupported_type"
    assert refused.json()["error"]["message"] == (
        "Instagram does not take files of this type: “notes.txt”."
    )
    assert taken.status_code == 201
    assert [a["content_type"] for a in taken.json()["attachments"]] == ["text/plain"]


def test_an_instagram_image_is_kept_and_a_shared_post_or_story_mention_stays_text_with_its_link(
    live_server_url, make_inbox, platform
):
    inbox = meta_inbox(make_inbox, platform, "instagram")
    payload = fixture("instagram_files")
    attachments = payload["entry"][0]["messaging"][0]["message"]["attachments"]
    attachments[0]["payload"]["url"] = f"{platform.url}/ig_messaging_cdn/label_n.png?asset_id=1"
    platform.files["/ig_messaging_cdn/label_n.png"] = png_bytes()
    url = f"{live_server_url}/api/v1/channels/{inbox['id']}/webhook"
    answer = post_hub_signed(url, payload, "meta-secret")

    assert answer.json()["created"] == 1
    message = Conversation.objects.get(inbox_id=inbox["id"]).messages.get()
    assert [(a.name, a.file.read()) for a in message.attachments.all()] == [
        ("label_n.png", png_bytes())
    ]
    post, story = attachments[1]["payload"], attachments[2]["payload"]
    assert message.body == (
        f"[Shared post] The blue one, new this week {post['url']}\n[Story mention] {story['url']}"
    )
    assert [r.path.partition("?")[0] for r in platform.requests] == [
        "/ig_messaging_cdn/label_n.png"
    ]


@pytest.mark.parametrize(
    "attachment",
    [
        {"type": "fallback", "payload": {"url": "https://shop.example/p/42", "title": "Blue mug"}},
        {
            "type": "fallback",
            "title": "Blue mug",
            "url": "https://shop.example/p/42",
            "payload": None,
        },
    ],
)
def test_a_link_shared_on_messenger_stays_text_with_its_title_and_address(attachment):
    plugin = plugin_for("messenger")
    event = {"sender": {"id": SENDER}, "message": {"mid": "m_2", "attachments": [attachment]}}
    payload = {"entry": [{"id": PAGES["messenger"], "messaging": [event]}]}

    (inbound,) = plugin.parse(Inbox(channel="messenger", settings={}), payload)

    assert (inbound.body, inbound.media) == ("[Link] Blue mug https://shop.example/p/42", ())
