"""Customers' files from platforms become attachments: a served build takes the documented
webhooks, fetches the files from a fake platform server (Telegram's getFile and file
download; WhatsApp's media URL and download) and keeps them with the attachments' rules.
A file it cannot keep leaves a note in the message, which is never lost."""

import io

import pytest
import requests
from django.core.files.base import ContentFile
from PIL import Image
from rest_framework.authtoken.models import Token

from conversations.models import Conversation
from conversations.services import Author, message_post
from inboxes.services import deliver
from tests.channels.conftest import post_hub_signed, raw
from tests.channels.platform import fixture
from tests.channels.test_channels_live import WHATSAPP, celery_worker, delivery_of
from tests.helpers import eventually

TOKEN = "123456:ABC-DEF"
TELEGRAM_SIGNED = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}


def png_bytes() -> bytes:
    image = io.BytesIO()
    Image.new("RGB", (40, 30), "orange").save(image, "PNG")
    return image.getvalue()


def getfile_answer(path: str) -> dict:
    answer = fixture("telegram_getfile_answer")
    answer["result"]["file_path"] = path
    return answer


@pytest.fixture
def telegram(live_server_url, make_inbox, platform):
    """A Telegram inbox whose Bot API is the fake server; returns a function posting updates."""
    inbox = make_inbox(
        "telegram", bot_token=TOKEN, secret_token="tg-secret", api_base_url=platform.url
    )
    url = f"{live_server_url}/api/v1/channels/{inbox['id']}/webhook"

    def post(update: dict) -> requests.Response:
        return requests.post(url, data=raw(update), headers=TELEGRAM_SIGNED, timeout=10)

    post.inbox_id = inbox["id"]
    return post


def test_telegram_photo_is_fetched_with_getfile_and_kept_as_the_messages_image(telegram, platform):
    platform.routes[f"/bot{TOKEN}/getFile"] = (200, getfile_answer("photos/file_7.png"))
    platform.files[f"/file/bot{TOKEN}/photos/file_7.png"] = png_bytes()

    first = telegram(fixture("telegram_photo")).json()
    again = telegram(fixture("telegram_photo")).json()

    assert (first["created"], again["duplicate"]) == (1, 1)
    message = Conversation.objects.get(inbox_id=telegram.inbox_id).messages.get()
    assert message.body == "The box arrived like this"
    (attachment,) = message.attachments.all()
    assert (attachment.name, attachment.content_type) == ("file_7.png", "image/png")
    assert attachment.file.read() == png_bytes()
    get_file, download = platform.requests  # the duplicate downloaded nothing
    assert get_file.json() == {"file_id": "AgACAgIAAxkBAAIBNmVYaW2"}  # the largest size
    assert (download.method, download.path) == ("GET", f"/file/bot{TOKEN}/photos/file_7.png")


def test_telegram_document_keeps_its_name_and_a_refused_one_leaves_a_note(telegram, platform):
    platform.routes[f"/bot{TOKEN}/getFile"] = (200, getfile_answer("documents/file_8.pdf"))
    platform.files[f"/file/bot{TOKEN}/documents/file_8.pdf"] = b"%PDF-1.4\n%fake invoice\n"
    kept = telegram(fixture("telegram_document")).json()
    platform.files[f"/file/bot{TOKEN}/documents/file_8.pdf"] = b"<html><script>x</script>"
    refused_update = fixture("telegram_document")
    refused_update["message"]["message_id"] = 1400
    refused = telegram(refused_update).json()

    assert kept["created"] == refused["created"] == 1
    first, second = Conversation.objects.get(inbox_id=telegram.inbox_id).messages.order_by("id")
    assert first.body == ""
    assert [(a.name, a.content_type) for a in first.attachments.all()] == [
        ("invoice-1042.pdf", "application/pdf")
    ]
    assert not second.attachments.exists()
    assert second.body == (
        "[The file “invoice-1042.pdf” was not kept: "
        "Files of this type cannot be sent: invoice-1042.pdf.]"
    )


