"""Macros: a canned reply and actions (status, labels, team, priority, assignee) in one step.

Applying a macro goes through the core's services (message_post, conversation_update,
conversation_assign, conversation_set_status), so capacity, access and the lifecycle hold as
for any edit, and every change is in the event log (live updates, reports). All of it runs in
one transaction: when an action is refused, nothing is applied and the error's `fields` name
that action. The reply's placeholders are filled by agents.canned, as for canned responses.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from conversations.errors import HelpdeskError, InvalidInput, NotAllowed
from conversations.models import Conversation, Message, Status, Team
from conversations.services import (
    UNSET,
    Author,
    check_assign,
    conversation_assign,
    conversation_set_status,
    conversation_update,
    message_post,
)

from .canned import render_canned
from .models import Macro, MacroAssign

# What a refusal names in the error's `fields`: the API's names of the macro's actions.
ACTIONS = ("reply", "status", "labels", "team", "priority", "assignee")


def action_name(action: str) -> str:
    """An action as the agent reads it in an error message."""
    names = {
        "reply": pgettext("macro action", "reply"),
        "status": pgettext("macro action", "status"),
        "labels": pgettext("macro action", "labels"),
        "team": pgettext("macro action", "team"),
        "priority": pgettext("macro action", "priority"),
        "assignee": pgettext("macro action", "assignee"),
    }
    return names[action]


@contextmanager
def refused_as(action: str) -> Iterator[None]:
    """A refusal inside re-raised as the same kind of error (same status and code), saying
    which action of the macro failed."""
    try:
        yield
    except HelpdeskError as error:
        message = _("The macro's “%(action)s” action was refused: %(reason)s") % {
            "action": action_name(action),
            "reason": error.message,
        }
        raise type(error)(message, code=error.code, fields={action: error.message}) from error


# --- Writing macros -----------------------------------------------------------------------------


def check_may_share(macro: Macro, by: Any) -> None:
    """Personal macros are their owner's; a team's are made by its members; global ones by
    admins (the admin site's forms are admins' too)."""
    if macro.owner_id is not None and macro.owner_id != by.pk:
        raise NotAllowed(_("A personal macro belongs to its owner."), code="forbidden")
    if macro.owner_id is None and macro.team_id is None and not by.is_superuser:
        message = _("Only admins can make a macro for every agent.")
        raise InvalidInput(message, code="admins_only", fields={"scope": message})
    if macro.team_id is not None and not by.is_superuser:
        if not macro.team.members.filter(pk=by.pk).exists():
            message = _("You are not in this team.")
            raise InvalidInput(message, fields={"team": message})


@transaction.atomic
def macro_save(*, macro: Macro, by: Any, **fields: Any) -> Macro:
    """Create (a macro without a pk) or change a macro. Model field errors come back as an
    InvalidInput whose `fields` use the model's field names."""
    for name, value in fields.items():
        setattr(macro, name, value)
    check_may_share(macro, by)
    try:
        macro.full_clean()
    except ValidationError as error:
        raise InvalidInput(_("Some fields are not valid."), fields=error.message_dict) from error
    macro.save()
    return macro


@transaction.atomic
def macro_delete(*, macro: Macro) -> None:
    macro.delete()


# --- Applying a macro ---------------------------------------------------------------------------


def macro_assignee(macro: Macro, by: Any) -> Any:
    """Who the macro gives the conversation to: a user, None (nobody) or UNSET (leave it)."""
    if macro.assign == MacroAssign.ME:
        return by
    if macro.assign == MacroAssign.NOBODY:
        return None
    if macro.assign == MacroAssign.AGENT:
        if macro.assign_to is None or not macro.assign_to.is_active:
            raise refusal("assignee", _("The macro's agent no longer exists."))
        return macro.assign_to
    return UNSET


def refusal(action: str, reason: str) -> InvalidInput:
    return InvalidInput(
        _("The macro's “%(action)s” action was refused: %(reason)s")
        % {"action": action_name(action), "reason": reason},
        fields={action: reason},
    )


def macro_labels(macro: Macro, current: list[str]) -> list[str] | None:
    """The conversation's labels after the macro (names in lower case, as stored), or None
    when the macro changes none."""
    if not macro.add_labels and not macro.remove_labels:
        return None
    removed = {name.lower() for name in macro.remove_labels}
    kept = [name for name in current if name.lower() not in removed]
    return kept + [name.lower() for name in macro.add_labels if name.lower() not in removed]


def macro_updates(macro: Macro, conversation: Conversation) -> dict[str, Any]:
    """The team, priority and labels the macro sets (conversation_update's arguments)."""
    updates: dict[str, Any] = {}
    if macro.move_to_team_id is not None:
        updates["team"] = macro.move_to_team
    if macro.priority:
        updates["priority"] = macro.priority
    labels = macro_labels(macro, list(conversation.labels.values_list("name", flat=True)))
    if labels is not None:
        updates["labels"] = labels
    return updates


