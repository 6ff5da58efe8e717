"""Every state change of customers and conversations; one function per use case.

Each runs in a transaction, locks the conversation row it changes, asks the lifecycle (the
rules, lifecycle.py) what the change does, saves the row and appends its events in that same
transaction (events.record_event), so the log and the state never disagree.
All take an optional `at` so that imports replay history with its original timestamps
under exactly the rules of live use.
"""

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from . import lifecycle, mentions, selectors, visitor_context
from .errors import Forbidden, InvalidInput, NotAllowed
from .events import record_event
from .files import orphans, thumbnails
from .files import storage as files_storage
from .files.checks import LinkedFile, StoredFile, check_files
from .live.visitors import broadcast_visitor
from .models import (
    HOME_CHANNELS,
    Attachment,
    AuthorKind,
    Channel,
    Conversation,
    Customer,
    CustomerNote,
    Delivery,
    EventType,
    Inbox,
    Label,
    Message,
    NpsResponse,
    PageView,
    Priority,
    PublicProfile,
    Rating,
    ReadMarker,
    SavedView,
    Status,
    Team,
)
from .seams import Invitation, assignment_policy, bot_gate, reply_check


@dataclass(frozen=True)
class Author:
    """Who writes a message. `agent` is the user for agent messages."""

    kind: AuthorKind
    agent: Any = None

    @classmethod
    def customer(cls) -> "Author":
        return cls(AuthorKind.CUSTOMER)

    @classmethod
    def of_agent(cls, user: Any) -> "Author":
        return cls(AuthorKind.AGENT, user)

    @classmethod
    def bot(cls) -> "Author":
        """The help-center bot: never a reply in any metric (a handover starts the clocks)."""
        return cls(AuthorKind.BOT)

    @classmethod
    def system(cls) -> "Author":
        """The helpdesk itself (automatic replies): never a reply in any metric."""
        return cls(AuthorKind.SYSTEM)


class _Unset:
    pass


UNSET: Any = _Unset()


# --- Validation ------------------------------------------------------------------------------


def check_body(body: Any, limit: int | None = None, *, may_be_empty: bool = False) -> str:
    """A message body is plain text, stored as written; it must say something and fit.

    `limit` defaults to settings.HELPDESK_MAX_MESSAGE_LENGTH; the bulk import reads it once.
    `may_be_empty`: the message carries files, which say it all.
    """
    if may_be_empty and (body is None or (isinstance(body, str) and not body.strip())):
        return ""
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput(
            _("Write a message first."), fields={"body": _("This field is required.")}
        )
    limit = limit or settings.HELPDESK_MAX_MESSAGE_LENGTH
    if len(body) > limit:
        message = _("Messages are limited to %(limit)d characters.") % {"limit": limit}
        raise InvalidInput(message, code="too_long", fields={"body": message})
    return body


def check_client_id(client_id: Any) -> str:
    max_length = Message._meta.get_field("client_id").max_length
    if not isinstance(client_id, str) or not client_id.strip() or len(client_id) > max_length:
        message = _("client_id must be a non-empty string of at most %(max)d characters.") % {
            "max": max_length
        }
        raise InvalidInput(message, fields={"client_id": message})
    return client_id


def default_team() -> Any:
    return Team.objects.filter(is_default=True).first()


# --- Customers -------------------------------------------------------------------------------


def customer_create(
    *,
    name: str = "",
    email: str = "",
    identifier: str | None = None,
    external_id: str | None = None,
) -> Customer:
    return Customer.objects.create(
        name=name or "", email=email or "", identifier=identifier, external_id=external_id
    )


@transaction.atomic
def customer_update_profile(
    *, customer: Customer, name: Any = UNSET, email: Any = UNSET, language: Any = UNSET
) -> Customer:
    """Change the name, email and/or language of a customer; empty values keep what we know."""
    changed = []
    if name is not UNSET and name and name != customer.name:
        customer.name = name
        changed.append("name")
    if email is not UNSET and email and email != customer.email:
        customer.email = email
        changed.append("email")
    if language is not UNSET and language and language != customer.language:
        customer.language = language  # the widget's language: emails to them use it
        changed.append("language")
    if changed:
        customer.save(update_fields=changed)
    return customer


@transaction.atomic
def customer_identify(
    *, identifier: str, current: Customer | None = None, name: str = "", email: str = ""
) -> Customer:
    """The customer with this *verified* identifier: the same one on every device.

    The first time, an anonymous `current` customer (this browser's) takes the identifier and
    keeps its conversations; otherwise a new customer is created. Callers verify first.
    """
    customer = Customer.objects.filter(identifier=identifier).first()
    if customer is None and current is not None and current.identifier is None:
        customer = Customer.objects.select_for_update().get(pk=current.pk)
        if customer.identifier is None:
            customer.identifier = identifier
            customer.save(update_fields=["identifier"])
        else:  # another request identified it meanwhile; start over with fresh data
            customer = Customer.objects.filter(identifier=identifier).first()
    if customer is None:
        try:
            with transaction.atomic():  # a savepoint: two devices may race to create it
                customer = customer_create(name=name, email=email, identifier=identifier)
        except IntegrityError:
            customer = Customer.objects.get(identifier=identifier)
    return customer_update_profile(customer=customer, name=name, email=email)