def test_telegram_file_over_the_limit_or_not_downloadable_still_stores_the_message(
    telegram, platform, settings
):
    settings.HELPDESK_ATTACHMENT_MAX_BYTES = 1000
    platform.routes[f"/bot{TOKEN}/getFile"] = (200, getfile_answer("photos/big.png"))
    platform.files[f"/file/bot{TOKEN}/photos/big.png"] = png_bytes() + b"\0" * 5000
    large = telegram(fixture("telegram_photo")).json()
    platform.routes[f"/bot{TOKEN}/getFile"] = (400, {"ok": False, "description": "bad file_id"})
    gone = telegram(fixture("telegram_document")).json()

    assert large["created"] == gone["created"] == 1
    large_message, gone_message = Conversation.objects.get(
        inbox_id=telegram.inbox_id
    ).messages.order_by("id")
    assert large_message.body == (
        "The box arrived like this\n"
        "[The file “file” was not kept: Files are limited to 1000\xa0bytes each.]"
    )
    assert gone_message.body == (
        "[The file “invoice-1042.pdf” was not kept: it could not be downloaded from the platform.]"
    )
    assert not large_message.attachments.exists() and not gone_message.attachments.exists()
    # The download stopped one byte past the limit instead of reading the whole file.
    assert [r.path for r in platform.requests if r.method == "GET"] == [
        f"/file/bot{TOKEN}/photos/big.png"
    ]


# --- WhatsApp ------------------------------------------------------------------------------------

IMAGE_ID, DOCUMENT_ID = "1003383421387256", "1073638131525592"


@pytest.fixture
def whatsapp(live_server_url, make_inbox, platform):
    """A WhatsApp inbox whose Graph API is the fake server; returns a function posting signed
    webhooks."""
    inbox = make_inbox("whatsapp", **WHATSAPP, api_base_url=f"{platform.url}/v21.0")
    url = f"{live_server_url}/api/v1/channels/{inbox['id']}/webhook"

    def post(payload: dict) -> requests.Response:
        return post_hub_signed(url, payload, "wa-app-secret")

    post.inbox_id = inbox["id"]
    return post


def media_answer(platform, media_id: str) -> dict:
    """The documented answer of GET /{media-id}, its url on the fake server's file path."""
    answer = fixture("whatsapp_media_answer")
    answer.update(id=media_id, url=f"{platform.url}/whatsapp_business/attachments/{media_id}")
    return answer


def test_whatsapp_image_and_document_are_fetched_by_media_id_with_the_bearer_token(
    whatsapp, platform
):
    for media_id in (IMAGE_ID, DOCUMENT_ID):
        platform.routes[f"/v21.0/{media_id}"] = (200, media_answer(platform, media_id))
    platform.files[f"/whatsapp_business/attachments/{IMAGE_ID}"] = png_bytes()
    platform.files[f"/whatsapp_business/attachments/{DOCUMENT_ID}"] = b"%PDF-1.4\n%receipt\n"

    answers = [
        whatsapp(fixture(name)).json()
        for name in ("whatsapp_image", "whatsapp_document", "whatsapp_image")
    ]

    assert [a["created"] for a in answers] == [1, 1, 0]
    image, document = Conversation.objects.get(inbox_id=whatsapp.inbox_id).messages.order_by("id")
    assert image.body == "This is the broken part"
    assert [(a.name, a.content_type) for a in image.attachments.all()] == [("image", "image/png")]
    assert document.body == "My receipt"
    assert [(a.name, a.content_type) for a in document.attachments.all()] == [
        ("receipt-2026-05.pdf", "application/pdf")
    ]
    assert [(r.method, r.path) for r in platform.requests] == [
        ("GET", f"/v21.0/{IMAGE_ID}"),
        ("GET", f"/whatsapp_business/attachments/{IMAGE_ID}"),
        ("GET", f"/v21.0/{DOCUMENT_ID}"),
        ("GET", f"/whatsapp_business/attachments/{DOCUMENT_ID}"),
    ]  # the duplicate image fetched nothing
    assert {r.headers["Authorization"] for r in platform.requests} == {"Bearer EAAG-token"}


