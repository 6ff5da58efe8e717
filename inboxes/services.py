"""Inboxes: creating them, receiving what platforms send (through the core's services) and
delivering agents' replies. The platforms themselves are plug-ins (registry.py)."""

import dataclasses
import hashlib
import re
import time
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations.errors import HelpdeskError, InvalidInput, NotAllowed
from conversations.files.checks import CheckedFile, StoredFile, check_file, too_many_message
from conversations.models import (
    AuthorKind,
    Channel,
    Conversation,
    Customer,
    Delivery,
    Inbox,
    Message,
)
from conversations.services import (
    Author,
    check_body,
    conversation_start,
    customer_create,
    customer_update_profile,
    message_post,
    message_set_delivery,
)

from . import credentials, targets
from .models import DeliveryAttempt, EarlyStatus
from .registry import ChannelPlugin, DeliveryError, Inbound, Media, StatusUpdate, plugin_for

SETTING_MAX_LENGTH = 1000


# --- Inboxes ------------------------------------------------------------------------------------


def check_channel(channel: Any) -> ChannelPlugin:
    plugin = plugin_for(channel) if isinstance(channel, str) else None
    if plugin is None or not plugin.webhook:  # the widget's and email's inboxes are made once
        message = _("Unknown channel.")
        raise InvalidInput(message, fields={"channel": message})
    return plugin


def check_settings(plugin: ChannelPlugin, given: dict[str, Any]) -> dict[str, str]:
    """The channel's settings as stored: every one given (or with a default), secrets sealed."""
    stored, errors = {}, {}
    for setting in plugin.settings:
        value = given.get(setting.name)
        if value in (None, "") and setting.default:
            continue  # the operator's default (HELPDESK_…_API_BASE_URL) applies
        if not isinstance(value, str) or not value.strip() or len(value) > SETTING_MAX_LENGTH:
            errors[setting.name] = _("Required: text of at most %(max)d characters.") % {
                "max": SETTING_MAX_LENGTH
            }
            continue
        value = value.strip()
        if setting.pattern and not re.fullmatch(setting.pattern, value):
            errors[setting.name] = str(setting.pattern_hint)
            continue
        if setting.url:
            targets.check_target(value, field=setting.name)
        stored[setting.name] = credentials.seal(value) if setting.secret else value
    if errors:
        raise InvalidInput(_("Some channel settings are missing or wrong."), fields=errors)
    return stored


def check_webhook_url(channel: str, webhook_url: Any) -> None:
    """The api channel needs a URL the helpdesk may call; the other channels take none."""
    if channel == Channel.API:
        if not webhook_url:
            message = _("The api channel posts agents' replies to this URL: give one.")
            raise InvalidInput(message, fields={"webhook_url": message})
        targets.check_target(webhook_url, field="webhook_url")
    elif webhook_url:
        message = _("Only the api channel posts replies to a webhook URL.")
        raise InvalidInput(message, fields={"webhook_url": message})


@transaction.atomic
def inbox_create(
    *,
    channel: str,
    name: Any,
    team: Any = None,
    webhook_url: Any = "",
    channel_settings: dict[str, Any] | None = None,
) -> tuple[Inbox, str]:
    """A new inbox; returns it with its secret (the api channel's; "" for others), which is
    shown this once and stored sealed."""
    plugin = check_channel(channel)
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        message = _("Give the inbox a name (at most 100 characters).")
        raise InvalidInput(message, fields={"name": message})
    stored = check_settings(plugin, channel_settings or {})
    check_webhook_url(channel, webhook_url)
    secret = ""
    if channel == Channel.API:
        secret = credentials.new_secret()
        stored["secret"] = credentials.seal(secret)
    inbox = Inbox.objects.create(
        channel=channel, name=name.strip(), team=team, webhook_url=webhook_url or "",
        settings=stored,
    )  # fmt: skip
    return inbox, secret


def public_settings(inbox: Inbox) -> dict[str, str]:
    """The settings an admin may read back: none of the secrets."""
    plugin = plugin_for(inbox.channel)
    shown = {setting.name for setting in plugin.settings if not setting.secret} if plugin else set()
    return {name: value for name, value in inbox.settings.items() if name in shown}


# --- Inbound ------------------------------------------------------------------------------------


def receive(inbox: Inbox, items: list[Inbound | StatusUpdate]) -> dict[str, int]:
    """Store what a webhook brought; counts of created, duplicate, status and ignored items."""
    counts: Counter[str] = Counter(created=0, duplicate=0, statuses=0, ignored=0)
    for item in items:
        if isinstance(item, Inbound):
            try:
                item, files = fetch_media(inbox=inbox, inbound=item)
                _message, created = receive_message(inbox=inbox, inbound=item, files=files)
            except InvalidInput:  # white space alone: a refusal would only be retried
                counts["ignored"] += 1
                continue
            counts["created" if created else "duplicate"] += 1
        else:
            counts["statuses"] += apply_status(inbox=inbox, update=item)
    return dict(counts)


