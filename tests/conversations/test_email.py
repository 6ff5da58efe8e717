"""Email continuity: replies an offline customer missed go out by email with a resume link,
and the customer's email reply lands in the same thread (README "Email continuity")."""

import re
import time
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail, signing
from django.core.cache import cache
from rest_framework.test import APIClient

from conversations.live import presence
from conversations.mail.inbound import strip_quoted
from conversations.mail.outbound import RESUME_SALT, reply_address, resume_token
from conversations.models import (
    AuthorKind,
    Channel,
    Conversation,
    Customer,
    EmailNotice,
    EmailStatus,
    Message,
    SentEmail,
    Status,
)
from conversations.services import Author, conversation_resolve, message_post
from conversations.tasks import send_reply_email
from helpdesk.celery import app

INBOUND = "/api/v1/inbound/email"
SECRET = "inbound-test-secret"
XSS = "<img src=x onerror=alert(1)>"
LINK = re.compile(r"https?://[^\s\"'<>]+/widget/resume/[^\s\"'<>]+/")

# Events are published after commit, as in production: every test commits for real.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def email_settings(settings):
    settings.HELPDESK_INBOUND_SECRET = SECRET
    settings.HELPDESK_INBOUND_DOMAIN = "inbound.example.com"
    settings.HELPDESK_EMAIL_DELAY_SECONDS = 0
    cache.clear()  # this run's Redis db: presence, schedules and queued tasks of earlier runs
    return settings


@pytest.fixture
def eager_tasks():
    """Tasks run inline, as in the embedded mode (the worker tests below use a real worker)."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def billing(make_team, make_agent):
    # Overrides the suite's `billing` (a bare team): here the default team and its agent.
    team = make_team("billing", is_default=True)
    agent = make_agent("deniz@example.com", teams=[team], first_name="Deniz", last_name="Kaya")
    return team, agent


@pytest.fixture
def thread(billing, make_customer, start_conversation):
    """A customer's conversation with billing; the customer has left (no socket open)."""
    customer = make_customer(name="Ayşe Yılmaz", email="ayse@example.com")
    return start_conversation(customer=customer, body="Where is my refund?")


def reply(conversation, agent, body: str, *, private: bool = False):
    message, _created = message_post(
        conversation=conversation,
        author=Author.of_agent(agent),
        body=body,
        client_id=f"reply-{time.monotonic_ns()}",
        private=private,
    )
    return message


