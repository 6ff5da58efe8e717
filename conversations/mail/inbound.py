"""Email continuity, inbound: a customer's email lands in the right thread.

POST /api/v1/inbound/email (api.InboundEmailView) takes a raw RFC 822 message or its parsed
JSON form. The conversation is found by the signed reply+… address our emails carry as
Reply-To, or by In-Reply-To/References naming the Message-ID of an email we sent; the sender
must be that conversation's customer (those links are unguessable, a From header is not
proof enough on its own). Quoted history is cut off and the rest is posted through
services.message_post as the customer, with the email's Message-ID as client_id: the same
email delivered twice makes one message. Anything else starts a new conversation on the
"email" channel, for the customer with that address (created when unknown).
"""

import base64
import binascii
import hashlib
import hmac
import logging
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db.models import F, Max
from django.utils.translation import gettext as _

from .. import services
from ..errors import HelpdeskError, InvalidInput
from ..files.checks import CheckedFile, check_file
from ..models import Channel, Conversation, Customer, Message, SentEmail
from .outbound import conversation_id_from_reply_address

logger = logging.getLogger(__name__)

MAX_EMAIL_BYTES = 25 * 1024 * 1024  # what mail servers commonly accept, attachments included
MAX_REFERENCES = 50
RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")


# --- Authentication of the webhook -----------------------------------------------------------


class InboundNotConfigured(HelpdeskError):
    status = 503
    code = "not_configured"


class InboundUnauthenticated(HelpdeskError):
    status = 401
    code = "not_authenticated"


class InboundForbidden(HelpdeskError):
    status = 403
    code = "forbidden"


class EmailTooLarge(HelpdeskError):
    status = 413
    code = "too_large"


def check_inbound_secret(authorization: str, header_secret: str) -> None:
    """`Authorization: Bearer <HELPDESK_INBOUND_SECRET>` or `X-Helpdesk-Secret: <secret>`."""
    secret = settings.HELPDESK_INBOUND_SECRET
    if not secret:
        raise InboundNotConfigured(
            _("Inbound email is not set up on this helpdesk (HELPDESK_INBOUND_SECRET).")
        )
    scheme, _space, credentials = (authorization or "").strip().partition(" ")
    given = credentials.strip() if scheme.lower() == "bearer" else (header_secret or "").strip()
    if not given:
        raise InboundUnauthenticated(
            _("Send the inbound secret as 'Authorization: Bearer …' or 'X-Helpdesk-Secret'.")
        )
    if not hmac.compare_digest(given.encode(), secret.encode()):  # bytes: any text compares
        raise InboundForbidden(_("The inbound secret is not right."))


# --- Parsing ---------------------------------------------------------------------------------


@dataclass
class InboundEmail:
    sender: str
    sender_name: str = ""
    recipients: list[str] = field(default_factory=list)
    subject: str = ""
    text: str = ""
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    auto_submitted: bool = False  # an out-of-office or bounce (RFC 3834): never a message
    files: list[ContentFile] = field(default_factory=list)  # its attachments, unchecked


def message_ids(value: Any) -> list[str]:
    """Message-IDs from a header value ("<a@b> <c@d>") or a list, without angle brackets."""
    values = value if isinstance(value, list | tuple) else [value or ""]
    found: list[str] = []
    for item in values:
        item = str(item)
        found += re.findall(r"<([^<>\s]+)>", item) or item.split()
    return [message_id.strip("<>") for message_id in found if message_id.strip("<>")][
        :MAX_REFERENCES
    ]


def check_sender(address: str) -> str:
    address = (address or "").strip()
    try:
        validate_email(address)
    except ValidationError as error:
        message = _("The sender's email address is missing or not valid.")
        raise InvalidInput(message, fields={"from": message}) from error
    return address


def parse_raw(raw: bytes) -> InboundEmail:
    """An RFC 822 message; InvalidInput (400) for anything that is not one."""
    if not raw.strip():
        raise InvalidInput(_("The email is empty."))
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        sender_name, sender = parseaddr(str(message.get("From", "")))
        recipient_values = [
            str(value) for name in RECIPIENT_HEADERS for value in message.get_all(name, [])
        ]
        recipients = [address for _name, address in getaddresses(recipient_values) if address]
        subject = str(message.get("Subject", ""))
        text = body_text(message)
        auto = str(message.get("Auto-Submitted", "no")).strip().lower() != "no" or (
            str(message.get("Precedence", "")).strip().lower() in {"auto_reply", "bulk", "junk"}
        )
        email = InboundEmail(
            sender=sender,
            sender_name=sender_name,
            recipients=recipients,
            subject=subject,
            text=text,
            message_id=(message_ids(str(message.get("Message-ID", ""))) or [""])[0],
            in_reply_to=message_ids(str(message.get("In-Reply-To", ""))),
            references=message_ids(str(message.get("References", ""))),
            auto_submitted=auto,
            files=email_files(message),
        )
    except Exception as error:  # the parser meets untrusted bytes: any failure is bad input
        logger.info("unreadable inbound email: %s", error)
        raise InvalidInput(_("This is not an email message the helpdesk can read.")) from error
    email.sender = check_sender(email.sender)
    return email