@transaction.atomic
def macro_apply(
    *,
    macro: Macro,
    conversation: Conversation,
    by: Any,
    client_id: str | None = None,
    within: Any = None,
) -> tuple[Conversation, Message | None]:
    """Apply every action of `macro` to `conversation` as agent `by`, all or nothing.

    The order is that of an agent doing it by hand: the reply first (so "reply and resolve"
    is a reply of the cycle it resolves), then team, priority and labels, the assignee, and
    the status last. The assignee is checked before anything is locked: agents are locked
    before conversations (routing's lock order). `client_id` makes a retried request post
    the reply once; with `within`, a conversation outside those raises DoesNotExist.
    Returns the conversation as it is now and the reply (None without one).
    """
    assignee = macro_assignee(macro, by)
    if assignee is not UNSET:
        with refused_as("assignee"):
            check_assign(conversation=conversation, assignee=assignee, by=by)
    # The conversation's row lock, held to the commit: the labels read below stay current.
    Conversation.objects.select_for_update(of=("self",)).filter(pk=conversation.pk).exists()
    message = None
    if macro.body.strip():
        body = render_canned(macro.body, conversation=conversation, agent_user=by)
        with refused_as("reply"):
            message, _created = message_post(
                conversation=conversation,
                author=Author.of_agent(by),
                body=body,
                client_id=client_id or f"macro-{uuid.uuid4().hex}",
                private=macro.private,
                within=within,
            )
    updates = macro_updates(macro, conversation)
    if updates:
        # Of team, priority and labels only a priority can be refused (the model checks it).
        with refused_as("priority"):
            conversation_update(conversation=conversation, by=by, **updates)
    if assignee is not UNSET:
        with refused_as("assignee"):
            conversation_assign(conversation=conversation, assignee=assignee, by=by)
    if macro.status:
        with refused_as("status"):
            conversation_set_status(
                conversation=conversation,
                status=macro.status,
                by=by,
                snoozed_until=snooze_end(macro),
            )
    return Conversation.objects.get(pk=conversation.pk), message


def snooze_end(macro: Macro) -> Any:
    if macro.status != Status.SNOOZED or not macro.snooze_minutes:
        return None
    return timezone.now() + timedelta(minutes=macro.snooze_minutes)


# --- The demo's macros (`seed_demo`) ------------------------------------------------------------
# Demo content in English and in Turkish, like the demo's canned responses: not interface text.
# `team`: a demo team (seed_demo's Support, Billing, Sales) the macro moves the conversation to.

DEMO_MACROS: list[dict[str, Any]] = [
    {
        "name": "Refund issued — resolve",
        "body": "Hi {{customer.first_name}}, your refund is on its way: it reaches your card "
        "within 5 to 10 business days, depending on your bank. I'm closing this conversation; "
        "just reply here if anything else comes up.",
        "add_labels": ["refund"],
        "status": Status.RESOLVED,
    },
    {
        "name": "Ask for order number — pending",
        "body": "Could you send me your order number, {{customer.first_name}}? I'll check "
        "where your parcel is as soon as I have it.",
        "add_labels": ["order"],
        "status": Status.PENDING,
    },
    {
        "name": "Escalate to billing — high priority",
        "body": "Escalated to Billing by {{agent.name}}: please check the payment and the invoice.",
        "private": True,
        "add_labels": ["billing"],
        "team": "Billing",
        "priority": "high",
        "assign": MacroAssign.NOBODY,
    },
    {
        "name": "Waiting on the warehouse — snooze a day",
        "body": "Asked the warehouse about this parcel; they answer within a day.",
        "private": True,
        "add_labels": ["warehouse"],
        "status": Status.SNOOZED,
        "snooze_minutes": 24 * 60,
    },
    {
        "name": "İade yapıldı — çöz",
        "body": "Merhaba {{customer.first_name}}, iadeniz yola çıktı: bankanıza bağlı olarak "
        "5 ila 10 iş günü içinde kartınıza yansır. Bu görüşmeyi kapatıyorum; başka bir "
        "sorunuz olursa buraya yazmanız yeterli.",
        "add_labels": ["iade"],
        "status": Status.RESOLVED,
    },
    {
        "name": "Sipariş numarası iste — beklemede",
        "body": "Sipariş numaranızı paylaşır mısınız {{customer.first_name}}? Numarayı alır "
        "almaz kargonuzun nerede olduğuna bakacağım.",
        "add_labels": ["siparis"],
        "status": Status.PENDING,
    },
    {
        "name": "Muhasebeye aktar — yüksek öncelik",
        "body": "{{agent.name}} tarafından muhasebeye aktarıldı: lütfen ödemeyi ve faturayı "
        "kontrol edin.",
        "private": True,
        "add_labels": ["fatura"],
        "team": "Billing",
        "priority": "high",
        "assign": MacroAssign.NOBODY,
    },
    {
        "name": "Depo bekleniyor — bir gün ertele",
        "body": "Bu kargo için depoya sordum; bir gün içinde yanıt veriyorlar.",
        "private": True,
        "add_labels": ["depo"],
        "status": Status.SNOOZED,
        "snooze_minutes": 24 * 60,
    },
]


def demo_macros_ensure() -> int:
    """The demo's macros, for every agent; names already taken by a global macro are left as
    they are (running the demo again adds nothing). Returns how many were created."""
    created = 0
    for spec in DEMO_MACROS:
        fields = dict(spec)
        team_name = fields.pop("team", None)
        if team_name:
            fields["move_to_team"] = Team.objects.filter(name__iexact=team_name).first()
        _macro, new = Macro.objects.get_or_create(
            name=fields.pop("name"), owner=None, team=None, defaults=fields
        )
        created += new
    return created