# --- What agents know about a visitor (visitor_context.py checks it) -------------------------


@transaction.atomic
def pageview_record(
    *,
    customer: Customer,
    url: Any,
    title: Any = "",
    referrer: Any = "",
    user_agent: str = "",
    time_zone: Any = "",
) -> PageView:
    """Store a page the customer opened and what their browser says about itself; keeps the
    newest PAGEVIEWS_KEPT page views of the customer (older ones go in the same write)."""
    pageview = PageView.objects.create(
        customer=customer,
        url=visitor_context.check_page_url(url, field="url"),
        title=visitor_context.clean_title(title),
        referrer=visitor_context.check_page_url(referrer or "", field="referrer", required=False),
    )
    kept = customer.pageviews.order_by("-at", "-id")[: visitor_context.PAGEVIEWS_KEPT]
    customer.pageviews.exclude(pk__in=kept.values("pk")).delete()
    customer.browser = visitor_context.describe_user_agent(user_agent)[:100]
    customer.time_zone = visitor_context.check_time_zone(time_zone) or customer.time_zone
    customer.last_seen_at = pageview.at
    customer.save(update_fields=["browser", "time_zone", "last_seen_at"])
    # On the site now, live: robust, as a lost hint is repaired by the workspace's poll.
    transaction.on_commit(lambda: broadcast_visitor(customer.pk), robust=True)
    return pageview


@transaction.atomic
def customer_set_attributes(*, customer: Customer, attributes: Any) -> Customer:
    """Merge the embedding site's custom attributes into the customer's (null removes one)."""
    changes = visitor_context.check_attributes(attributes)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    merged = visitor_context.merged_attributes(customer.attributes or {}, changes)
    if merged != customer.attributes:
        customer.attributes = merged
        customer.save(update_fields=["attributes"])
    return customer


NOTE_LIMIT = 2000


def customer_note_create(*, customer: Customer, author: Any, body: Any) -> CustomerNote:
    """A note about the customer that every agent sees."""
    body = check_body(body, NOTE_LIMIT)
    return CustomerNote.objects.create(customer=customer, author=author, body=body)


def customer_note_delete(*, note: CustomerNote, by: Any) -> None:
    """Agents delete their own notes only."""
    if note.author_id != by.pk:
        raise NotAllowed(_("Only the note's author can delete it."))
    note.delete()


@transaction.atomic
def conversation_start_by_agent(
    *, customer: Customer, agent: Any, body: str, client_id: str, team: Any = None
) -> tuple[Conversation, bool]:
    """An agent reaches out to a visitor: a conversation assigned to the agent, whose first
    message is the agent's. The same client_id again returns the first conversation."""
    check_body(body)
    check_client_id(client_id)
    Customer.objects.select_for_update().get(pk=customer.pk)
    existing = (
        Message.objects.filter(conversation__customer=customer, client_id=client_id)
        .select_related("conversation")
        .first()
    )
    if existing:
        return existing.conversation, False
    conversation = conversation_create(
        customer=customer, channel=Channel.WEB, team=team, inbox=home_inbox(Channel.WEB)
    )
    check_assign(conversation=conversation, assignee=agent, by=agent)
    conversation_assign(conversation=conversation, assignee=agent, by=agent)
    message_post(
        conversation=conversation, author=Author.of_agent(agent), body=body, client_id=client_id
    )
    conversation.refresh_from_db()
    return conversation, True


# --- How an agent appears to customers (people.py reads it) ----------------------------------


def check_display_name(name: Any) -> str:
    """A display name is a name: some text (or none), without an email address in it."""
    if not isinstance(name, str):
        message = _("Must be a string.")
        raise InvalidInput(message, fields={"display_name": message})
    name = " ".join(name.split())  # one line: it heads messages and emails
    limit = PublicProfile._meta.get_field("display_name").max_length
    if len(name) > limit:
        message = _("At most %(limit)d characters.") % {"limit": limit}
        raise InvalidInput(message, fields={"display_name": message})
    if "@" in name:
        message = _("Customers see this name: write a name, not an email address.")
        raise InvalidInput(message, fields={"display_name": message})
    return name


def public_profile_save(*, user: Any, display_name: Any) -> PublicProfile:
    """Set the name customers see for this agent ("" goes back to the first and last name).

    Every later read shows it; live events already sent keep the name they carried."""
    profile, _created = PublicProfile.objects.update_or_create(
        user=user, defaults={"display_name": check_display_name(display_name)}
    )
    user.public_profile = profile  # a user object read before sees the new name too
    return profile


# --- Conversations ---------------------------------------------------------------------------