def wait_for(check, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError("timed out")


def html_of(email) -> str:
    return next(content for content, kind in email.alternatives if kind == "text/html")


def inbound_client() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {SECRET}")
    return client


def raw_email(
    *,
    sender: str,
    body: str,
    to: str = "support@example.com",
    subject: str = "Re: your reply",
    **headers,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


# --- The whole path, through a real Celery worker --------------------------------------------


def test_offline_customer_gets_the_reply_by_email_resumes_it_and_answers_by_email(thread, billing):
    _team, agent = billing
    customer = thread.customer
    assert not app.conf.task_always_eager
    app.control.purge()
    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        reply(thread, agent, "Your refund was sent today.\nIt takes 3 days to arrive.")
        wait_for(lambda: len(mail.outbox) >= 1)
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["ayse@example.com"]
    assert email.subject == f"New reply from billing — conversation #{thread.pk}"
    assert "Your refund was sent today.\nIt takes 3 days to arrive." in email.body
    assert "Deniz Kaya" in email.body and "deniz@example.com" not in email.body
    assert "Your refund was sent today.<br>It takes 3 days to arrive." in html_of(email)
    assert email.reply_to == [reply_address(thread.pk)]
    assert reply_address(thread.pk).endswith("@inbound.example.com")
    link = LINK.search(email.body).group(0)
    assert link in html_of(email)
    assert customer.token not in email.body + html_of(email)  # the link is signed, not the token
    sent = SentEmail.objects.get(conversation=thread)
    assert email.extra_headers["Message-ID"] == f"<{sent.message_id}>"

    conversation_resolve(conversation=thread, by=agent)

    # The link opens the widget on this conversation, signed in as the customer.
    page = APIClient().get(urlsplit(link).path)
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    assert page["Referrer-Policy"] == "no-referrer"
    html = page.content.decode()
    config = re.search(r'<script id="helpdesk-resume" type="application/json">(.*?)</script>', html)
    assert config, html
    assert '"storeKey": "helpdesk-widget:http://testserver"' in config.group(1)
    assert '"tabKey": "helpdesk-widget:http://testserver:tab"' in config.group(1)
    assert f'"token": "{customer.token}"' in config.group(1)
    assert f'"conversation": {thread.pk}' in config.group(1)
    assert "/static/helpdesk/widget.js" in html

    # The customer answers the email: the answer joins the thread and reopens it.
    answer = raw_email(
        sender="Ayşe Yılmaz <AYSE@example.com>",
        to=email.reply_to[0],
        body=(
            "Thank you, it arrived!\n\n"
            "On Mon, 5 Jan 2026 at 09:00, billing <support@localhost> wrote:\n"
            "> Your refund was sent today.\n"
        ),
        Message_ID="<answer-1@mail.example.com>",
        In_Reply_To=f"<{sent.message_id}>",
    )
    response = inbound_client().post(INBOUND, answer, content_type="message/rfc822")
    assert response.status_code == 201, response.content
    assert response.json()["conversation"] == thread.pk
    assert response.json()["message"]["body"] == "Thank you, it arrived!"
    thread.refresh_from_db()
    assert thread.status == Status.OPEN and thread.cycle == 2
    last = thread.messages.order_by("-id").first()
    assert (last.author_kind, last.body) == (AuthorKind.CUSTOMER, "Thank you, it arrived!")
    assert Conversation.objects.count() == 1


def test_replies_within_the_delay_go_out_as_one_email(thread, billing, settings):
    settings.HELPDESK_EMAIL_DELAY_SECONDS = 1
    _team, agent = billing
    app.control.purge()
    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        reply(thread, agent, "First: we are checking.")
        reply(thread, agent, "Second: found it, refund on its way.")
        wait_for(lambda: len(mail.outbox) >= 1)
        time.sleep(2)  # a second email would have come by now
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.subject == f"2 new replies from billing — conversation #{thread.pk}"
    assert email.body.index("First: we are checking.") < email.body.index("Second: found it")
    assert EmailNotice.objects.get(conversation=thread).status == EmailStatus.SENT


# --- Who gets an email -----------------------------------------------------------------------


def test_a_customer_with_the_widget_open_gets_no_email(thread, billing, eager_tasks):
    _team, agent = billing
    presence.customer_socket_opened(thread.customer_id, "socket-1")
    reply(thread, agent, "Seen live in the widget.")
    assert mail.outbox == []

    presence.customer_socket_closed(thread.customer_id, "socket-1")
    reply(thread, agent, "Sent after they left.")
    assert len(mail.outbox) == 1
    assert "Sent after they left." in mail.outbox[0].body
    assert "Seen live in the widget." not in mail.outbox[0].body


def test_private_notes_and_customer_messages_send_no_email(thread, billing, eager_tasks):
    _team, agent = billing
    reply(thread, agent, "Note to self: check the bank.", private=True)
    message_post(conversation=thread, author=Author.customer(), body="Any news?", client_id="c-2")
    assert mail.outbox == []


def test_a_customer_without_an_email_address_gets_no_email(
    billing, make_customer, start_conversation, eager_tasks
):
    _team, agent = billing
    customer = Customer.objects.create(name="Anonymous")
    conversation = start_conversation(customer=customer)
    reply(conversation, agent, "Hello?")
    assert mail.outbox == []


def test_replies_the_customer_answered_since_are_not_emailed(thread, billing):
    _team, agent = billing
    reply(thread, agent, "Is the order number 2041?")  # queued for a worker nobody runs
    message_post(conversation=thread, author=Author.customer(), body="Yes.", client_id="c-2")
    assert send_reply_email(thread.pk) == "nothing"  # writing back, they have seen it
    assert mail.outbox == []


def test_the_html_email_escapes_what_the_agent_wrote(thread, billing, eager_tasks):
    _team, agent = billing
    reply(thread, agent, XSS)
    email = mail.outbox[0]
    assert "&lt;img src=x onerror=alert(1)&gt;" in html_of(email)
    assert "<img" not in html_of(email)
    assert XSS in email.body  # plain text stays as written


def test_the_email_names_the_agent_as_the_widget_does(thread, billing, eager_tasks, make_agent):
    """Defect 3 of issue 15: the widget showed an email address where the email said
    "Support agent". Both show the display name, else the name, else "Support agent"."""
    from conversations.services import public_profile_save

    _team, deniz = billing
    public_profile_save(user=deniz, display_name="Deniz from Billing")
    reply(thread, deniz, "Your refund is on its way.")
    assert "Deniz from Billing" in mail.outbox[0].body and "Deniz from Billing" in html_of(
        mail.outbox[0]
    )
    widget = APIClient()
    widget.credentials(HTTP_AUTHORIZATION=f"Bearer {thread.customer.token}")
    listed = widget.get(f"/api/v1/widget/conversations/{thread.pk}/messages").json()["results"]
    assert listed[-1]["author"]["name"] == "Deniz from Billing"

    nameless = make_agent("admin@example.com")
    reply(thread, nameless, "Anything else?")
    last = mail.outbox[-1]
    assert "Support agent" in last.body and "admin@example.com" not in last.body + html_of(last)


def test_the_email_speaks_the_customers_language(thread, billing, eager_tasks):
    client = APIClient()
    answer = client.post(
        "/api/v1/widget/sessions",
        {"customer_token": thread.customer.token},
        format="json",
        HTTP_ACCEPT_LANGUAGE="tr",
    )
    assert answer.status_code == 201
    thread.customer.refresh_from_db()
    assert thread.customer.language == "tr"
    reply(thread, billing[1], "İadeniz yolda.")
    email = mail.outbox[0]
    assert email.extra_headers["Content-Language"] == "tr"
    assert email.body.startswith("Merhaba Ayşe Yılmaz,")  # locale/tr
    assert f"#{thread.pk}" in email.subject and "New reply" not in email.subject


# --- Never twice -----------------------------------------------------------------------------


def test_running_the_task_again_sends_nothing_twice(thread, billing):
    _team, agent = billing
    first = reply(thread, agent, "Your refund was sent.")  # queued for a worker nobody runs
    send_reply_email(thread.pk)
    send_reply_email(thread.pk)  # a retry, or a redelivery after acks_late
    assert len(mail.outbox) == 1
    notice = EmailNotice.objects.get(conversation=thread)
    assert (notice.last_message_id_sent, notice.claimed_at) == (first.pk, None)
    assert SentEmail.objects.filter(conversation=thread).count() == 1

    second = reply(thread, agent, "And here is the receipt.")
    send_reply_email(thread.pk)
    assert len(mail.outbox) == 2
    assert "receipt" in mail.outbox[1].body and "refund was sent" not in mail.outbox[1].body
    assert mail.outbox[1].extra_headers["In-Reply-To"] == mail.outbox[0].extra_headers["Message-ID"]
    assert EmailNotice.objects.get(conversation=thread).last_message_id_sent == second.pk


def test_a_failed_send_leaves_the_replies_for_the_retry(thread, billing, settings):
    _team, agent = billing
    reply(thread, agent, "Your refund was sent.")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    with pytest.raises(OSError):  # nothing listens on port 9: the mail server is "down"
        send_reply_email(thread.pk)
    notice = EmailNotice.objects.get(conversation=thread)
    assert notice.status == EmailStatus.FAILED
    assert (notice.last_message_id_sent, notice.claimed_at) == (0, None)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    send_reply_email(thread.pk)  # the retry
    assert len(mail.outbox) == 1
    assert EmailNotice.objects.get(conversation=thread).status == EmailStatus.SENT


# --- Resume links ----------------------------------------------------------------------------


class PastSigner(signing.TimestampSigner):
    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time()) - 31 * 24 * 3600)