def client_id_for(external_id: str) -> str:
    """The message's client_id: the platform's id of it, so a webhook delivered twice posts
    once (message_post is idempotent on client_id within the conversation)."""
    if len(external_id) <= 90:
        return f"ext:{external_id}"
    return "ext:" + hashlib.sha256(external_id.encode()).hexdigest()


def fetch_media(*, inbox: Inbox, inbound: Inbound) -> tuple[Inbound, list[CheckedFile]]:
    """The inbound message's files, downloaded and checked with the attachments' rules.

    It runs in the webhook's request, before the message's transaction (no lock is held
    while the platform answers), and only for a message not stored yet: a webhook delivered
    again downloads nothing. A file that cannot be kept (too large, a refused type, a failed
    download) becomes a note in the message's body instead: the message itself is never lost.
    """
    if not inbound.media:
        return inbound, []
    client_id = client_id_for(inbound.external_id)
    if Message.objects.filter(conversation__inbox=inbox, client_id=client_id).exists():
        return inbound, []  # a duplicate: message_post answers it without the files
    files, notes = [], []
    for index, media in enumerate(inbound.media):
        if index >= settings.HELPDESK_ATTACHMENT_MAX_FILES:
            notes.append(_not_kept(media, too_many_message()))
            continue
        try:
            files.append(check_file(media.fetch()))
        except HelpdeskError as error:
            notes.append(_not_kept(media, str(error.message)))
        except DeliveryError:
            notes.append(_not_kept(media, _("it could not be downloaded from the platform.")))
    body = "\n".join(part for part in (inbound.body, *notes) if part)
    return dataclasses.replace(inbound, body=body, media=()), files


def _not_kept(media: Media, reason: str) -> str:
    return _("[The file “%(name)s” was not kept: %(reason)s]") % {
        "name": media.name or _("file"),
        "reason": reason,
    }


@transaction.atomic
def receive_message(
    *, inbox: Inbox, inbound: Inbound, files: list[CheckedFile] | None = None
) -> tuple[Message, bool]:
    """A customer's message from a platform: the customer's one conversation in this inbox
    (started, or continued: a resolved one reopens), with its file if one was kept
    (fetch_media). Returns (message, created)."""
    files = files or []
    body = inbound.body[: settings.HELPDESK_MAX_MESSAGE_LENGTH]
    body = check_body(body, may_be_empty=bool(files))
    customer = _customer(inbox, inbound)
    Customer.objects.select_for_update().get(pk=customer.pk)  # one conversation per customer
    client_id = client_id_for(inbound.external_id)
    conversation = (
        Conversation.objects.filter(customer=customer, inbox=inbox).order_by("-id").first()
    )
    if conversation is None:
        conversation, created = conversation_start(
            customer=customer,
            body=body,
            client_id=client_id,
            channel=inbox.channel,
            team=inbox.team,
            inbox=inbox,
            message_external_id=inbound.external_id,
            files=files,
        )
        return conversation.messages.get(client_id=client_id), created
    return message_post(
        conversation=conversation,
        author=Author.customer(),
        body=body,
        client_id=client_id,
        external_id=inbound.external_id,
        files=files,
    )


def _customer(inbox: Inbox, inbound: Inbound) -> Customer:
    """The platform's user as a customer of this inbox (a new one the first time)."""
    external_id = f"inbox-{inbox.pk}:{inbound.sender}"
    customer = Customer.objects.filter(external_id=external_id).first()
    if customer is None:
        try:
            with transaction.atomic():  # a savepoint: two webhooks may race to create it
                customer = customer_create(name=inbound.name[:200], external_id=external_id)
        except IntegrityError:
            customer = Customer.objects.get(external_id=external_id)
    return customer_update_profile(customer=customer, name=inbound.name[:200])


def apply_status(*, inbox: Inbox, update: StatusUpdate) -> int:
    """A platform's delivery or read status; returns how many replies moved forward. Late ones
    change nothing (Delivery.advances); one for a message id not noted yet waits for it."""
    replies = Message.objects.filter(conversation__inbox=inbox, author_kind=AuthorKind.AGENT)
    if update.external_id:
        replies = replies.filter(external_id=update.external_id)
        if not replies.exists():
            EarlyStatus.objects.create(
                inbox=inbox, external_id=update.external_id, delivery=update.delivery
            )
            # The send may have noted the id meanwhile, before this row existed: look again.
            return apply_early_statuses(inbox=inbox, external_id=update.external_id)
    elif update.sender and update.until:
        replies = replies.filter(
            conversation__customer__external_id=f"inbox-{inbox.pk}:{update.sender}",
            created_at__lte=update.until,
        ).exclude(delivery__in=["", Delivery.READ, Delivery.PENDING])
    else:
        return 0
    return sum(message_set_delivery(message=reply, delivery=update.delivery) for reply in replies)