def _locked(
    conversation: Conversation,
    related: tuple[str, ...] = ("customer", "team", "assignee", "callback_requested_by"),
    within: QuerySet[Conversation] | None = None,
) -> Conversation:
    """The conversation, re-read under its row lock; callers use the returned object.

    `related` are read along (anything else loads on first use). With `within` (the
    conversations the caller may change) the same query checks access: one outside it
    raises Conversation.DoesNotExist.
    """
    conversations = Conversation.objects.all() if within is None else within
    return (
        conversations.select_for_update(of=("self",))
        .select_related(*related)
        .get(pk=conversation.pk)
    )


# Where each field of the lifecycle's State lives on the conversation row.
STATE_COLUMNS = {
    "status": "status",
    "cycle": "cycle",
    "assignee": "assignee_id",
    "snoozed_until": "snoozed_until",
    "waiting_since": "waiting_since",
    "resolved_at": "resolved_at",
    "last_activity_at": "last_activity_at",
    "preview": "last_message_preview",
    "with_bot": "with_bot",
}


def state_of(conversation: Conversation, *, rated_cycle: int = 0) -> lifecycle.State:
    """The lifecycle's view of a (locked) row. `rated_cycle` matters only when rating."""
    columns = {field: getattr(conversation, column) for field, column in STATE_COLUMNS.items()}
    return lifecycle.State(**columns, rated_cycle=rated_cycle)


def _show(conversation: Conversation, state: lifecycle.State, assignee: Any = None) -> None:
    """Put `state` on the row (unsaved): the next event's payload is read from it.
    `assignee`: the user being assigned, if the caller has it (the payload names them)."""
    if assignee is not None and conversation.assignee_id != state.assignee == assignee.pk:
        conversation.assignee = assignee  # cached along: no query to name them
    for field, column in STATE_COLUMNS.items():
        setattr(conversation, column, getattr(state, field))


def _take_step(
    conversation: Conversation,
    step: lifecycle.Step,
    *,
    rated_cycle: int = 0,
    write_message: Callable[[], Message] | None = None,
    assignee: Any = None,
) -> list[lifecycle.Event]:
    """Ask the lifecycle, then log each event with the row as it left it, and save the row.

    `write_message` creates the Message row of a PostMessage, between the events before it
    (a reopen) and its own."""
    before = state_of(conversation, rated_cycle=rated_cycle)
    after, events = lifecycle.apply(before, step)
    for event in events:
        _show(conversation, event.state, assignee)
        message = write_message() if event.message and write_message else None
        record_event(
            conversation,
            EventType(event.type),
            at=event.at,
            message=message,
            agent=event.agent,
            public=event.public,
            change=event.change,
        )
    changed = [
        column
        for field, column in STATE_COLUMNS.items()
        if getattr(before, field) != getattr(after, field)
    ]
    if changed:
        conversation.save(update_fields=changed)
    return events


def _locked_step(
    conversation: Conversation, step: lifecycle.Step, *, assignee: Any = None
) -> Conversation:
    """Take one step on the row under its lock; callers use the returned object."""
    conversation = _locked(conversation)
    _take_step(conversation, step, assignee=assignee)
    return conversation


def home_inbox(channel: str) -> Inbox | None:
    """The one inbox of the widget or of email (migration 0017 makes them; made again here if
    an operator deleted one), so reports by inbox cover them; None for any other channel."""
    if channel not in HOME_CHANNELS:
        return None
    names = {Channel.WEB: "Website", Channel.EMAIL: "Email"}  # pages show the channel's label
    inbox, _ = Inbox.objects.get_or_create(channel=channel, defaults={"name": names[channel]})
    return inbox


@transaction.atomic
def conversation_create(
    *,
    customer: Customer,
    channel: str = Channel.WEB,
    team: Any = None,
    at: datetime | None = None,
    external_id: str | None = None,
    with_bot: bool = False,
    inbox: Inbox | None = None,
    invitation: Invitation | None = None,
) -> Conversation:
    """A conversation with no message yet, in `team` or the default team.

    conversation_start adds the customer's first message; the history import replays
    whatever came first (an assignment at the same instant, an outbound agent message).
    `with_bot`: the bot answers first, and no agent's queue holds it until a handover.
    `invitation`: it answers a campaign's invitation, which the created event names (reports
    count the campaign's answers and conversations from it).
    """
    team = team or default_team()
    state, (created,) = lifecycle.create(
        at=at or timezone.now(), team=team.pk if team else None, with_bot=with_bot
    )
    change = created.change
    if invitation:
        sender = invitation.sender.pk if invitation.sender else None
        change = {**change, "campaign": {"id": invitation.campaign, "sender": sender}}
    conversation = Conversation.objects.create(
        customer=customer,
        channel=channel,
        team=team,
        created_at=created.at,
        last_activity_at=state.last_activity_at,
        external_id=external_id,
        with_bot=state.with_bot,
        inbox=inbox,
    )
    record_event(conversation, EventType(created.type), at=created.at, change=change)
    return conversation