def test_a_tampered_link_shows_a_friendly_page(thread):
    token = resume_token(thread.customer_id, thread.pk)
    response = APIClient().get(f"/widget/resume/{token[:-2]}xx/")
    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()
    assert thread.customer.token not in response.content.decode()


def test_an_expired_link_shows_a_friendly_page(thread):
    token = PastSigner(salt=RESUME_SALT).sign(f"{thread.customer_id}.{thread.pk}")
    response = APIClient().get(f"/widget/resume/{token}/")
    assert response.status_code == 400
    assert "This link has expired" in response.content.decode()
    assert thread.customer.token not in response.content.decode()


def test_a_link_naming_someone_elses_conversation_is_refused(thread, start_conversation):
    other = start_conversation()
    token = resume_token(thread.customer_id, other.pk)
    response = APIClient().get(f"/widget/resume/{token}/")
    assert response.status_code == 400
    assert other.customer.token not in response.content.decode()


def test_garbage_links_never_fail(thread):
    for token in ["x", "1.2", "1.2:abc:def", "%00", "a" * 500]:
        assert APIClient().get(f"/widget/resume/{token}/").status_code == 400


# --- Inbound email ---------------------------------------------------------------------------


def test_inbound_needs_the_shared_secret(thread, settings):
    payload = {"from": "ayse@example.com", "text": "Hello"}
    missing = APIClient().post(INBOUND, payload, format="json")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "not_authenticated"
    assert missing["WWW-Authenticate"].startswith("Bearer")

    wrong = APIClient().post(INBOUND, payload, format="json", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "forbidden"

    header = APIClient().post(INBOUND, payload, format="json", HTTP_X_HELPDESK_SECRET=SECRET)
    assert header.status_code == 201

    settings.HELPDESK_INBOUND_SECRET = ""
    unset = inbound_client().post(INBOUND, payload, format="json")
    assert unset.status_code == 503
    assert unset.json()["error"]["code"] == "not_configured"


def test_inbound_is_rate_limited_even_for_wrong_secrets(thread, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "inbound_email": "2/min",
        },
    }
    guess = APIClient()
    answers = [
        guess.post(INBOUND, {}, format="json", HTTP_AUTHORIZATION=f"Bearer guess-{n}")
        for n in range(3)
    ]
    assert [answer.status_code for answer in answers] == [403, 403, 429]
    assert answers[-1].json()["error"]["code"] == "rate_limited"