def test_whatsapp_media_the_platform_does_not_give_leaves_a_note(whatsapp, platform):
    platform.routes[f"/v21.0/{IMAGE_ID}"] = (404, {"error": {"message": "Unsupported get"}})

    answer = whatsapp(fixture("whatsapp_image")).json()

    assert answer["created"] == 1
    message = Conversation.objects.get(inbox_id=whatsapp.inbox_id).messages.get()
    assert message.body == (
        "This is the broken part\n"
        "[The file “file” was not kept: it could not be downloaded from the platform.]"
    )
    assert not message.attachments.exists()


# --- Agents' files out ---------------------------------------------------------------------------


def reply_with_file(live_server_url, agent, conversation_id, body, name, data) -> dict:
    """An agent's reply with a file, as the workspace posts it (multipart)."""
    key = Token.objects.get_or_create(user=agent)[0].key
    response = requests.post(
        f"{live_server_url}/api/v1/conversations/{conversation_id}/messages",
        data={"body": body, "client_id": f"reply-{name}"},
        files={"files": (name, data)},
        headers={"Authorization": f"Token {key}"},
        timeout=10,
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_telegram_agents_photo_goes_by_send_photo_and_a_pdf_by_send_document(
    telegram, platform, live_server_url, make_agent, support
):
    agent = make_agent(teams=[support], capacity=0)
    platform.answer = (200, fixture("telegram_send_answer"))
    telegram(fixture("telegram_text"))
    conversation = Conversation.objects.get(inbox_id=telegram.inbox_id)

    with celery_worker():
        photo = reply_with_file(
            live_server_url, agent, conversation.pk, "Like this?", "a.png", png_bytes()
        )
        text, uploaded = platform.wait_for(2)
        pdf = reply_with_file(
            live_server_url, agent, conversation.pk, "", "label.pdf", b"%PDF-1.4\n"
        )
        (document,) = platform.wait_for(3)[2:]
        assert eventually(lambda: delivery_of(pdf["id"]) == "sent", timeout=20)

    assert (text.path, text.json()) == (
        f"/bot{TOKEN}/sendMessage",
        {"chat_id": 1111111, "text": "Like this?"},
    )
    assert uploaded.path == f"/bot{TOKEN}/sendPhoto"
    assert uploaded.headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="chat_id"\r\n\r\n1111111' in uploaded.body
    assert b'name="photo"; filename="a.png"' in uploaded.body and png_bytes() in uploaded.body
    assert document.path == f"/bot{TOKEN}/sendDocument"
    assert b'name="document"; filename="label.pdf"' in document.body
    assert b"%PDF-1.4\n" in document.body
    assert delivery_of(photo["id"]) == "sent"


def test_whatsapp_agents_files_are_uploaded_then_sent_by_media_id(
    whatsapp, platform, live_server_url, make_agent, support
):
    agent = make_agent(teams=[support], capacity=0)
    number = WHATSAPP["phone_number_id"]
    upload_id = fixture("whatsapp_upload_answer")["id"]
    platform.routes[f"/v21.0/{number}/media"] = (200, fixture("whatsapp_upload_answer"))
    platform.answer = (200, fixture("whatsapp_send_answer"))
    whatsapp(fixture("whatsapp_text"))
    conversation = Conversation.objects.get(inbox_id=whatsapp.inbox_id)

    with celery_worker():
        photo = reply_with_file(
            live_server_url, agent, conversation.pk, "Like this?", "a.png", png_bytes()
        )
        text, upload, image = platform.wait_for(3)
        pdf = reply_with_file(live_server_url, agent, conversation.pk, "", "label.pdf", b"%PDF-1.4")
        upload_pdf, document = platform.wait_for(5)[3:]
        assert eventually(lambda: delivery_of(pdf["id"]) == "sent", timeout=20)

    recipient = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "16505551234",
    }
    assert text.json() == {
        **recipient,
        "type": "text",
        "text": {"preview_url": False, "body": "Like this?"},
    }
    assert upload.path == upload_pdf.path == f"/v21.0/{number}/media"
    assert upload.headers["Authorization"] == "Bearer EAAG-token"
    assert b'name="messaging_product"\r\n\r\nwhatsapp' in upload.body
    assert b'name="type"\r\n\r\nimage/png' in upload.body
    assert b'name="file"; filename="a.png"' in upload.body and png_bytes() in upload.body
    assert image.path == document.path == f"/v21.0/{number}/messages"
    assert image.json() == {**recipient, "type": "image", "image": {"id": upload_id}}
    assert document.json() == {
        **recipient,
        "type": "document",
        "document": {"id": upload_id, "filename": "label.pdf"},
    }
    assert delivery_of(photo["id"]) == "sent"