def email_files(message: EmailMessage) -> list[ContentFile]:
    """The email's attachments (inline images with a name too), as they came."""
    files = []
    for part in message.iter_attachments():
        data = part.get_payload(decode=True)
        if isinstance(data, bytes) and data:
            files.append(ContentFile(data, name=part.get_filename() or "attachment"))
    return files


def accepted_files(email: InboundEmail) -> list[CheckedFile]:
    """The attachments the helpdesk takes (files/checks.py), up to the number a message may
    carry; the others are left out and logged: the customer's words must not be lost for them."""
    accepted: list[CheckedFile] = []
    for file in email.files:
        if len(accepted) >= settings.HELPDESK_ATTACHMENT_MAX_FILES:
            logger.info("inbound email %s: more files than a message takes", email.message_id)
            break
        try:
            accepted.append(check_file(file))
        except HelpdeskError as refusal:
            logger.info("inbound email %s: %s left out: %s", email.message_id, file.name, refusal)
    return accepted


def parse_fields(data: dict[str, Any]) -> InboundEmail:
    """The parsed JSON form, already validated by api.InboundEmailInput."""
    sender_name, sender = parseaddr(data["from"])
    to = data.get("to") or []
    to = [to] if isinstance(to, str) else to
    text = data.get("text") or ""
    if not text.strip() and data.get("html"):
        text = html_to_text(data["html"])
    return InboundEmail(
        sender=check_sender(sender),
        sender_name=sender_name,
        recipients=[address for _name, address in getaddresses(to) if address],
        subject=data.get("subject") or "",
        text=text,
        message_id=(message_ids(data.get("message_id")) or [""])[0],
        in_reply_to=message_ids(data.get("in_reply_to")),
        references=message_ids(data.get("references")),
        files=decoded_files(data.get("attachments") or []),
    )


def decoded_files(attachments: list[dict[str, str]]) -> list[ContentFile]:
    """The JSON form's attachments as files, unchecked (accepted_files checks them as it does
    a raw email's). Content that is not base64 is left out and logged, like a refused file:
    the customer's words still arrive."""
    files = []
    for attachment in attachments:
        name = attachment.get("filename") or "attachment"
        try:
            # Providers wrap base64 at 76 columns; anything else outside the alphabet is an error.
            data = base64.b64decode("".join(attachment["content"].split()), validate=True)
        except (binascii.Error, ValueError):
            logger.info("inbound email: %s left out: not base64", name)
            continue
        if data:
            files.append(ContentFile(data, name=name))
        else:
            logger.info("inbound email: %s left out: empty", name)
    return files


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return html_to_text(content) if part.get_content_type() == "text/html" else content


class _TextOfHtml(HTMLParser):
    """Text of an HTML email in one linear pass (no regex over untrusted HTML): without
    scripts and styles, and without blockquotes, where mail clients put the quoted history."""

    SKIPPED = {"script", "style", "head", "title", "blockquote"}
    BREAKS = {"p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.SKIPPED:
            self.skipping.append(tag)
        elif tag == "br" and not self.skipping:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and tag == self.skipping[-1]:
            self.skipping.pop()
        elif tag in self.BREAKS and not self.skipping:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data.replace("\r", " ").replace("\n", " "))  # source layout


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- Quoted text -----------------------------------------------------------------------------

# "On Mon, 5 Jan 2026 at 09:00, Support <s@x> wrote:" (Gmail, Apple Mail, Thunderbird) and
# "5 Oca 2026 Pzt, 09:00 tarihinde Destek <d@x> şunu yazdı:" (Gmail in Turkish).
ATTRIBUTION = re.compile(r"^\s*(On\s.*\bwrote|.*\btarihinde\b.*\byazdı)\s*:\s*$", re.I)
ATTRIBUTION_START = re.compile(r"^\s*On\s|\btarihinde\b", re.I)  # may wrap onto a 2nd line
SEPARATOR = re.compile(
    r"^\s*(-{2,}\s*(Original Message|Orijinal (İleti|Mesaj)|Forwarded message|"
    r"İletilen ileti)\s*-{2,}|_{20,})\s*$",
    re.I,
)
OUTLOOK_FROM = re.compile(r"^\s*\*?(From|Kimden)\s*:", re.I)
OUTLOOK_NEXT = re.compile(r"^\s*\*?(Sent|Date|To|Gönderildi|Tarih|Kime)\s*:", re.I)
SIGNATURE = "-- "  # RFC 3676 signature separator
MAX_HEADER_LINE = 1000  # also keeps the patterns' backtracking small on hostile input