def test_the_same_inbound_email_twice_makes_one_message(thread):
    payload = {
        "from": "ayse@example.com",
        "to": [reply_address(thread.pk)],
        "subject": "Re: refund",
        "text": "Still waiting.\n\n> quoted",
        "message_id": "<same@mail.example.com>",
    }
    first = inbound_client().post(INBOUND, payload, format="json")
    again = inbound_client().post(INBOUND, payload, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["message"]["id"] == again.json()["message"]["id"]
    assert first.json()["message"]["body"] == "Still waiting."
    assert thread.messages.filter(body="Still waiting.").count() == 1


def test_an_email_from_someone_unknown_starts_a_conversation(billing):
    raw = raw_email(
        sender="Mehmet Öz <mehmet@example.com>",
        subject="Invoice 2041 is wrong",
        body="The VAT number is missing.",
        Message_ID="<new-1@mail.example.com>",
    )
    response = inbound_client().post(INBOUND, raw, content_type="message/rfc822")
    assert response.status_code == 201
    assert response.json()["new_conversation"] is True
    conversation = Conversation.objects.get(pk=response.json()["conversation"])
    assert conversation.channel == Channel.EMAIL
    assert conversation.team == billing[0]
    assert (conversation.customer.name, conversation.customer.email) == (
        "Mehmet Öz",
        "mehmet@example.com",
    )
    assert conversation.messages.get().body == "Invoice 2041 is wrong\n\nThe VAT number is missing."


def test_a_new_email_from_a_known_customer_is_theirs(thread):
    payload = {"from": "AYSE@example.com", "subject": "Another question", "text": "Do you ship?"}
    response = inbound_client().post(INBOUND, payload, format="json")
    assert response.status_code == 201
    conversation = Conversation.objects.get(pk=response.json()["conversation"])
    assert conversation.pk != thread.pk
    assert conversation.customer == thread.customer


def test_someone_else_cannot_write_into_a_customers_thread(thread):
    payload = {
        "from": "mallory@example.com",
        "to": reply_address(thread.pk),
        "text": "Please send the refund to my account instead.",
    }
    response = inbound_client().post(INBOUND, payload, format="json")
    assert response.status_code == 201
    assert response.json()["conversation"] != thread.pk
    assert not thread.messages.filter(body__contains="my account").exists()


def test_a_forged_reply_address_is_not_trusted(thread):
    forged = f"reply+{thread.pk}.{'0' * 24}@inbound.example.com"
    payload = {"from": "ayse@example.com", "to": forged, "text": "Hi"}
    response = inbound_client().post(INBOUND, payload, format="json")
    assert response.json()["conversation"] != thread.pk


def test_automatic_replies_are_ignored(thread):
    raw = raw_email(
        sender="ayse@example.com",
        to=reply_address(thread.pk),
        body="I am out of the office until Monday.",
        Auto_Submitted="auto-replied",
    )
    response = inbound_client().post(INBOUND, raw, content_type="message/rfc822")
    assert response.status_code == 202
    assert response.json()["status"] == "ignored"
    assert thread.messages.count() == 1


def test_an_html_only_email_is_read_without_its_quote(thread):
    message = EmailMessage()
    message["From"] = "ayse@example.com"
    message["To"] = reply_address(thread.pk)
    message["Subject"] = "Re: refund"
    message.set_content(
        "<div>Got it, <b>thanks</b> &amp; bye!</div>"
        '<div class="gmail_quote"><blockquote>Your refund was sent.</blockquote></div>',
        subtype="html",
    )
    response = inbound_client().post(INBOUND, message.as_bytes(), content_type="message/rfc822")
    assert response.status_code == 201
    assert response.json()["message"]["body"] == "Got it, thanks & bye!"


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b"not json", "application/json", 400),
        (b'{"from": "ayse@example.com"}', "application/json", 400),
        (b'{"from": "nobody", "text": "hi"}', "application/json", 400),
        (b'{"from": 5, "text": "hi"}', "application/json", 400),
        (b'{"from": "ayse@example.com", "text": "> only a quote"}', "application/json", 400),
        (b'["a list"]', "application/json", 400),
        (b"just some words", "message/rfc822", 400),
        (b"\xff\xfe\x00garbage", "message/rfc822", 400),
        (b"From: ayse@example.com\r\n\r\n", "text/plain", 400),
        (b"<xml/>", "application/xml", 415),
    ],
)
def test_bad_inbound_input_gets_the_error_shape(thread, body, content_type, code):
    response = inbound_client().generic("POST", INBOUND, body, content_type=content_type)
    assert response.status_code == code, response.content
    assert set(response.json()["error"]) >= {"code", "message"}


