"""Files and email continuity (docs/attachments.md "Email"): an email's attachments become
the message's, within the limits; an agent's files go out attached while they fit, the
others as signed links that work for the customer."""

import base64
import time
from email.message import EmailMessage

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.files.base import ContentFile
from rest_framework.test import APIClient

from conversations.mail.outbound import reply_address
from conversations.models import Attachment, Conversation
from conversations.services import Author, message_post
from helpdesk.celery import app

pytestmark = pytest.mark.django_db(transaction=True)

INBOUND = "/api/v1/inbound/email"
SECRET = "inbound-test-secret"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"


@pytest.fixture(autouse=True)
def email_settings(settings):
    settings.HELPDESK_INBOUND_SECRET = SECRET
    settings.HELPDESK_INBOUND_DOMAIN = "inbound.example.com"
    settings.HELPDESK_EMAIL_DELAY_SECONDS = 0
    settings.HELPDESK_PUBLIC_URL = "https://help.example.com"
    cache.clear()
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True  # the reply email is sent inline (the embedded mode)
    yield settings
    app.conf.task_always_eager = previous


@pytest.fixture
def thread(make_team, make_agent, make_customer, start_conversation):
    team = make_team("billing", is_default=True)
    agent = make_agent("deniz@example.com", teams=[team], first_name="Deniz", last_name="Kaya")
    customer = make_customer(name="Ayşe Yılmaz", email="ayse@example.com")
    return start_conversation(customer=customer, body="Where is my refund?", team=team), agent


def email_with_files(to: str, text: str, files: list[tuple[str, str, bytes]]) -> bytes:
    message = EmailMessage()
    message["From"] = "Ayşe Yılmaz <ayse@example.com>"
    message["To"] = to
    message["Subject"] = "Re: refund"
    message["Message-ID"] = f"<files-{time.monotonic_ns()}@mail.example.com>"
    message.set_content(text)
    for name, content_type, data in files:
        main, sub = content_type.split("/")
        message.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return message.as_bytes()


def post_email(raw: bytes):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {SECRET}")
    return client.post(INBOUND, raw, content_type="message/rfc822")


def test_an_emails_attachments_become_the_messages_within_the_limits(thread, settings):
    conversation, _agent = thread
    settings.HELPDESK_ATTACHMENT_MAX_BYTES = 10_000
    raw = email_with_files(
        reply_address(conversation.pk),
        "The receipt is attached.",
        [
            ("receipt.pdf", "application/pdf", PDF),
            ("huge.pdf", "application/pdf", PDF + b"0" * 20_000),  # over the limit: left out
            ("page.html", "text/html", b"<html><script>x</script></html>"),  # refused type
        ],
    )
    response = post_email(raw)
    assert response.status_code == 201, response.content
    message = conversation.messages.get(pk=response.json()["message"]["id"])
    assert message.body == "The receipt is attached."
    assert [(a.name, a.content_type) for a in message.attachments.all()] == [
        ("receipt.pdf", "application/pdf")
    ]
    assert message.attachments.get().file.read() == PDF


def test_an_email_with_only_a_file_is_a_message(thread):
    conversation, _agent = thread
    raw = email_with_files(
        reply_address(conversation.pk), "", [("scan.pdf", "application/pdf", PDF)]
    )
    response = post_email(raw)
    assert response.status_code == 201, response.content
    assert Attachment.objects.get().message.body == ""


def test_an_agents_files_go_out_attached_or_as_links_the_customer_can_open(thread, settings):
    conversation, agent = thread
    settings.HELPDESK_ATTACHMENT_EMAIL_MAX_BYTES = len(PDF) + 10
    message_post(
        conversation=conversation,
        author=Author.of_agent(agent),
        body="Here are both documents.",
        client_id="files-out",
        files=[
            ContentFile(PDF, name="refund.pdf"),
            ContentFile(PDF + b"% more\n", name="terms.pdf"),  # no room left: a link
        ],
    )
    (email,) = mail.outbox
    assert [(name, data) for name, data, _type in email.attachments] == [("refund.pdf", PDF)]
    assert "refund.pdf" in email.body and "terms.pdf" in email.body
    link = next(
        word
        for word in email.body.split()
        if word.startswith("https://help.example.com/api/v1/files/")
    )
    path = link.removeprefix("https://help.example.com")
    download = APIClient().get(path)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF + b"% more\n"
    # The link lives as long as the email's resume link, not the widget's short links.
    settings.HELPDESK_ATTACHMENT_URL_SECONDS = 1
    time.sleep(1.5)
    assert APIClient().get(path).status_code == 200
    assert Conversation.objects.get(pk=conversation.pk).waiting_since is None


def post_json(payload: dict):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {SECRET}")
    return client.post(INBOUND, payload, format="json")


def as_attachment(name: str, data: bytes, content_type: str = "application/pdf") -> dict:
    encoded = base64.encodebytes(data).decode()  # wrapped at 76 columns, as providers send it
    return {"filename": name, "content_type": content_type, "content": encoded}


def test_the_json_forms_attachments_follow_the_same_limits(thread, settings):
    conversation, _agent = thread
    settings.HELPDESK_ATTACHMENT_MAX_BYTES = 10_000
    response = post_json(
        {
            "from": "Ayşe Yılmaz <ayse@example.com>",
            "to": [reply_address(conversation.pk)],
            "subject": "Re: refund",
            "text": "The receipt is attached.",
            "message_id": "<json-files@mail.example.com>",
            "attachments": [
                as_attachment("receipt.pdf", PDF),
                as_attachment("huge.pdf", PDF + b"0" * 20_000),  # over the limit: left out
                # Called a PDF, but its bytes are HTML: refused, as in a raw email.
                as_attachment("page.pdf", b"<html><script>x</script></html>"),
                {"filename": "broken.pdf", "content": "not base64 !!"},  # left out, logged
            ],
        }
    )
    assert response.status_code == 201, response.content
    message = conversation.messages.get(pk=response.json()["message"]["id"])
    assert message.body == "The receipt is attached."
    assert [(a.name, a.content_type) for a in message.attachments.all()] == [
        ("receipt.pdf", "application/pdf")
    ]
    assert message.attachments.get().file.read() == PDF
    assert [a["name"] for a in response.json()["message"]["attachments"]] == ["receipt.pdf"]


def test_a_json_email_with_only_a_file_is_a_message_and_a_bad_shape_is_a_400(thread):
    conversation, _agent = thread
    base = {"from": "ayse@example.com", "to": reply_address(conversation.pk)}
    response = post_json({**base, "attachments": [as_attachment("scan.pdf", PDF)]})
    assert response.status_code == 201, response.content
    assert Attachment.objects.get().message.body == ""
    for attachments in ("scan.pdf", [{"filename": "x.pdf"}], [{"content": 5}], [None]):
        response = post_json({**base, "attachments": attachments})
        assert response.status_code == 400, (attachments, response.content)
        assert "attachments" in response.json()["error"]["fields"]
    # Files that are all refused leave an email with nothing of its own: the usual 400.
    response = post_json({**base, "attachments": [{"filename": "a.pdf", "content": "%%%"}]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "empty"
    assert Attachment.objects.count() == 1