def _post_invitation(conversation: Conversation, invitation: Invitation, at: datetime) -> None:
    """The invitation the customer answers, as the conversation's first message: by the
    agent it showed, else by the team (an agent message with no agent). It claims nothing:
    the conversation is routed in its team like any other."""
    message_post(
        conversation=conversation,
        author=Author.of_agent(invitation.sender),
        body=invitation.body,
        client_id=f"invitation-{uuid.uuid4().hex}",
        at=at,
        claim=False,
    )


@transaction.atomic
def conversation_start(
    *,
    customer: Customer,
    body: str,
    client_id: str,
    channel: str = Channel.WEB,
    team: Any = None,
    at: datetime | None = None,
    external_id: str | None = None,
    inbox: Inbox | None = None,
    message_external_id: str = "",
    files: Sequence[File | StoredFile] = (),
    invitation: Invitation | None = None,
) -> tuple[Conversation, bool]:
    """Open a conversation whose first message is `body` (and `files`). Returns
    (conversation, created).

    Starting again with the same client_id returns the first conversation and creates nothing.
    `inbox`: the channel account it came through (its platform's id of the message:
    `message_external_id`).
    With `invitation` (a campaign's, which the customer answers) the conversation goes to the
    campaign's team, skips the bot (the invitation offered a person) and starts with the
    invitation, written by its sender, before the customer's `body`.
    """
    body = check_body(body, may_be_empty=bool(files))
    checked = check_files(files)
    check_client_id(client_id)
    Customer.objects.select_for_update().get(pk=customer.pk)  # serializes retries of one customer
    existing = (
        Message.objects.filter(conversation__customer=customer, client_id=client_id)
        .select_related("conversation")
        .first()
    )
    if existing:
        return existing.conversation, False
    at = at or timezone.now()
    team = invitation.team if invitation else team or default_team()
    # Only the widget has the "Talk to a person" button a bot's answer needs.
    with_bot = (
        channel == Channel.WEB and team is not None and invitation is None and bot_gate()(team=team)
    )
    conversation = conversation_create(
        customer=customer,
        channel=channel,
        team=team,
        at=at,
        external_id=external_id,
        with_bot=with_bot,
        inbox=inbox or home_inbox(channel),
        invitation=invitation,
    )
    if invitation:
        _post_invitation(conversation, invitation, at)
    message_post(
        conversation=conversation,
        author=Author.customer(),
        body=body,
        client_id=client_id,
        at=at,
        external_id=message_external_id,
        files=checked,
    )
    conversation.refresh_from_db()
    return conversation, True


@transaction.atomic
def message_post(
    *,
    conversation: Conversation,
    author: Author,
    body: str,
    client_id: str,
    private: bool = False,
    at: datetime | None = None,
    within: QuerySet[Conversation] | None = None,
    claim: bool = True,
    external_id: str = "",
    files: Sequence[File | StoredFile] = (),
) -> tuple[Message, bool]:
    """Post a message. Returns (message, created); a repeated client_id returns the first one.

    A customer message turns a pending or snoozed conversation back to open and reopens a
    resolved one (a new cycle). A public agent reply answers the waiting customer and, with
    `claim` (live use; a replayed history passes False), assigns an unassigned conversation
    to its author. With `within`, a conversation outside those raises
    Conversation.DoesNotExist (see _locked). A public agent reply in a conversation whose
    inbox delivers replies (WhatsApp, the API channel, …) must pass the channel's check
    (seams.reply_check) and starts `pending`: the inbox's plug-in delivers it after commit.

    `files` are stored as the message's attachments (their limits and types checked first:
    files/checks.py); a message with files may have an empty body, and counts like any other
    (a reply, an unread message).
    """
    body = check_body(body, may_be_empty=bool(files))
    checked = check_files(files)
    check_client_id(client_id)
    # The customer: the author of its payload.
    conversation = _locked(conversation, related=("customer",), within=within)
    existing = conversation.messages.filter(client_id=client_id).first()
    if existing:
        return existing, False
    at = at or timezone.now()
    agent = author.agent if author.kind == AuthorKind.AGENT else None
    delivery = ""
    if agent is not None and not private and _delivers_replies(conversation):
        if claim:  # live use; a replayed history is not sent anywhere
            reply_check()(conversation=conversation, body=body, files=checked)
            delivery = Delivery.PENDING
    written: list[Message] = []

    def write_message() -> Message:
        message = Message.objects.create(
            conversation=conversation,
            client_id=client_id,
            author_kind=author.kind,
            agent=agent,
            body=body,
            private=private,
            created_at=at,
            delivery=delivery,
            external_id=external_id,
        )
        message.conversation = conversation
        mentions.mentions_create(message=message)  # before its event: the payload lists them
        _known_attachments(message, attachments_store(message=message, files=checked))
        written.append(message)
        return message

    preview = lifecycle.preview_text(body, [file.name for file in checked])
    step = lifecycle.PostMessage(
        at, author.kind, preview, private, agent.pk if agent else None, claim=claim
    )
    _take_step(conversation, step, write_message=write_message, assignee=agent)
    return written[0], True


def _delivers_replies(conversation: Conversation) -> bool:
    return conversation.inbox_id is not None and conversation.inbox.delivers_replies