# --- Quoted text -----------------------------------------------------------------------------


def test_english_quotes_are_stripped():
    text = (
        "Yes, that works for me.\n"
        "See you then.\n\n"
        "On Mon, 5 Jan 2026 at 09:00, Billing Support <reply+1.abc@inbound.example.com> wrote:\n"
        "> Could you confirm the address?\n"
        ">\n"
        "> Thanks\n"
    )
    assert strip_quoted(text) == "Yes, that works for me.\nSee you then."


def test_a_quote_header_wrapped_over_two_lines_is_stripped():
    text = (
        "Perfect.\n\nOn Mon, Jan 5, 2026 at 9:00 AM Billing Support\n"
        "<reply+1.abc@inbound.example.com> wrote:\n\n> old text\n"
    )
    assert strip_quoted(text) == "Perfect."


def test_turkish_quotes_are_stripped():
    text = (
        "Teşekkürler, ulaştı.\r\n\r\n"
        "5 Oca 2026 Pzt, 09:00 tarihinde Destek <destek@example.com> şunu yazdı:\r\n"
        "> İadeniz gönderildi.\r\n"
    )
    assert strip_quoted(text) == "Teşekkürler, ulaştı."
    wrapped = (
        "Tamam.\n\nPzt, 5 Oca 2026, 09:00 tarihinde Destek Ekibi <\n"
        "destek@example.com> şunu yazdı:\n> eski\n"
    )
    assert strip_quoted(wrapped) == "Tamam."


def test_outlook_headers_signatures_and_inline_quotes_are_stripped():
    outlook = "Fine.\n\n________________________________\nFrom: Support\nSent: Monday\n\nOld"
    assert strip_quoted(outlook) == "Fine."
    assert strip_quoted("Fine.\n\n-----Original Message-----\nOld") == "Fine."
    assert strip_quoted("Fine.\n-- \nAyşe Yılmaz\nACME Ltd.") == "Fine."
    assert strip_quoted("> question?\nanswer\n> other?\nother answer") == "answer\nother answer"
    assert strip_quoted("On time delivery matters to me.") == "On time delivery matters to me."


# --- Presence --------------------------------------------------------------------------------


