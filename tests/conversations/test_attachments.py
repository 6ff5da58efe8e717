"""Files in conversations (docs/attachments.md): what is taken, who may fetch it, thumbnails.

Uploads and downloads go through real HTTP (a uvicorn server) where the refusals matter:
oversize and disguised files, and links fetched by someone who may not read them.
"""

import io
import time

import pytest
import requests
from celery.contrib.testing.worker import start_worker
from django.core.files.base import ContentFile
from django.test import override_settings
from PIL import Image
from rest_framework.test import APIClient

from conversations.files import checks, links
from conversations.files.thumbnails import THUMBNAIL_SIDE, thumbnail_of
from conversations.models import Attachment, ConversationEvent, Message
from conversations.services import Author, message_post
from helpdesk.celery import app

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


def png(width: int = 40, height: int = 30, color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def jpeg_turned(width: int = 800, height: int = 600) -> bytes:
    """A landscape JPEG whose EXIF says "rotate 90°": upright, it is a portrait."""
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to show
    Image.new("RGB", (width, height), "blue").save(out, "JPEG", exif=exif)
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def widget_client(customer) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {customer.token}")
    return client


def upload(name: str, data: bytes, content_type: str = "application/octet-stream"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


# --- What a file is: told from its bytes --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "sniffed"),
    [
        ("photo.png", png(), "image/png"),
        ("invoice.pdf", PDF, "application/pdf"),
        ("notes.txt", "Sipariş numaram 42\n".encode(), "text/plain"),
        ("orders.csv", b"id,total\n1,9.90\n", "text/csv"),
        ("page.png", HTML, "text/html"),  # a name and a claimed type change nothing
        ("logo.svg", SVG, "text/html"),
        ("tool.exe", b"MZ\x90\x00" + b"\x00" * 300, "application/x-msdownload"),
        ("blob.bin", bytes(range(256)) * 4, ""),
    ],
)
def test_the_type_is_told_from_the_bytes(name, data, sniffed):
    assert checks.sniff(data[: checks.SNIFF_BYTES], name) == sniffed


@pytest.mark.parametrize("data", [HTML, SVG, b"MZ\x90\x00" + b"\x00" * 300])
def test_markup_and_programs_are_refused_with_415(data):
    with pytest.raises(checks.UnsupportedType) as refused:
        checks.check_file(ContentFile(data, name="innocent.png"))
    assert refused.value.status == 415 and refused.value.code == "unsupported_type"


def test_names_keep_their_last_part_and_lose_what_could_break_a_header():
    assert checks.clean_name('../../etc/pass"wd<x>.txt') == "passwdx.txt"
    assert checks.clean_name("C:\\Users\\ayşe\\fatura.pdf") == "fatura.pdf"
    assert checks.clean_name("") == "file"
    assert len(checks.clean_name("a" * 500 + ".pdf")) == checks.NAME_LIMIT


# --- Posting files: widget and agent API ---------------------------------------------------------


def test_a_customer_posts_files_with_a_message_and_reads_them_back(start_conversation, support):
    conversation = start_conversation(team=support)
    client = widget_client(conversation.customer)
    url = f"/api/v1/widget/conversations/{conversation.pk}/messages"
    response = client.post(
        url,
        {
            "body": "Here is the photo and the invoice",
            "client_id": "files-1",
            "files": [upload("kırık.png", png(), "image/png"), upload("fatura.pdf", PDF)],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    photo, invoice = response.json()["attachments"]
    assert (photo["name"], photo["content_type"], photo["size"]) == (
        "kırık.png",
        "image/png",
        len(png()),
    )
    assert (invoice["name"], invoice["content_type"]) == ("fatura.pdf", "application/pdf")
    assert photo["url"].startswith("/api/v1/files/") and "thumbnail_url" in photo
    assert "thumbnail_url" not in invoice
    # The same client_id again: the first message, no second copy of the files.
    again = client.post(
        url, {"client_id": "files-1", "files": [upload("x.png", png())]}, format="multipart"
    )
    assert again.status_code == 200 and again.json()["id"] == response.json()["id"]
    assert Attachment.objects.filter(message__conversation=conversation).count() == 2
    listed = client.get(url).json()["results"][-1]
    assert [item["name"] for item in listed["attachments"]] == ["kırık.png", "fatura.pdf"]
    # The invoice downloads, as a download, and nothing of it runs on our origin.
    download = client.get(invoice["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Security-Policy"] == "default-src 'none'; sandbox"
    # A raster image may show inline (sniffed from its bytes).
    image = client.get(photo["url"])
    assert image["Content-Type"] == "image/png"
    assert image["Content-Disposition"].startswith("inline;")


def test_a_message_may_be_a_file_alone_but_not_nothing(start_conversation, support):
    conversation = start_conversation(team=support)
    client = widget_client(conversation.customer)
    url = f"/api/v1/widget/conversations/{conversation.pk}/messages"
    alone = client.post(
        url, {"client_id": "only-file", "files": [upload("a.txt", b"hello")]}, format="multipart"
    )
    assert alone.status_code == 201, alone.content
    assert alone.json()["body"] == ""
    conversation.refresh_from_db()
    assert conversation.last_message_preview == "📎 a.txt"
    nothing = client.post(url, {"client_id": "nothing"}, format="multipart")
    assert nothing.status_code == 400 and "body" in nothing.json()["error"]["fields"]
    text_for_files = client.post(url, {"client_id": "t", "files": "a.txt"}, format="multipart")
    assert text_for_files.status_code == 400 and "files" in text_for_files.json()["error"]["fields"]
    empty_json = client.post(url, {"body": " ", "client_id": "empty"}, format="json")
    assert empty_json.status_code == 400


def test_a_file_alone_from_an_agent_is_a_reply(start_conversation, support, alice, alice_client):
    """Reports count public agent messages as replies; a file alone is one (first response)."""
    conversation = start_conversation(team=support)
    assert conversation.waiting_since is not None
    response = alice_client.post(
        f"/api/v1/conversations/{conversation.pk}/messages",
        {"client_id": "agent-file", "files": [upload("steps.pdf", PDF)]},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    conversation.refresh_from_db()
    assert conversation.waiting_since is None  # answered
    event = ConversationEvent.objects.get(message_id=response.json()["id"])
    assert event.public and event.author_kind == "agent"
    assert event.data["attachments"][0]["name"] == "steps.pdf"
    assert "url" not in event.data["attachments"][0]  # the log keeps no expiring links


@override_settings(HELPDESK_ATTACHMENT_MAX_FILES=2)
def test_too_many_files_answer_413(start_conversation, support, alice_client):
    conversation = start_conversation(team=support)
    response = alice_client.post(
        f"/api/v1/conversations/{conversation.pk}/messages",
        {"client_id": "many", "files": [upload(f"{n}.txt", b"x") for n in range(3)]},
        format="multipart",
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert not Message.objects.filter(client_id="many").exists()


@override_settings(HELPDESK_ATTACHMENT_MAX_BYTES=1000)
def test_one_refusal_names_every_file_that_breaks_a_limit(
    start_conversation, support, alice_client
):
    conversation = start_conversation(team=support)
    response = alice_client.post(
        f"/api/v1/conversations/{conversation.pk}/messages",
        {
            "client_id": "several",
            "files": [
                upload("page.html", HTML),
                upload("fine.txt", b"fine"),
                upload("big.pdf", PDF + b"0" * 2000),
            ],
        },
        format="multipart",
    )
    assert response.status_code == 415  # the first refusal's kind
    error = response.json()["error"]
    assert error["code"] == "unsupported_type"
    assert error["fields"]["files"] == [
        "Files of this type cannot be sent: page.html.",
        "big.pdf: Files are limited to 1000\xa0bytes each.",
    ]
    assert "page.html" in error["message"] and "big.pdf" in error["message"]
    assert not Message.objects.filter(client_id="several").exists()


# --- Real HTTP: refusals of oversize, disguised and foreign files --------------------------------


@pytest.fixture
def served(live_server_url, support, alice, make_customer):
    """A customer's conversation with a file of theirs, over a real server."""
    from conversations.services import conversation_start

    customer = make_customer()
    conversation, _ = conversation_start(
        customer=customer, body="Hi", client_id="s-1", team=support
    )
    return live_server_url, customer, conversation


def post_files(base: str, path: str, headers: dict, files: list, **fields) -> requests.Response:
    data = {"client_id": fields.pop("client_id", "http-1"), **fields}
    return requests.post(base + path, data=data, files=files, headers=headers, timeout=30)


def test_over_http_an_oversize_file_answers_413_and_a_disguised_one_415(served, settings):
    base, customer, conversation = served
    settings.HELPDESK_ATTACHMENT_MAX_BYTES = 1000
    path = f"/api/v1/widget/conversations/{conversation.pk}/messages"
    bearer = {"Authorization": f"Bearer {customer.token}"}
    big = post_files(
        base, path, bearer, [("files", ("big.pdf", PDF + b"0" * 2000, "application/pdf"))]
    )
    assert big.status_code == 413, big.text
    assert big.json()["error"]["code"] == "too_large"
    # Far larger than any message could be: refused by its length before it is read.
    huge = post_files(
        base, path, bearer, [("files", ("huge.pdf", PDF + b"0" * 6_000_000, "application/pdf"))]
    )
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "too_large"
    disguised = post_files(base, path, bearer, [("files", ("cat.png", HTML, "image/png"))])
    assert disguised.status_code == 415, disguised.text
    assert disguised.json()["error"]["code"] == "unsupported_type"
    assert not Attachment.objects.exists()


def test_over_http_only_who_may_read_the_conversation_gets_the_file(
    served, make_customer, make_agent, billing, alice
):
    base, customer, conversation = served
    bearer = {"Authorization": f"Bearer {customer.token}"}
    path = f"/api/v1/widget/conversations/{conversation.pk}/messages"
    posted = post_files(base, path, bearer, [("files", ("plan.pdf", PDF, "application/pdf"))])
    assert posted.status_code == 201, posted.text
    item = posted.json()["attachments"][0]
    mine = requests.get(base + item["url"], timeout=10)
    assert mine.status_code == 200 and mine.content == PDF
    assert mine.headers["X-Content-Type-Options"] == "nosniff"
    attachment_id = item["id"]
    # Another customer cannot reach it: a link for them to this file is refused.
    stranger = make_customer()
    forged = links.sign(attachment_id, links.customer_reader(stranger.pk))
    assert_404(requests.get(base + forged, timeout=10))
    # A tampered or unknown link is refused, in the API's error shape.
    assert_404(requests.get(base + item["url"][:-2] + "xx", timeout=10))
    assert_404(requests.get(base + "/api/v1/files/not-a-link", timeout=10))
    # An agent's link works in that agent's session only, for a conversation they may read.
    agent_link = links.sign(attachment_id, links.user_reader(alice.pk))
    assert_404(requests.get(base + agent_link, timeout=10))  # no session
    alice_token = token_of(alice)
    ok = requests.get(
        base + agent_link, headers={"Authorization": f"Token {alice_token}"}, timeout=10
    )
    assert ok.status_code == 200 and ok.content == PDF
    outsider = make_agent(teams=[billing[0]] if isinstance(billing, tuple) else [billing])
    outsider_link = links.sign(attachment_id, links.user_reader(outsider.pk))
    headers = {"Authorization": f"Token {token_of(outsider)}"}
    assert_404(requests.get(base + outsider_link, headers=headers, timeout=10))
    assert_404(requests.get(base + agent_link, headers=headers, timeout=10))  # alice's link


def test_links_expire(start_conversation, support, settings):
    conversation = start_conversation(team=support)
    message, _ = message_post(
        conversation=conversation,
        author=Author.customer(),
        body="",
        client_id="exp",
        files=[ContentFile(PDF, name="a.pdf")],
    )
    url = links.sign(message.attachments.get().pk, links.customer_reader(conversation.customer_id))
    assert APIClient().get(url).status_code == 200
    settings.HELPDESK_ATTACHMENT_URL_SECONDS = 2
    time.sleep(2.1 + links.window_seconds())
    expired = APIClient().get(url)
    assert expired.status_code == 404 and expired.json()["error"]["code"] == "not_found"


def test_a_private_notes_file_never_reaches_the_customer(start_conversation, support, alice):
    conversation = start_conversation(team=support)
    note, _ = message_post(
        conversation=conversation,
        author=Author.of_agent(alice),
        body="internal screenshot",
        client_id="note",
        private=True,
        files=[ContentFile(png(), name="admin.png")],
    )
    client = widget_client(conversation.customer)
    listed = client.get(f"/api/v1/widget/conversations/{conversation.pk}/messages").json()
    assert note.pk not in [message["id"] for message in listed["results"]]
    forged = links.sign(note.attachments.get().pk, links.customer_reader(conversation.customer_id))
    assert_404(client.get(forged))


def assert_404(response) -> None:
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def token_of(user) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=user)[0].key


# --- Thumbnails: Pillow, in a real Celery worker -------------------------------------------------


def test_a_worker_makes_an_upright_bounded_thumbnail(transactional_db, make_customer, support):
    from conversations.services import conversation_start

    customer = make_customer()
    conversation, _ = conversation_start(
        customer=customer, body="Hi", client_id="t-0", team=support
    )
    assert not app.conf.task_always_eager
    app.control.purge()
    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        message, _ = message_post(
            conversation=conversation,
            author=Author.customer(),
            body="",
            client_id="t-1",
            files=[ContentFile(jpeg_turned(), name="turned.jpg")],
        )
        attachment = message.attachments.get()
        deadline = time.monotonic() + 30
        while not Attachment.objects.get(pk=attachment.pk).thumbnail:
            assert time.monotonic() < deadline, "no thumbnail within 30 s"
            time.sleep(0.2)
    url = links.sign(attachment.pk, links.customer_reader(customer.pk), thumbnail=True)
    response = APIClient().get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(b"".join(response.streaming_content))) as thumbnail:
        assert max(thumbnail.size) == THUMBNAIL_SIDE
        assert thumbnail.height > thumbnail.width  # turned upright by its EXIF orientation


def test_until_the_thumbnail_is_made_its_link_shows_the_image(start_conversation, support):
    conversation = start_conversation(team=support)
    message, _ = message_post(
        conversation=conversation,
        author=Author.customer(),
        body="",
        client_id="t-2",
        files=[ContentFile(png(), name="a.png")],
    )
    url = links.sign(
        message.attachments.get().pk,
        links.customer_reader(conversation.customer_id),
        thumbnail=True,
    )
    response = APIClient().get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == png()
    assert response["Cache-Control"] == "private, no-cache"


def test_a_decompression_bomb_gets_no_thumbnail():
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG")  # 100 megapixels in a few KB
    assert len(out.getvalue()) < 100_000
    out.seek(0)
    assert thumbnail_of(out) is None


def test_a_conversation_may_start_with_a_file(make_customer, support):
    customer = make_customer()
    response = widget_client(customer).post(
        "/api/v1/widget/conversations",
        {"client_id": "start-file", "files": [upload("receipt.pdf", PDF)]},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    (message,) = Message.objects.filter(conversation_id=response.json()["id"])
    assert message.body == "" and message.attachments.get().name == "receipt.pdf"
    assert response.json()["last_message_preview"] == "📎 receipt.pdf"


def test_the_admin_reply_form_takes_files_and_the_thread_shows_them(
    start_conversation, support, make_agent, client
):
    admin = make_agent(teams=[support], is_superuser=True)
    client.force_login(admin)
    conversation = start_conversation(team=support)
    change = f"/admin/conversations/conversation/{conversation.pk}/change/"
    response = client.post(
        f"/admin/conversations/conversation/{conversation.pk}/reply/",
        {"body": "", "client_id": "admin-1", "files": [upload("steps.pdf", PDF)]},
    )
    assert response.status_code == 302
    message = Message.objects.get(client_id="admin-1")
    assert message.body == "" and message.attachments.get().name == "steps.pdf"
    page = client.get(change).content.decode()
    assert 'download="steps.pdf"' in page and "/api/v1/files/" in page
    refused = client.post(
        f"/admin/conversations/conversation/{conversation.pk}/reply/",
        {"body": "and this", "client_id": "admin-2", "files": [upload("x.html", HTML)]},
    )
    assert refused.status_code == 302
    assert "Files of this type cannot be sent: x.html." in client.get(change).content.decode()


def test_search_finds_a_file_by_its_name(start_conversation, support, alice_client):
    with_file = start_conversation(team=support, body="Hello")
    message_post(
        conversation=with_file,
        author=Author.customer(),
        body="",
        client_id="search-file",
        files=[ContentFile(PDF, name="fatura_2041-kasım.pdf")],
    )
    start_conversation(team=support, body="Something else")
    for query in ("fatura", "2041", "kasım"):
        found = alice_client.get("/api/v1/conversations", {"q": query}).json()["results"]
        assert [item["id"] for item in found] == [with_file.pk], query


def test_reports_count_a_file_alone_as_the_first_response(make_customer, make_team, make_agent):
    from datetime import UTC, datetime, timedelta

    from conversations.events import publish_pending_events
    from conversations.services import conversation_start
    from reports.services import process_new_events

    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    team = make_team(name="files")
    agent = make_agent("files-agent@example.com", teams=[team])
    manager = make_agent("files-manager@example.com", teams=[team])
    conversation, _ = conversation_start(
        customer=make_customer(), body="", client_id="q", team=team, at=start,
        files=[ContentFile(png(), name="broken.png")],
    )  # fmt: skip
    message_post(
        conversation=conversation,
        author=Author.of_agent(agent),
        body="",
        client_id="r",
        at=start + timedelta(minutes=3),
        files=[ContentFile(PDF, name="return-label.pdf")],
    )
    publish_pending_events()
    process_new_events()
    client = APIClient()
    client.force_authenticate(manager)
    period = {"since": "2026-03-01T00:00:00Z", "until": "2026-03-03T00:00:00Z", "team": "files"}
    summary = client.get("/api/v1/reports/summary", period).json()
    assert summary["conversations"]["created"] == 1
    assert summary["first_response_time"]["count"] == 1
    assert summary["first_response_time"]["mean"] == 180.0


def test_over_http_a_body_larger_than_any_is_refused_before_it_is_sent(served):
    """413 at the declared length: the server answers before the body (never sent) arrives."""
    import socket
    from urllib.parse import urlsplit

    base, customer, conversation = served
    parts = urlsplit(base)
    request = (
        f"POST /api/v1/widget/conversations/{conversation.pk}/messages HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\nAuthorization: Bearer {customer.token}\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {10**12}\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(request.encode())
        answer = connection.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 413"), answer
    assert '"code": "too_large"' in answer