def strip_quoted(text: str) -> str:
    """What the customer wrote: without ">" lines, the quoted history after an
    "On … wrote:" / "… tarihinde … yazdı:" line (or a forward/Outlook header) and a signature."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        pair = f"{line} {following}"
        if len(pair) > MAX_HEADER_LINE:  # a quote header is short; long lines are text
            continue
        if (
            ATTRIBUTION.match(line)
            or (ATTRIBUTION_START.search(line) and ATTRIBUTION.match(pair))
            or SEPARATOR.match(line)
            or (OUTLOOK_FROM.match(line) and OUTLOOK_NEXT.match(following))
            or line == SIGNATURE
        ):
            lines = lines[:index]
            break
    kept = [line.rstrip() for line in lines if not line.lstrip().startswith(">")]
    return "\n".join(kept).strip()


def message_body(email: InboundEmail, *, with_subject: bool, has_files: bool = False) -> str:
    body = strip_quoted(email.text).replace("\x00", "")  # PostgreSQL text holds no NUL
    subject = " ".join(email.subject.split()).replace("\x00", "")
    if with_subject and subject:
        body = f"{subject}\n\n{body}".strip()
    if not body and not has_files:
        message = _("The email has no text of its own (only quoted text, or nothing).")
        raise InvalidInput(message, code="empty", fields={"text": message})
    limit = settings.HELPDESK_MAX_MESSAGE_LENGTH
    return body if len(body) <= limit else body[: limit - 1] + "…"


def client_id_of(email: InboundEmail) -> str:
    """The message's idempotency key: its Message-ID (or, lacking one, a digest of it)."""
    max_length = Message._meta.get_field("client_id").max_length
    key = email.message_id or "\n".join([email.sender.lower(), email.subject, email.text])
    client_id = f"email:{key}"
    if len(client_id) > max_length or not email.message_id:
        client_id = "email:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()
    return client_id


# --- Where it goes ---------------------------------------------------------------------------


@dataclass
class Received:
    status: str  # "created", "duplicate" or "ignored"
    conversation: Conversation | None = None
    message: Message | None = None
    new_conversation: bool = False
    reason: str = ""


def receive_email(email: InboundEmail) -> Received:
    if email.auto_submitted:
        return Received("ignored", reason="auto_submitted")
    client_id = client_id_of(email)
    conversation = conversation_replied_to(email)
    files = accepted_files(email)
    if conversation is not None:
        message, created = services.message_post(
            conversation=conversation,
            author=services.Author.customer(),
            body=message_body(email, with_subject=False, has_files=bool(files)),
            client_id=client_id,
            files=files,
        )
        return Received("created" if created else "duplicate", conversation, message)
    conversation, created = services.conversation_start(
        customer=customer_for(email),
        body=message_body(email, with_subject=True, has_files=bool(files)),
        client_id=client_id,
        channel=Channel.EMAIL,
        files=files,
    )
    message = conversation.messages.filter(client_id=client_id).first()
    return Received("created" if created else "duplicate", conversation, message, created)


def conversation_replied_to(email: InboundEmail) -> Conversation | None:
    """The conversation this email answers, when its sender is that conversation's customer."""
    candidates = [
        conversation_id
        for address in email.recipients
        if (conversation_id := conversation_id_from_reply_address(address))
    ]
    referenced = email.in_reply_to + email.references
    if referenced:
        candidates += (
            SentEmail.objects.filter(message_id__in=referenced)
            .order_by("-sent_at")
            .values_list("conversation_id", flat=True)
        )
    for conversation_id in candidates:
        conversation = (
            Conversation.objects.select_related("customer").filter(pk=conversation_id).first()
        )
        if conversation and conversation.customer.email.lower() == email.sender.lower():
            return conversation
        if conversation:  # a forward, or someone else: their own conversation, not this one
            logger.info("inbound email for #%s from another sender", conversation_id)
    return None


def customer_for(email: InboundEmail) -> Customer:
    """The customer with this address (the most recently active one), or a new one."""
    customer = (
        Customer.objects.filter(email__iexact=email.sender)
        .annotate(last_activity=Max("conversations__last_activity_at"))
        .order_by(F("last_activity").desc(nulls_last=True), "-pk")
        .first()
    )
    if customer is None:
        name = " ".join(email.sender_name.split())[:200]
        customer = services.customer_create(name=name, email=email.sender)
    return customer