@transaction.atomic
def message_set_delivery(
    *, message: Message, delivery: str, external_id: str | None = None
) -> bool:
    """Move an outbound message's delivery forward (Delivery.advances: statuses come late,
    twice and out of order) and tell the agents (`message.updated`). `external_id`: the
    platform's id of the message, once it took it. Returns whether anything changed."""
    message = Message.objects.select_for_update().select_related("conversation").get(pk=message.pk)
    changed = []
    if external_id and external_id != message.external_id:
        message.external_id = external_id
        changed.append("external_id")
    if Delivery.advances(message.delivery, delivery):
        change = {"delivery": [message.delivery or None, delivery]}
        message.delivery = delivery
        changed.append("delivery")
    if not changed:
        return False
    message.save(update_fields=changed)
    if "delivery" in changed:
        record_event(
            message.conversation,
            EventType.MESSAGE_UPDATED,
            message=message,
            agent=message.agent_id,
            public=False,  # how a reply travels is the agents' business
            change=change,
        )
    return True


def _known_attachments(message: Message, attachments: list[Attachment]) -> None:
    """Let `message.attachments.all()` answer what was just written, without a query (as a
    prefetch_related would): the event's payload reads it on every message posted."""
    known = message.attachments.all()
    known._result_cache = attachments
    known._prefetch_done = True
    message._prefetched_objects_cache = {"attachments": known}


# --- Files (files/: checks, storage, links, thumbnails) ---------------------------------------


def attachments_store(*, message: Message, files: Sequence[StoredFile]) -> list[Attachment]:
    """Keep checked files as the message's attachments (inside the caller's transaction); an
    image's thumbnail is made by a task once its event is out (receivers.make_thumbnails)."""
    stored = []
    for checked in files:
        attachment = Attachment(
            message=message,
            name=checked.name,
            content_type=checked.content_type,
            size=checked.size,
            created_at=message.created_at,
        )
        if isinstance(checked, LinkedFile):
            attachment.external_url = checked.url
        else:
            checked.file.seek(0)
            attachment.file.save(checked.name, checked.file, save=False)
        attachment.save()
        stored.append(attachment)
    return stored


def attachment_make_thumbnail(*, attachment: Attachment) -> bool:
    """Make the image's thumbnail if it has none yet (a task may run twice). Returns whether
    the attachment has one now."""
    if attachment.thumbnail:
        return True
    if not attachment.file:
        return False
    with attachment.file.open("rb") as data:
        made = thumbnails.thumbnail_of(data)
    if made is None:
        return False
    attachment.thumbnail.save(made.name, made, save=False)
    Attachment.objects.filter(pk=attachment.pk, thumbnail="").update(
        thumbnail=attachment.thumbnail.name
    )
    return True


@dataclass(frozen=True)
class OrphanSweep:
    examined: int  # files in the storage
    removed: int  # files deleted (in a dry run: that would be)


def attachment_orphans_delete(
    *,
    dry_run: bool = False,
    on_progress: Callable[[int], None] | None = None,
    on_removed: Callable[[str], None] | None = None,
) -> OrphanSweep:
    """Delete the stored files no attachment holds (files/orphans.py) that are older than
    HELPDESK_ATTACHMENT_ORPHAN_GRACE_HOURS: a younger one may belong to a message whose
    transaction has not committed yet. `on_progress` hears the count of files examined after
    each chunk, `on_removed` each name removed."""
    storage = files_storage.attachment_storage
    grace = timedelta(hours=settings.HELPDESK_ATTACHMENT_ORPHAN_GRACE_HOURS)
    cutoff = timezone.now() - grace
    examined = removed = 0
    for chunk in orphans.chunks(orphans.stored_names(storage), orphans.CHUNK):
        for name in orphans.unreferenced(chunk):
            if orphans.modified_before(storage, name, cutoff):
                if not dry_run:
                    storage.delete(name)
                removed += 1
                if on_removed:
                    on_removed(name)
        examined += len(chunk)
        if on_progress:
            on_progress(examined)
    return OrphanSweep(examined=examined, removed=removed)


@transaction.atomic
def conversation_hand_over(
    *,
    conversation: Conversation,
    at: datetime | None = None,
    within: QuerySet[Conversation] | None = None,
) -> Conversation:
    """The customer asks the bot for a person: the conversation joins its team's queue, and
    routing takes it from there like a new conversation. NotAllowed (409 `no_bot`) when no
    bot is answering it; with `within`, one outside those raises Conversation.DoesNotExist."""
    conversation = _locked(conversation, within=within)
    _take_step(conversation, lifecycle.HandOver(at or timezone.now()))
    return conversation


@transaction.atomic
def conversation_answered_by_bot(
    *,
    conversation: Conversation,
    at: datetime | None = None,
    within: QuerySet[Conversation] | None = None,
) -> Conversation:
    """The customer says the bot's articles answered their question: resolved without a
    person. NotAllowed (409 `no_bot`) when no bot is answering it."""
    conversation = _locked(conversation, within=within)
    if not conversation.with_bot:
        raise NotAllowed(_("No bot is answering this conversation."), code="no_bot")
    _take_step(conversation, lifecycle.Resolve(at or timezone.now()))
    return conversation


