"""Every state change of customers and conversations; one function per use case.

Each runs in a transaction, locks the conversation row it changes, and appends its event
in that same transaction (events.record_event), so the log and the state never disagree.
All take an optional `at` so that imports replay history with its original timestamps
under exactly the rules of live use.
"""

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import InvalidInput, NotAllowed
from .events import record_event
from .models import (
    AuthorKind,
    Channel,
    Conversation,
    Customer,
    EventType,
    Label,
    Message,
    Priority,
    Rating,
    ReadMarker,
    Status,
    Team,
)
from .seams import assignment_policy

PREVIEW_LENGTH = Conversation._meta.get_field("last_message_preview").max_length


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
    def system(cls) -> "Author":
        """The helpdesk itself (automatic replies): never a reply in any metric."""
        return cls(AuthorKind.SYSTEM)


class _Unset:
    pass


UNSET: Any = _Unset()


# --- Validation ------------------------------------------------------------------------------


def check_body(body: Any, limit: int | None = None) -> str:
    """A message body is plain text, stored as written; it must say something and fit.

    `limit` defaults to settings.HELPDESK_MAX_MESSAGE_LENGTH; the bulk import reads it once.
    """
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


def check_private_note(author_kind: str, private: bool) -> None:
    if private and author_kind != AuthorKind.AGENT:
        raise InvalidInput(
            _("Only agents can write private notes."), fields={"private": _("Not allowed.")}
        )


def check_snooze(status: str, snoozed_until: datetime | None, at: datetime) -> None:
    if status == Status.SNOOZED and (snoozed_until is None or snoozed_until <= at):
        raise InvalidInput(
            _("Snoozing needs a time in the future."),
            fields={"snoozed_until": _("Give a time in the future.")},
        )


def refuse_status_while_resolved() -> None:
    """A resolved conversation goes to pending or snoozed only after a reopen."""
    raise NotAllowed(_("Reopen the conversation first."))


def check_score(score: Any) -> int:
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise InvalidInput(
            _("Rate from 1 to 5."), fields={"score": _("A whole number from 1 to 5.")}
        )
    return score


def check_rateable(status: str, already_rated: bool) -> None:
    """Once per cycle, and only once the cycle is resolved."""
    if status != Status.RESOLVED:
        raise NotAllowed(_("A conversation can be rated once it is resolved."), code="not_resolved")
    if already_rated:
        raise NotAllowed(_("This conversation has already been rated."), code="already_rated")


def message_preview(body: str) -> str:
    """What inboxes show of the last public message: one line, cut to fit."""
    return " ".join(body.split())[:PREVIEW_LENGTH]


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


@transaction.atomic
def conversation_create(
    *,
    customer: Customer,
    channel: str = Channel.WEB,
    team: Any = None,
    at: datetime | None = None,
    external_id: str | None = None,
) -> Conversation:
    """A conversation with no message yet, in `team` or the default team.

    conversation_start adds the customer's first message; the history import replays
    whatever came first (an assignment at the same instant, an outbound agent message).
    """
    at = at or timezone.now()
    conversation = Conversation.objects.create(
        customer=customer,
        channel=channel,
        team=team or default_team(),
        created_at=at,
        last_activity_at=at,
        external_id=external_id,
    )
    record_event(
        conversation,
        EventType.CONVERSATION_CREATED,
        at=at,
        change={"team": [None, conversation.team_id]},
    )
    return conversation


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
) -> tuple[Conversation, bool]:
    """Open a conversation whose first message is `body`. Returns (conversation, created).

    Starting again with the same client_id returns the first conversation and creates nothing.
    """
    check_body(body)
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
    conversation = conversation_create(
        customer=customer, channel=channel, team=team, at=at, external_id=external_id
    )
    message_post(
        conversation=conversation, author=Author.customer(), body=body, client_id=client_id, at=at
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
) -> tuple[Message, bool]:
    """Post a message. Returns (message, created); a repeated client_id returns the first one.

    A customer message turns a pending or snoozed conversation back to open and reopens a
    resolved one (a new cycle). A public agent reply answers the waiting customer. With
    `within`, a conversation outside those raises Conversation.DoesNotExist (see _locked).
    """
    check_body(body)
    check_client_id(client_id)
    # The customer: the author of its payload.
    conversation = _locked(conversation, related=("customer",), within=within)
    existing = conversation.messages.filter(client_id=client_id).first()
    if existing:
        return existing, False
    check_private_note(author.kind, private)
    at = at or timezone.now()

    if author.kind == AuthorKind.CUSTOMER:
        _wake_for_customer(conversation, at)
        if conversation.waiting_since is None:
            conversation.waiting_since = at
    elif author.kind == AuthorKind.AGENT and not private:
        conversation.waiting_since = None

    message = Message.objects.create(
        conversation=conversation,
        client_id=client_id,
        author_kind=author.kind,
        agent=author.agent if author.kind == AuthorKind.AGENT else None,
        body=body,
        private=private,
        created_at=at,
    )
    conversation.last_activity_at = max(conversation.last_activity_at, at)
    if not private and author.kind != AuthorKind.SYSTEM:
        # An automatic notice (the out-of-hours reply) never hides what the customer wrote.
        conversation.last_message_preview = message_preview(body)
    conversation.save(update_fields=["waiting_since", "last_activity_at", "last_message_preview"])
    message.conversation = conversation
    record_event(
        conversation,
        EventType.MESSAGE_CREATED,
        at=at,
        message=message,
        agent=message.agent,
        public=not private,
    )
    return message, True


def _wake_for_customer(conversation: Conversation, at: datetime) -> None:
    if conversation.status == Status.RESOLVED:
        _start_cycle(conversation, at=at, by=None)
    elif conversation.status in (Status.PENDING, Status.SNOOZED):
        _change_status(conversation, Status.OPEN, at=at, by=None)