def test_presence_counts_open_sockets(monkeypatch):
    cache.clear()
    assert not presence.customer_is_online(7)
    presence.customer_socket_opened(7, "a")
    presence.customer_socket_opened(7, "b")
    assert presence.customer_is_online(7) and not presence.customer_is_online(8)
    presence.customer_socket_closed(7, "a")
    assert presence.customer_is_online(7)
    presence.customer_socket_closed(7, "b")
    assert not presence.customer_is_online(7)
    presence.customer_socket_closed(7, "b")  # closing twice is harmless
    assert not presence.customer_is_online(7)


def test_a_silent_socket_stops_counting_and_a_heartbeat_brings_it_back(monkeypatch):
    cache.clear()
    monkeypatch.setattr(presence, "TTL_SECONDS", 1)
    presence.customer_socket_opened(9, "a")
    time.sleep(0.6)
    presence.customer_socket_seen(9, "a")  # the heartbeat renews it
    time.sleep(0.6)
    assert presence.customer_is_online(9)
    time.sleep(1.1)  # no heartbeat: the browser crashed
    assert not presence.customer_is_online(9)
    presence.customer_socket_seen(9, "a")
    assert presence.customer_is_online(9)


def test_unsent_replies_skip_when_the_customer_is_online_at_send_time(thread, billing):
    _team, agent = billing
    message = reply(thread, agent, "Seen before the email went out.")  # queued, not run
    presence.customer_socket_opened(thread.customer_id, "socket-1")
    assert send_reply_email(thread.pk) == "online"
    assert mail.outbox == []
    assert EmailNotice.objects.get(conversation=thread).last_message_id_sent == message.pk
    assert Message.objects.filter(conversation=thread).count() == 2


# --- The resume page in a real browser -------------------------------------------------------


@pytest.mark.browser
def test_the_resume_link_opens_the_widget_on_the_conversation(
    thread, billing, live_server_url, browser
):
    _team, agent = billing
    reply(thread, agent, "Your refund was sent today.")
    token = resume_token(thread.customer_id, thread.pk)
    context = browser.new_context(viewport={"width": 1280, "height": 820})
    page = context.new_page()
    page.goto(f"{live_server_url}/widget/resume/{token}/")
    # The widget opens by itself on this conversation, with the reply the customer missed.
    page.get_by_text("Your refund was sent today.").wait_for(timeout=15000)
    page.get_by_text("Where is my refund?").wait_for()
    stored = page.evaluate("Object.entries(localStorage)")
    keys = [key for key, value in stored if thread.customer.token in value]
    assert keys == [f"helpdesk-widget:{live_server_url}"]
    context.close()


def test_a_reply_email_lost_with_redis_is_sent_by_the_sweep(thread, billing, eager_tasks):
    """A Redis restart loses the queued email task and its scheduling key; the sweep finds
    the reply nobody mailed, and mails it once."""
    from datetime import timedelta

    from django.utils import timezone

    from conversations.tasks import _email_scheduled_key, send_missed_reply_emails

    _team, agent = billing
    app.conf.task_always_eager = False  # queued in Redis…
    try:
        message = reply(thread, agent, "Lost in a Redis restart.")
    finally:
        app.conf.task_always_eager = True
    app.control.purge()  # …which restarts empty
    cache.delete(_email_scheduled_key(thread.pk))
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=3))
    assert mail.outbox == []

    assert send_missed_reply_emails() == 1
    assert len(mail.outbox) == 1
    assert "Lost in a Redis restart." in mail.outbox[0].body
    assert send_missed_reply_emails() == 0  # mailed: missed no more


def test_the_sweep_leaves_replies_the_customer_answered_or_too_recent(thread, billing):
    from datetime import timedelta

    from conversations.mail.outbound import conversations_with_missed_replies

    _team, agent = billing
    reply(thread, agent, "Answered in the widget.")
    window = {"older_than": timedelta(0), "within": timedelta(days=1)}
    assert conversations_with_missed_replies(**window) == [thread.pk]
    assert (
        conversations_with_missed_replies(older_than=timedelta(minutes=5), within=timedelta(days=1))
        == []
    )
    message_post(conversation=thread, author=Author.customer(), body="Thanks!", client_id="c-9")
    assert conversations_with_missed_replies(**window) == []