@transaction.atomic
def conversation_set_status(
    *,
    conversation: Conversation,
    status: str,
    by: Any = None,
    snoozed_until: datetime | None = None,
    at: datetime | None = None,
) -> Conversation:
    """Move to open, pending, snoozed (until a time) or resolved."""
    step = lifecycle.SetStatus(at or timezone.now(), status, _pk(by), snoozed_until)
    return _locked_step(conversation, step)


@transaction.atomic
def conversation_resolve(
    *, conversation: Conversation, by: Any = None, at: datetime | None = None
) -> Conversation:
    """Resolve the current cycle. Credited to `by`, else to the assignee at that moment."""
    return _locked_step(conversation, lifecycle.Resolve(at or timezone.now(), _pk(by)))


@transaction.atomic
def conversation_reopen(
    *, conversation: Conversation, by: Any = None, at: datetime | None = None
) -> Conversation:
    """Start a new cycle explicitly. Reopening a conversation that is not resolved changes nothing."""
    return _locked_step(conversation, lifecycle.Reopen(at or timezone.now(), _pk(by)))


def _pk(user: Any) -> int | None:
    return user.pk if user is not None else None


def check_assign(
    *, conversation: Conversation, assignee: Any, by: Any, force: bool = False
) -> bool:
    """Before a manual assignment (API, admin), in the same transaction and before the
    conversation is locked: may `by` give it to `assignee`? Raises a HelpdeskError to refuse;
    returns True when a supervisor's `force` takes the agent above capacity.

    The policy is the one registered in seams (agents.routing.check_assign: capacity, under
    the agent's row lock); with none registered this raises ImproperlyConfigured.
    """
    policy = assignment_policy()
    return policy(conversation=conversation, assignee=assignee, by=by, force=force)


@transaction.atomic
def conversation_assign(
    *,
    conversation: Conversation,
    assignee: Any,
    by: Any = None,
    at: datetime | None = None,
    transfer: dict[str, Any] | None = None,
) -> Conversation:
    """Set or clear the assignee. Capacity rules live in agents.routing, which calls this.

    `transfer` (from conversation_transfer) is noted in the event's change."""
    step = lifecycle.Assign(at or timezone.now(), _pk(assignee), _pk(by), transfer)
    return _locked_step(conversation, step, assignee=assignee)


@transaction.atomic
def conversation_update(
    *,
    conversation: Conversation,
    team: Any = UNSET,
    priority: Any = UNSET,
    labels: Any = UNSET,
    by: Any = None,
    at: datetime | None = None,
    transfer: dict[str, Any] | None = None,
) -> Conversation:
    """Change team, priority and/or labels; one event naming what changed."""
    conversation = _locked(conversation)
    change: dict[str, Any] = {}
    if team is not UNSET and conversation.team_id != (team.pk if team else None):
        change["team"] = [conversation.team_id, team.pk if team else None]
        conversation.team = team
    if priority is not UNSET and priority != conversation.priority:
        if priority not in Priority.values:
            raise InvalidInput(
                _("Unknown priority."),
                fields={"priority": _("Choose low, normal, high or urgent.")},
            )
        change["priority"] = [conversation.priority, priority]
        conversation.priority = priority
    if labels is not UNSET:
        names = sorted({str(name).strip().lower() for name in labels if str(name).strip()})
        current = sorted(conversation.labels.values_list("name", flat=True))
        if names != current:
            change["labels"] = [current, names]
            conversation.labels.set([Label.objects.get_or_create(name=name)[0] for name in names])
    if not change:
        return conversation
    if transfer:
        change["transfer"] = transfer
    conversation.save(update_fields=["team", "priority"])
    record_event(conversation, EventType.CONVERSATION_UPDATED, at=at, agent=by, change=change)
    return conversation


@transaction.atomic
def conversation_change(
    *,
    conversation: Conversation,
    by: Any,
    team: Any = UNSET,
    priority: Any = UNSET,
    labels: Any = UNSET,
    assignee: Any = UNSET,
    force: bool = False,
    status: Any = UNSET,
    snoozed_until: datetime | None = None,
    callback_phone: Any = UNSET,
) -> bool:
    """An agent's edit of a conversation (the API's PATCH, the admin's form and actions), all
    of it or none: checks and applies each part through its service. A `snoozed_until` alone
    snoozes. Returns whether `force` took the assignee above capacity.
    """
    forced = False
    if assignee is not UNSET:  # first: it locks the agent, and agents lock before conversations
        forced = check_assign(conversation=conversation, assignee=assignee, by=by, force=force)
    updates = {
        name: value
        for name, value in (("team", team), ("priority", priority), ("labels", labels))
        if value is not UNSET
    }
    if updates:
        conversation_update(conversation=conversation, by=by, **updates)
    if assignee is not UNSET:
        conversation_assign(conversation=conversation, assignee=assignee, by=by)
    if status is not UNSET or snoozed_until:
        conversation_set_status(
            conversation=conversation,
            status=Status.SNOOZED if status is UNSET else status,
            snoozed_until=snoozed_until,
            by=by,
        )
    if callback_phone is not UNSET:
        conversation_request_callback(conversation=conversation, phone=callback_phone, by=by)
    return forced


