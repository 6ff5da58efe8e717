"""Email continuity, outbound: agent replies a customer missed go out by email.

receivers.py hears every public agent reply. A customer with an open widget socket sees it
live (it is marked seen); an offline customer with an email address gets the
`send_reply_email` task (tasks.py), scheduled once per HELPDESK_EMAIL_DELAY_SECONDS window so
a burst of replies makes one email. The task calls `send_unsent_replies`, which

1. skips (and marks the replies seen) when the customer came online meanwhile;
2. *claims* the unsent public agent replies under the EmailNotice row lock;
3. sends one email listing them, with a signed resume link, a Message-ID we keep (SentEmail)
   and, with HELPDESK_INBOUND_DOMAIN, a signed Reply-To address (inbound.py reads both);
4. marks them sent; on failure releases the claim, so the retried task sends them then.

A task run twice finds nothing left to claim: nothing is mailed twice. Only a crash between
the mail server's "accepted" and the commit of step 4 can repeat an email, once the claim's
lease has run out (we prefer that to losing a reply).

This module writes EmailNotice and SentEmail only: bookkeeping of emails, not conversation
state, which changes through services.py alone.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext, ngettext

from ..files import links
from ..ids import parse_id
from ..live.presence import customer_is_online
from ..models import (
    Attachment,
    AuthorKind,
    Conversation,
    Customer,
    EmailNotice,
    EmailStatus,
    Message,
    SentEmail,
)
from ..people import authors_with_profiles, public_name

logger = logging.getLogger(__name__)


def claim_lease() -> timedelta:
    """Longer than any SMTP conversation; then a claim is abandoned (its worker died)."""
    return timedelta(seconds=settings.HELPDESK_EMAIL_CLAIM_LEASE_SECONDS)


MAX_REPLIES_PER_EMAIL = 50  # the rest goes in the next email, scheduled right after
REFERENCES_KEPT = 10  # earlier Message-IDs named in References, for threading in mail clients
RESUME_SALT = "helpdesk.resume"
REPLY_ADDRESS_SALT = "helpdesk.reply-address"
REPLY_ADDRESS_DIGITS = 24  # hex digits of HMAC: 96 bits, and a local part well under 64 chars


# --- Signed links and addresses --------------------------------------------------------------


class BadResumeLink(Exception):
    def __init__(self, expired: bool = False):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def resume_token(customer_id: int, conversation_id: int) -> str:
    """Names the customer and the conversation, signed and dated; never the widget token."""
    return signing.TimestampSigner(salt=RESUME_SALT).sign(f"{customer_id}.{conversation_id}")


def read_resume_token(token: str) -> tuple[int, int]:
    """(customer id, conversation id) of a valid, unexpired token; BadResumeLink otherwise."""
    max_age = timedelta(days=settings.HELPDESK_RESUME_LINK_DAYS)
    try:
        value = signing.TimestampSigner(salt=RESUME_SALT).unsign(token, max_age=max_age)
    except signing.SignatureExpired as error:
        raise BadResumeLink(expired=True) from error
    except signing.BadSignature as error:
        raise BadResumeLink() from error
    customer_id, _, conversation_id = value.partition(".")
    customer_pk, conversation_pk = parse_id(customer_id), parse_id(conversation_id)
    if customer_pk is None or conversation_pk is None:
        raise BadResumeLink()
    return customer_pk, conversation_pk


def resume_url(conversation: Conversation) -> str:
    token = resume_token(conversation.customer_id, conversation.pk)
    return settings.HELPDESK_PUBLIC_URL.rstrip("/") + reverse("widget:resume", args=[token])


def _reply_signature(conversation_id: int) -> str:
    digest = salted_hmac(REPLY_ADDRESS_SALT, str(conversation_id), algorithm="sha256")
    return digest.hexdigest()[:REPLY_ADDRESS_DIGITS]


def reply_address(conversation_id: int) -> str:
    """reply+<id>.<hmac>@HELPDESK_INBOUND_DOMAIN, or "" without an inbound domain.

    Lower-case hex on purpose: some mail systems change the case of local parts.
    """
    domain = settings.HELPDESK_INBOUND_DOMAIN.strip()
    if not domain:
        return ""
    return f"reply+{conversation_id}.{_reply_signature(conversation_id)}@{domain}"


def conversation_id_from_reply_address(address: str) -> int | None:
    """The conversation a reply+… address names, if its signature is right."""
    local = address.rpartition("@")[0].lower()
    prefix, _, token = local.partition("+")
    conversation_id, _, signature = token.partition(".")
    pk = parse_id(conversation_id)
    if prefix != "reply" or pk is None:
        return None
    if not constant_time_compare(signature, _reply_signature(pk)):
        return None
    return pk


def message_id_domain() -> str:
    domain = settings.HELPDESK_INBOUND_DOMAIN.strip()
    return domain or urlsplit(settings.HELPDESK_PUBLIC_URL).hostname or "localhost"


# --- Who gets what ---------------------------------------------------------------------------


def customer_language(customer: Customer) -> str:
    """The customer's language when we know it and speak it, else the site's."""
    known = {code for code, _name in settings.LANGUAGES}
    language = (customer.language or "").lower().split("-")[0]
    return language if language in known else settings.LANGUAGE_CODE


def unsent_replies(conversation: Conversation, *, after: int) -> Any:
    """Public agent replies after `after` and after the customer's own last message (someone
    who wrote after a reply has seen it), oldest first."""
    last_from_customer = conversation.messages.filter(author_kind=AuthorKind.CUSTOMER).aggregate(
        last=Max("id")
    )["last"]
    return (
        Message.objects.filter(
            conversation=conversation,
            author_kind=AuthorKind.AGENT,
            private=False,
            id__gt=max(after, last_from_customer or 0),
        )
        .prefetch_related(authors_with_profiles())
        .order_by("id")
    )


def conversations_with_missed_replies(*, older_than: timedelta, within: timedelta) -> list[int]:
    """Conversations with a public agent reply sent between `within` and `older_than` ago
    that is neither emailed, seen, nor answered by the customer: an email whose scheduled
    task was lost (an enqueue while Redis was down, a Redis restart) or never ran."""
    now = timezone.now()
    answered = Message.objects.filter(
        conversation=OuterRef("conversation"),
        author_kind=AuthorKind.CUSTOMER,
        id__gt=OuterRef("id"),
    )
    missed = (
        Message.objects.filter(
            author_kind=AuthorKind.AGENT,
            private=False,
            created_at__gte=now - within,
            created_at__lte=now - older_than,
        )
        .exclude(conversation__customer__email="")
        .filter(
            Q(conversation__email_notice__isnull=True)
            | Q(id__gt=F("conversation__email_notice__last_message_id_sent"))
        )
        .exclude(Exists(answered))
    )
    return sorted(set(missed.values_list("conversation_id", flat=True)))


def has_unsent_replies(conversation_id: int) -> bool:
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        return False
    notice = EmailNotice.objects.filter(conversation_id=conversation_id).first()
    return unsent_replies(conversation, after=notice.last_message_id_sent if notice else 0).exists()


def _locked_notice(conversation_id: int) -> EmailNotice:
    EmailNotice.objects.get_or_create(conversation_id=conversation_id)
    return EmailNotice.objects.select_for_update().get(conversation_id=conversation_id)


@transaction.atomic
def mark_replies_seen(conversation_id: int, *, through: int) -> None:
    """The customer saw replies up to `through` in the widget: they need no email."""
    if not Conversation.objects.filter(pk=conversation_id).exists():
        return
    notice = _locked_notice(conversation_id)
    if through > notice.last_message_id_sent:
        notice.last_message_id_sent = through
        if notice.claimed_at is None:
            notice.status = EmailStatus.SKIPPED
        notice.save(update_fields=["last_message_id_sent", "status"])


# --- Sending ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    conversation: Conversation
    replies: list[Message]
    claimed_at: datetime

    @property
    def through(self) -> int:
        return self.replies[-1].pk


class Outcome:
    SENT = "sent"
    NOTHING = "nothing"  # no unsent reply, no email address, or no conversation
    ONLINE = "online"  # the customer is in the widget now and sees the replies there
    BUSY = "busy"  # another attempt holds the claim; it schedules what it leaves behind


def send_unsent_replies(conversation_id: int) -> str:
    """Email the replies this conversation's customer has not had. Returns an Outcome.

    Raises what the mail backend raises, after releasing the claim: the caller retries.
    """
    conversation = Conversation.objects.select_related("customer").filter(pk=conversation_id)
    conversation = conversation.first()
    if conversation is None or not conversation.customer.email:
        return Outcome.NOTHING
    if customer_is_online(conversation.customer_id):
        latest = (
            Message.objects.filter(
                conversation=conversation, author_kind=AuthorKind.AGENT, private=False
            )
            .aggregate(last=Max("id"))
            .get("last")
        )
        if latest:
            mark_replies_seen(conversation_id, through=latest)
        return Outcome.ONLINE
    claim = claim_unsent_replies(conversation_id)
    if not isinstance(claim, Claim):
        return claim
    try:
        email = build_reply_email(claim.conversation, claim.replies)
        email.send()
    except Exception as error:
        release_claim(claim, error)
        raise
    mark_sent(claim, email)
    return Outcome.SENT


@transaction.atomic
def claim_unsent_replies(conversation_id: int) -> "Claim | str":
    """The unsent replies, now ours to send; or the Outcome saying why there are none."""
    now = timezone.now()
    notice = _locked_notice(conversation_id)
    if notice.claimed_at and notice.claimed_at > now - claim_lease():
        return Outcome.BUSY
    conversation = Conversation.objects.select_related("customer", "team").get(pk=conversation_id)
    if not conversation.customer.email:
        return Outcome.NOTHING
    replies = list(
        unsent_replies(conversation, after=notice.last_message_id_sent)[:MAX_REPLIES_PER_EMAIL]
    )
    if not replies:
        return Outcome.NOTHING
    notice.claimed_through = replies[-1].pk
    notice.claimed_at = now
    notice.status = EmailStatus.SENDING
    notice.save(update_fields=["claimed_through", "claimed_at", "status"])
    return Claim(conversation, replies, now)


@transaction.atomic
def mark_sent(claim: Claim, email: EmailMultiAlternatives) -> None:
    conversation_id = claim.conversation.pk
    notice = _locked_notice(conversation_id)
    notice.last_message_id_sent = max(notice.last_message_id_sent, claim.through)
    notice.status = EmailStatus.SENT
    notice.sent_at = timezone.now()
    notice.last_error = ""
    if notice.claimed_at == claim.claimed_at:  # still ours (not taken over after the lease)
        notice.claimed_through = notice.claimed_at = None
    notice.save()
    SentEmail.objects.create(
        conversation_id=conversation_id,
        message_id=email.extra_headers["Message-ID"].strip("<>"),
        to=email.to[0],
        first_message_id=claim.replies[0].pk,
        last_message_id=claim.through,
        sent_at=notice.sent_at,
    )


@transaction.atomic
def release_claim(claim: Claim, error: Exception) -> None:
    """Leave the replies claimable by the retry."""
    notice = _locked_notice(claim.conversation.pk)
    if notice.claimed_at != claim.claimed_at:
        return
    notice.claimed_through = notice.claimed_at = None
    notice.status = EmailStatus.FAILED
    notice.last_error = f"{type(error).__name__}: {error}"[:500]
    notice.save(update_fields=["claimed_through", "claimed_at", "status", "last_error"])
    logger.warning("reply email for conversation %s failed: %s", claim.conversation.pk, error)


# --- The message -----------------------------------------------------------------------------


def sender_name(message: Message) -> str:
    """An agent's name as customers see it (people.public_name): never their address."""
    return public_name(message.agent) if message.agent else gettext("Support agent")