def _start_cycle(conversation: Conversation, *, at: datetime, by: Any) -> None:
    cycle = conversation.cycle
    conversation.status = Status.OPEN
    conversation.cycle = cycle + 1
    conversation.resolved_at = None
    conversation.snoozed_until = None
    conversation.waiting_since = None
    conversation.save(
        update_fields=["status", "cycle", "resolved_at", "snoozed_until", "waiting_since"]
    )
    record_event(
        conversation,
        EventType.CONVERSATION_UPDATED,
        at=at,
        agent=by,
        change={
            "status": [Status.RESOLVED, Status.OPEN],
            "cycle": [cycle, cycle + 1],
            "reopened": True,
        },
    )


def _change_status(
    conversation: Conversation,
    status: Status,
    *,
    at: datetime,
    by: Any,
    snoozed_until: datetime | None = None,
) -> None:
    previous = conversation.status
    conversation.status = status
    conversation.snoozed_until = snoozed_until if status == Status.SNOOZED else None
    conversation.save(update_fields=["status", "snoozed_until"])
    change: dict[str, Any] = {"status": [previous, status]}
    if snoozed_until:
        change["snoozed_until"] = snoozed_until.isoformat()
    record_event(conversation, EventType.CONVERSATION_UPDATED, at=at, agent=by, change=change)


@transaction.atomic
def conversation_set_status(
    *,
    conversation: Conversation,
    status: str,
    by: Any = None,
    snoozed_until: datetime | None = None,
    at: datetime | None = None,
) -> Conversation:
    """Move to open, pending or snoozed (until a time); resolving has its own service."""
    if status == Status.RESOLVED:
        return conversation_resolve(conversation=conversation, by=by, at=at)
    if status not in (Status.OPEN, Status.PENDING, Status.SNOOZED):
        raise InvalidInput(
            _("Unknown status."), fields={"status": _("Choose open, pending, snoozed or resolved.")}
        )
    at = at or timezone.now()
    check_snooze(status, snoozed_until, at)
    conversation = _locked(conversation)
    if conversation.status == Status.RESOLVED and status == Status.OPEN:
        _start_cycle(conversation, at=at, by=by)
    elif conversation.status == Status.RESOLVED:
        refuse_status_while_resolved()
    elif conversation.status != status or status == Status.SNOOZED:
        _change_status(conversation, Status(status), at=at, by=by, snoozed_until=snoozed_until)
    return conversation


@transaction.atomic
def conversation_resolve(
    *, conversation: Conversation, by: Any = None, at: datetime | None = None
) -> Conversation:
    """Resolve the current cycle. Credited to `by`, else to the assignee at that moment."""
    conversation = _locked(conversation)
    if conversation.status == Status.RESOLVED:
        return conversation
    at = at or timezone.now()
    previous = conversation.status
    conversation.status = Status.RESOLVED
    conversation.resolved_at = at
    conversation.snoozed_until = None
    conversation.waiting_since = None  # an unanswered turn is dropped at resolution
    conversation.last_activity_at = max(conversation.last_activity_at, at)
    conversation.save(
        update_fields=[
            "status",
            "resolved_at",
            "snoozed_until",
            "waiting_since",
            "last_activity_at",
        ]
    )
    record_event(
        conversation,
        EventType.CONVERSATION_UPDATED,
        at=at,
        agent=by or conversation.assignee,
        change={"status": [previous, Status.RESOLVED], "resolved": True},
    )
    return conversation


@transaction.atomic
def conversation_reopen(
    *, conversation: Conversation, by: Any = None, at: datetime | None = None
) -> Conversation:
    """Start a new cycle explicitly. Reopening a conversation that is not resolved changes nothing."""
    conversation = _locked(conversation)
    if conversation.status == Status.RESOLVED:
        _start_cycle(conversation, at=at or timezone.now(), by=by)
    return conversation


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
    conversation = _locked(conversation)
    if conversation.assignee_id == (assignee.pk if assignee else None):
        return conversation
    previous = conversation.assignee_id
    conversation.assignee = assignee
    conversation.save(update_fields=["assignee"])
    change: dict[str, Any] = {
        "assignee": [previous, assignee.pk if assignee else None],
        "by": by.pk if by else None,
    }
    if transfer:
        change["transfer"] = transfer
    record_event(
        conversation, EventType.CONVERSATION_ASSIGNED, at=at, agent=assignee, change=change
    )
    return conversation


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
def conversation_rate(
    *, conversation: Conversation, score: Any, comment: str = "", at: datetime | None = None
) -> Rating:
    """The customer rates the cycle just resolved: once per cycle, 1 to 5."""
    check_score(score)
    conversation = _locked(conversation)
    resolved = conversation.status == Status.RESOLVED
    check_rateable(
        conversation.status,
        resolved and conversation.ratings.filter(cycle=conversation.cycle).exists(),
    )
    at = at or timezone.now()
    rating = Rating.objects.create(
        conversation=conversation,
        cycle=conversation.cycle,
        score=score,
        comment=comment or "",
        created_at=at,
    )
    record_event(
        conversation,
        EventType.CONVERSATION_RATED,
        at=at,
        change={"rating": {"score": score, "cycle": conversation.cycle}},
    )
    return rating


@transaction.atomic
def conversation_wake(*, conversation: Conversation, at: datetime | None = None) -> Conversation:
    """End a snooze whose time has come: the conversation is open again."""
    at = at or timezone.now()
    conversation = _locked(conversation)
    if (
        conversation.status == Status.SNOOZED
        and conversation.snoozed_until
        and conversation.snoozed_until <= at
    ):
        _change_status(conversation, Status.OPEN, at=at, by=None)
    return conversation


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