@transaction.atomic
def conversation_rate(
    *, conversation: Conversation, score: Any, comment: str = "", at: datetime | None = None
) -> Rating:
    """The customer rates the cycle just resolved: once per cycle, 1 to 5."""
    conversation = _locked(conversation)
    cycle = conversation.cycle
    rated_cycle = 0
    if conversation.status == Status.RESOLVED and conversation.ratings.filter(cycle=cycle).exists():
        rated_cycle = cycle
    at = at or timezone.now()
    (rated,) = _take_step(conversation, lifecycle.Rate(at, score), rated_cycle=rated_cycle)
    return Rating.objects.create(
        conversation=conversation,
        cycle=cycle,
        score=rated.change["rating"]["score"],
        comment=comment or "",
        created_at=at,
    )


# --- NPS: "How likely are you to recommend us?" ---------------------------------------------


def check_nps_score(score: Any) -> int:
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 10:
        raise InvalidInput(
            _("Answer from 0 to 10."), fields={"score": _("A whole number from 0 to 10.")}
        )
    return score


@transaction.atomic
def customer_answer_nps(
    *,
    customer: Customer,
    score: Any,
    comment: str = "",
    conversation: Conversation | None = None,
    at: datetime | None = None,
) -> NpsResponse:
    """The customer answers the NPS question: at most once per HELPDESK_NPS_INTERVAL_DAYS.

    With `conversation` (one of theirs, else Conversation.DoesNotExist) the answer is also an
    event of its log, from which the reports credit its team and agent.
    """
    score = check_nps_score(score)
    at = at or timezone.now()
    if conversation is not None:  # the conversation's lock first, as message_post takes them
        conversation = _locked(conversation, within=Conversation.objects.filter(customer=customer))
    # The customer's row lock: two answers sent at once are checked one after the other.
    Customer.objects.select_for_update().filter(pk=customer.pk).exists()
    asked_again_at = selectors.nps_asked_again_at(customer)
    if asked_again_at is not None and at < asked_again_at:
        raise NotAllowed(
            _("You have already answered this question. Thank you!"), code="already_answered"
        )
    response = NpsResponse.objects.create(
        customer=customer, conversation=conversation, score=score, comment=comment, created_at=at
    )
    if conversation is not None:
        change = {"nps": {"score": score}}
        record_event(conversation, EventType.CONVERSATION_NPS_ANSWERED, at=at, change=change)
    return response


@transaction.atomic
def conversation_wake(*, conversation: Conversation, at: datetime | None = None) -> Conversation:
    """End a snooze whose time has come: the conversation is open again."""
    return _locked_step(conversation, lifecycle.Wake(at or timezone.now()))


# --- Transfer and escalation -----------------------------------------------------------------


@transaction.atomic
def conversation_transfer(
    *,
    conversation: Conversation,
    by: Any,
    note: Any,
    team: Any = UNSET,
    assignee: Any = UNSET,
    force: bool = False,
    at: datetime | None = None,
) -> Conversation:
    """Hand a conversation to a team and/or a colleague, with a private note saying why.

    One transaction: the note (a private message by `by`), then the team change, then the
    assignee change, each with its usual event; the team and assignment events carry
    `"transfer": {"by", "note"}` in their change. A transfer to a team that names nobody puts
    the conversation in that team's queue (unassigned), where routing may pick an agent.
    Capacity rules are those of a manual assignment (check_assign: 409 unless forced).
    """
    if not isinstance(note, str) or not note.strip():
        message = _("Say why you transfer it: the note is required.")
        raise InvalidInput(message, fields={"note": message})
    if team is UNSET and assignee is UNSET:
        message = _("Give a team or an agent to transfer to.")
        raise InvalidInput(message, fields={"team": message, "assignee": message})
    if assignee is UNSET:
        assignee = None  # into the team's queue
    current = Conversation.objects.values("team_id", "assignee_id").get(pk=conversation.pk)
    team_changes = team is not UNSET and current["team_id"] != (team.pk if team else None)
    if not team_changes and current["assignee_id"] == (assignee.pk if assignee else None):
        message = _("It is already there: nothing to transfer.")
        raise InvalidInput(
            message, code="nothing_to_transfer", fields={"team": message, "assignee": message}
        )
    try:
        check_body(note)
    except InvalidInput as error:  # too long: say so about the note
        raise InvalidInput(
            error.message, code=error.code, fields={"note": error.message}
        ) from error
    # Agents are locked before conversations (routing's lock order), so check first.
    check_assign(conversation=conversation, assignee=assignee, by=by, force=force)
    at = at or timezone.now()
    message, _created = message_post(
        conversation=conversation,
        author=Author.of_agent(by),
        body=note,
        client_id=f"transfer-{uuid.uuid4().hex}",
        private=True,
        at=at,
    )
    transfer = {"by": by.pk if by else None, "note": message.pk}
    if team_changes:
        conversation = conversation_update(
            conversation=conversation, team=team, by=by, at=at, transfer=transfer
        )
    return conversation_assign(
        conversation=conversation, assignee=assignee, by=by, at=at, transfer=transfer
    )