def from_whom(conversation: Conversation) -> str:
    name = " ".join(conversation.team.name.split()) if conversation.team else ""
    return name or gettext("Support")


def reply_subject(conversation: Conversation, count: int) -> str:
    return ngettext(
        "New reply from %(team)s — conversation #%(id)s",
        "%(count)d new replies from %(team)s — conversation #%(id)s",
        count,
    ) % {"team": from_whom(conversation), "id": conversation.pk, "count": count}


def build_reply_email(conversation: Conversation, replies: list[Message]) -> EmailMultiAlternatives:
    """The email listing `replies` (text and HTML, in the customer's language)."""
    customer = conversation.customer
    language = customer_language(customer)
    address = reply_address(conversation.pk)
    attached, files = reply_files(conversation, replies)
    with translation.override(language):
        context = {
            "conversation": conversation,
            "customer": customer,
            "team": from_whom(conversation),
            "replies": [
                {"author": sender_name(reply), "body": reply.body, "files": files[reply.pk]}
                for reply in replies
            ],
            "resume_url": resume_url(conversation),
            "can_reply_by_email": bool(address),
            "language": language,
        }
        subject = reply_subject(conversation, len(replies))
        text = render_to_string("emails/reply_notification.txt", context)
        html = render_to_string("emails/reply_notification.html", context)
    earlier = list(
        conversation.sent_emails.order_by("-sent_at", "-id").values_list("message_id", flat=True)[
            :REFERENCES_KEPT
        ]
    )
    headers = {
        "Message-ID": make_msgid(
            idstring=f"conversation-{conversation.pk}", domain=message_id_domain()
        ),
        "Auto-Submitted": "auto-generated",  # RFC 3834: autoresponders should not answer
        "Content-Language": language,
    }
    if earlier:
        headers["In-Reply-To"] = f"<{earlier[0]}>"
        headers["References"] = " ".join(f"<{message_id}>" for message_id in reversed(earlier))
    email = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[customer.email],
        reply_to=[address] if address else None,
        headers=headers,
    )
    email.attach_alternative(html, "text/html")
    for attachment in attached:
        with attachment.file.open("rb") as data:
            email.attach(attachment.name, data.read(), attachment.content_type)
    return email


def reply_files(
    conversation: Conversation, replies: list[Message]
) -> tuple[list[Attachment], dict[int, list[dict[str, Any]]]]:
    """The replies' files: attached to the email while they fit in
    HELPDESK_ATTACHMENT_EMAIL_MAX_BYTES together, the others as signed links that live as long
    as the resume link. Returns (the files to attach, {reply id: [{"name", "size", "url"?}]})."""
    budget = settings.HELPDESK_ATTACHMENT_EMAIL_MAX_BYTES
    attached: list[Attachment] = []
    listed: dict[int, list[dict[str, Any]]] = {reply.pk: [] for reply in replies}
    reader = links.customer_reader(conversation.customer_id)
    lifetime = settings.HELPDESK_RESUME_LINK_DAYS * 86400
    base = settings.HELPDESK_PUBLIC_URL.rstrip("/")
    for attachment in Attachment.objects.filter(message__in=replies).order_by("id"):
        item: dict[str, Any] = {"name": attachment.name, "size": attachment.size}
        if attachment.file and attachment.size <= budget:
            budget -= attachment.size
            attached.append(attachment)
        else:
            item["url"] = base + links.sign(attachment.pk, reader, seconds=lifetime)
        listed[attachment.message_id].append(item)
    return attached, listed