def apply_early_statuses(*, inbox: Inbox, external_id: str) -> int:
    """Statuses that came before the helpdesk noted the message's id, applied now (both sides
    call this after their own write, so one of them sees the other's)."""
    reply = Message.objects.filter(
        conversation__inbox=inbox, author_kind=AuthorKind.AGENT, external_id=external_id
    ).first()
    early = EarlyStatus.objects.filter(inbox=inbox, external_id=external_id)
    if reply is None or not early:
        return 0
    moved = sum(message_set_delivery(message=reply, delivery=status.delivery) for status in early)
    early.delete()
    return moved


# --- Outbound -----------------------------------------------------------------------------------


def check_reply(*, conversation: Conversation, body: str, files: Sequence[StoredFile]) -> None:
    """The core's question (seams.reply_check): may this reply leave through the channel now?"""
    plugin = plugin_for(conversation.inbox.channel)
    if plugin is None:
        raise NotAllowed(_("This conversation's channel is not installed."), code="no_channel")
    plugin.check_reply(conversation.inbox, conversation, body, files)


def deliver(*, message_id: int, attempt: int) -> bool:
    """One attempt to send a pending reply; logged in DeliveryAttempt. Returns True when done
    (sent, failed for good, or nothing to do), False when it should be tried again."""
    message = (
        Message.objects.select_related("conversation__inbox", "conversation__customer", "agent")
        .filter(pk=message_id)
        .first()
    )
    if message is None or message.delivery != Delivery.PENDING:
        return True  # already sent (a task run twice), or retried by hand meanwhile
    inbox = message.conversation.inbox
    plugin = plugin_for(inbox.channel) if inbox else None
    started = time.monotonic()
    try:
        if plugin is None:
            raise DeliveryError("the conversation's channel is not installed", permanent=True)
        external_id = plugin.send(inbox, message)
    except (DeliveryError, InvalidInput) as error:
        permanent = getattr(error, "permanent", True)  # InvalidInput: a target now refused
        _log(
            message, attempt, started, ok=False, status=getattr(error, "status", None), error=error
        )
        if permanent:
            message_set_delivery(message=message, delivery=Delivery.FAILED)
        return permanent
    _log(message, attempt, started, ok=True)
    message_set_delivery(message=message, delivery=Delivery.SENT, external_id=external_id)
    if external_id:
        apply_early_statuses(inbox=inbox, external_id=external_id)
    return True


def give_up(*, message_id: int) -> None:
    """The last retry failed: the agent sees the reply as failed (and may retry it)."""
    message = Message.objects.filter(pk=message_id).first()
    if message is not None:
        message_set_delivery(message=message, delivery=Delivery.FAILED)


def message_retry(*, message: Message) -> Message:
    """An agent sends a failed reply again: pending, and delivered like a new one."""
    if message.delivery != Delivery.FAILED:
        raise NotAllowed(_("Only a reply that failed can be sent again."), code="not_failed")
    message_set_delivery(message=message, delivery=Delivery.PENDING)
    message.refresh_from_db()
    return message


def _log(
    message: Message,
    attempt: int,
    started: float,
    *,
    ok: bool,
    status: int | None = None,
    error: Exception | None = None,
) -> None:
    DeliveryAttempt.objects.create(
        message=message,
        number=attempt,
        ok=ok,
        status_code=status,
        error=str(error)[:500] if error else "",
        duration_ms=int((time.monotonic() - started) * 1000),
    )


STRANDED_AFTER = timedelta(minutes=2)
EARLY_STATUS_KEPT = timedelta(days=1)


def stranded_replies() -> list[int]:
    """Pending replies older than STRANDED_AFTER that no attempt was ever made for."""
    return list(
        Message.objects.filter(
            delivery=Delivery.PENDING, created_at__lt=timezone.now() - STRANDED_AFTER
        )
        .exclude(delivery_attempts__isnull=False)
        .values_list("pk", flat=True)[:500]
    )


def forget_old_early_statuses() -> int:
    """Statuses of messages the helpdesk never sent (the platform's own app) are not kept."""
    deleted, _ = EarlyStatus.objects.filter(at__lt=timezone.now() - EARLY_STATUS_KEPT).delete()
    return deleted