PHONE_PATTERN = re.compile(r"[0-9 +\-()]{6,32}")


def check_phone(phone: Any) -> str:
    """A phone number as an agent types it: 6–32 digits, spaces, +, -, ( and ), with digits."""
    text = phone.strip() if isinstance(phone, str) else None
    if not text or not PHONE_PATTERN.fullmatch(text) or sum(c.isdigit() for c in text) < 4:
        message = _("Give a phone number: 6 to 32 digits, spaces, +, -, ( and ).")
        raise InvalidInput(message, fields={"callback_phone": message})
    return text


@transaction.atomic
def conversation_request_callback(
    *, conversation: Conversation, phone: str | None, by: Any = None, at: datetime | None = None
) -> Conversation:
    """Flag the conversation "call back by phone" on `phone` (an escalation), or clear it (None).

    Requesting counts as one escalation in the reports (from the event: `callback_phone`
    going from "" to a number); correcting the number of a pending request does not.
    """
    phone = check_phone(phone) if phone is not None else ""
    conversation = _locked(conversation)
    previous = conversation.callback_phone
    if phone == previous:
        return conversation
    conversation.callback_phone = phone
    if not previous:  # a new request: who asked and when
        conversation.callback_requested_at = at or timezone.now()
        conversation.callback_requested_by = by
    elif not phone:
        conversation.callback_requested_at = None
        conversation.callback_requested_by = None
    conversation.save(
        update_fields=["callback_phone", "callback_requested_at", "callback_requested_by"]
    )
    change: dict[str, Any] = {"callback_phone": [previous or None, phone or None]}
    # Agents only: the customer's view shows nothing of an escalation.
    record_event(
        conversation, EventType.CONVERSATION_UPDATED, at=at, agent=by, public=False, change=change
    )
    return conversation


# --- The agent workspace --------------------------------------------------------------------


@transaction.atomic
def conversation_mark_read(
    *, conversation: Conversation, user: Any, through: int | None = None, at: datetime | None = None
) -> ReadMarker:
    """The agent has read the conversation up to message `through` (default: its last message).

    A marker only moves forward (two tabs may report out of order), and never past the
    conversation's last message. Reading changes nothing about the conversation itself, so it
    logs no event: unread counts are the agent's own, not the conversation's.
    """
    latest = conversation.messages.order_by("-id").values_list("id", flat=True).first() or 0
    through = latest if through is None else max(0, min(through, latest))
    at = at or timezone.now()
    marker, created = ReadMarker.objects.get_or_create(
        conversation=conversation,
        user=user,
        defaults={"last_read_message_id": through, "read_at": at},
    )
    if not created:
        ReadMarker.objects.filter(pk=marker.pk).update(
            last_read_message_id=Greatest("last_read_message_id", through), read_at=at
        )
        marker.refresh_from_db()
    return marker


# --- Saved views of the inbox ---------------------------------------------------------------

MAX_SAVED_VIEWS = 25  # an agent's own, and each team's: each one's count is read with the list


def check_may_change_saved_view(*, user: Any, view: SavedView) -> None:
    """Refuses (403) a change of someone else's view or of a team's the user is not in."""
    if not selectors.may_change_saved_view(user, view):
        raise Forbidden(_("Only the view's owner, its team or an admin may change it."))


@transaction.atomic
def saved_view_create(
    *,
    by: Any,
    name: str,
    filters: dict[str, str],
    team: Team | None = None,
    position: int | None = None,
) -> SavedView:
    """A personal view of `by`, or with `team` one shared with the team's agents (its members
    and admins may create it). `filters` are checked by the caller (the list's filter code)."""
    view = SavedView(name=name, filters=filters, created_by=by, team=team)
    if team is None:
        view.owner = by
    check_may_change_saved_view(user=by, view=view)
    siblings = SavedView.objects.filter(owner=by) if team is None else team.saved_views.all()
    if siblings.count() >= MAX_SAVED_VIEWS:
        raise NotAllowed(
            _("At most %(count)s views each; delete one first.") % {"count": MAX_SAVED_VIEWS},
            code="too_many_views",
        )
    view.position = siblings.count() if position is None else position
    view.save()
    return view


@transaction.atomic
def saved_view_update(*, view: SavedView, by: Any, **changes: Any) -> SavedView:
    """Rename, refilter or move a view (`name`, `filters`, `position`)."""
    check_may_change_saved_view(user=by, view=view)
    for name, value in changes.items():
        setattr(view, name, value)
    view.save(update_fields=list(changes))
    return view


def saved_view_delete(*, view: SavedView, by: Any) -> None:
    check_may_change_saved_view(user=by, view=view)
    view.delete()