def test_the_note_of_a_file_not_kept_is_in_the_helpdesks_language(telegram, platform, settings):
    settings.LANGUAGE_CODE = "tr"
    platform.routes[f"/bot{TOKEN}/getFile"] = (400, {"ok": False, "description": "bad file_id"})

    assert telegram(fixture("telegram_document")).json()["created"] == 1

    message = Conversation.objects.get(inbox_id=telegram.inbox_id).messages.get()
    assert message.body == "[“invoice-1042.pdf” dosyası saklanmadı: platformdan indirilemedi.]"


# --- A photo over the platform's photo limit goes as a document ------------------------------------


def send_large_png(conversation: Conversation, agent, size: int) -> None:
    """An agent's PNG of `size` bytes, sent by the plug-in (one delivery attempt, as the
    delivery task makes it)."""
    data = png_bytes() + b"\0" * (size - len(png_bytes()))
    message, _ = message_post(
        conversation=conversation,
        author=Author.of_agent(agent),
        body="",
        client_id="large-png",
        files=[ContentFile(data, name="large.png")],
    )
    assert deliver(message_id=message.pk, attempt=1)
    assert delivery_of(message.pk) == "sent"


def test_a_photo_over_telegrams_photo_limit_goes_by_send_document(
    telegram, platform, make_agent, support, settings
):
    settings.HELPDESK_ATTACHMENT_MAX_BYTES = 11 * 1024 * 1024
    agent = make_agent(teams=[support], capacity=0)
    platform.answer = (200, fixture("telegram_send_answer"))
    telegram(fixture("telegram_text"))
    conversation = Conversation.objects.get(inbox_id=telegram.inbox_id)

    send_large_png(conversation, agent, 10 * 1024 * 1024 + 1)

    (upload,) = platform.requests
    assert upload.path == f"/bot{TOKEN}/sendDocument"
    assert b'name="document"; filename="large.png"' in upload.body


def test_an_image_over_whatsapps_image_limit_goes_as_a_document(
    whatsapp, platform, make_agent, support
):
    agent = make_agent(teams=[support], capacity=0)
    number = WHATSAPP["phone_number_id"]
    platform.routes[f"/v21.0/{number}/media"] = (200, fixture("whatsapp_upload_answer"))
    platform.answer = (200, fixture("whatsapp_send_answer"))
    whatsapp(fixture("whatsapp_text"))
    conversation = Conversation.objects.get(inbox_id=whatsapp.inbox_id)

    send_large_png(conversation, agent, 5 * 1024 * 1024 + 1)

    upload, sent = platform.requests
    assert upload.path == f"/v21.0/{number}/media"
    assert sent.json()["type"] == "document"
    assert sent.json()["document"]["filename"] == "large.png"
