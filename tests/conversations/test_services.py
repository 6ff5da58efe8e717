"""Services: every change appends its event atomically, with the rules of DESIGN.md."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from conversations.errors import InvalidInput, NotAllowed
from conversations.models import ConversationEvent, EventType, Message, Status
from conversations.services import (
    Author,
    conversation_assign,
    conversation_rate,
    conversation_reopen,
    conversation_resolve,
    conversation_set_status,
    conversation_start,
    conversation_update,
    message_post,
)

pytestmark = pytest.mark.django_db


def event_types(conversation) -> list[str]:
    return list(conversation.events.order_by("id").values_list("type", flat=True))


def say(conversation, body="more", author=None, **kwargs):
    message, _ = message_post(
        conversation=conversation,
        author=author or Author.customer(),
        body=body,
        client_id=f"m-{Message.objects.count()}-{body[:10]}",
        **kwargs,
    )
    return message


def test_start_creates_conversation_first_message_and_events(make_customer, make_team):
    team = make_team(is_default=True)
    customer = make_customer()
    conversation, created = conversation_start(
        customer=customer, body="Siparişim nerede?", client_id="a1"
    )
    assert created
    assert conversation.team == team
    assert conversation.status == Status.OPEN and conversation.cycle == 1
    assert conversation.waiting_since == conversation.messages.get().created_at
    assert conversation.last_message_preview == "Siparişim nerede?"
    assert event_types(conversation) == [EventType.CONVERSATION_CREATED, EventType.MESSAGE_CREATED]


def test_start_is_idempotent_on_client_id(make_customer):
    customer = make_customer()
    first, created = conversation_start(customer=customer, body="hi", client_id="same")
    again, created_again = conversation_start(customer=customer, body="hi", client_id="same")
    assert created and not created_again
    assert again.pk == first.pk
    assert customer.conversations.count() == 1 and Message.objects.count() == 1


def test_message_post_is_idempotent_on_client_id(start_conversation):
    conversation = start_conversation()
    first, created = message_post(
        conversation=conversation, author=Author.customer(), body="x", client_id="k"
    )
    second, created_again = message_post(
        conversation=conversation, author=Author.customer(), body="y", client_id="k"
    )
    assert created and not created_again and second.pk == first.pk and second.body == "x"
    assert (
        conversation.events.filter(type=EventType.MESSAGE_CREATED).count() == 2
    )  # first message + x


def test_body_is_stored_verbatim_and_validated(start_conversation):
    conversation = start_conversation()
    html = "<img src=x onerror=alert(1)>"
    assert say(conversation, html).body == html
    with pytest.raises(InvalidInput) as empty:
        say(conversation, "   ")
    assert empty.value.fields["body"]
    with pytest.raises(InvalidInput) as too_long:
        say(conversation, "x" * 10_001)
    assert too_long.value.code == "too_long"
    assert conversation.messages.count() == 2


def test_event_and_change_commit_together_or_not_at_all(start_conversation):
    conversation = start_conversation()
    before = (Message.objects.count(), ConversationEvent.objects.count())
    with pytest.raises(RuntimeError), transaction.atomic():
        say(conversation, "lost with its event")
        raise RuntimeError("crash after the write")
    assert (Message.objects.count(), ConversationEvent.objects.count()) == before


def test_agent_reply_answers_the_waiting_customer(start_conversation, make_agent):
    conversation = start_conversation()
    agent = make_agent()
    say(conversation, "private thought", author=Author.of_agent(agent), private=True)
    conversation.refresh_from_db()
    assert conversation.waiting_since is not None, "a private note is not a reply"
    say(conversation, "Here you go", author=Author.of_agent(agent))
    conversation.refresh_from_db()
    assert conversation.waiting_since is None


def test_a_public_reply_assigns_an_unassigned_conversation_to_the_replier(
    start_conversation, make_agent
):
    conversation = start_conversation()
    agent = make_agent()
    say(conversation, "Is this the VIP?", author=Author.of_agent(agent), private=True)
    conversation.refresh_from_db()
    assert conversation.assignee is None, "a private note claims nothing"
    reply = say(conversation, "Here you go", author=Author.of_agent(agent))
    conversation.refresh_from_db()
    assert conversation.assignee == agent
    assigned, posted = conversation.events.order_by("id")[3:]
    assert (assigned.type, assigned.agent_id) == (EventType.CONVERSATION_ASSIGNED, agent.pk)
    assert assigned.change == {"assignee": [None, agent.pk], "by": agent.pk}
    assert assigned.data["assignee"]["id"] == agent.pk  # live views show who has it now
    assert (posted.type, posted.message) == (EventType.MESSAGE_CREATED, reply)


def test_a_reply_assigns_even_beyond_capacity_and_leaves_a_colleagues_conversation(
    start_conversation, make_agent
):
    replier, colleague = make_agent(capacity=1), make_agent()
    conversation_assign(conversation=start_conversation(), assignee=replier)  # full
    theirs = start_conversation()
    conversation_assign(conversation=theirs, assignee=colleague)
    unassigned = start_conversation()
    say(theirs, "Let me add something", author=Author.of_agent(replier))
    say(unassigned, "I can help", author=Author.of_agent(replier))
    theirs.refresh_from_db()
    unassigned.refresh_from_db()
    assert theirs.assignee == colleague
    assert unassigned.assignee == replier  # they chose to answer: over capacity, so be it


def test_private_notes_are_agents_only_and_not_public_events(start_conversation, make_agent):
    conversation = start_conversation()
    with pytest.raises(InvalidInput):
        say(conversation, "sneaky", private=True)
    note = say(conversation, "internal", author=Author.of_agent(make_agent()), private=True)
    event = conversation.events.get(message=note)
    assert event.public is False and event.data["private"] is True


@pytest.mark.parametrize("status", [Status.PENDING, Status.SNOOZED])
def test_customer_message_turns_pending_or_snoozed_back_to_open(start_conversation, status):
    conversation = start_conversation()
    until = timezone.now() + timedelta(hours=2)
    conversation = conversation_set_status(
        conversation=conversation, status=status, snoozed_until=until
    )
    assert conversation.status == status
    say(conversation, "still there?")
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN and conversation.cycle == 1
    assert conversation.snoozed_until is None


def test_snooze_needs_a_future_time(start_conversation):
    conversation = start_conversation()
    with pytest.raises(InvalidInput):
        conversation_set_status(conversation=conversation, status=Status.SNOOZED)
    with pytest.raises(InvalidInput):
        conversation_set_status(
            conversation=conversation,
            status=Status.SNOOZED,
            snoozed_until=timezone.now() - timedelta(1),
        )


def test_customer_message_reopens_a_resolved_conversation_as_a_new_cycle(
    start_conversation, make_agent
):
    conversation = start_conversation()
    agent = make_agent()
    conversation = conversation_resolve(conversation=conversation, by=agent)
    assert conversation.status == Status.RESOLVED and conversation.resolved_at
    say(conversation, "one more thing")
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN and conversation.cycle == 2
    reopen = conversation.events.filter(change__reopened=True).get()
    message_event = conversation.events.order_by("-id").first()
    assert reopen.id < message_event.id and reopen.at == message_event.at


def test_explicit_reopen_and_reopen_of_an_open_conversation(start_conversation):
    conversation = start_conversation()
    events = conversation.events.count()
    conversation_reopen(conversation=conversation)
    assert conversation.events.count() == events, "reopening an open conversation changes nothing"
    conversation_resolve(conversation=conversation)
    conversation = conversation_reopen(conversation=conversation)
    assert conversation.status == Status.OPEN and conversation.cycle == 2


def test_resolve_twice_records_one_resolution_credited_to_the_assignee(
    start_conversation, make_agent
):
    conversation = start_conversation()
    agent = make_agent()
    conversation_assign(conversation=conversation, assignee=agent)
    conversation_resolve(conversation=conversation)
    conversation_resolve(conversation=conversation)
    resolutions = conversation.events.filter(change__resolved=True)
    assert resolutions.count() == 1 and resolutions.get().agent == agent


def test_rating_rules(start_conversation):
    conversation = start_conversation()
    with pytest.raises(NotAllowed) as early:
        conversation_rate(conversation=conversation, score=5)
    assert early.value.code == "not_resolved"
    conversation_resolve(conversation=conversation)
    for bad in (0, 6, "5", True, None):
        with pytest.raises(InvalidInput):
            conversation_rate(conversation=conversation, score=bad)
    rating = conversation_rate(conversation=conversation, score=4, comment="Teşekkürler")
    assert rating.cycle == 1
    with pytest.raises(NotAllowed) as twice:
        conversation_rate(conversation=conversation, score=5)
    assert twice.value.code == "already_rated"
    say(conversation, "back again")
    conversation_resolve(conversation=conversation)
    assert conversation_rate(conversation=conversation, score=2).cycle == 2
    assert conversation.events.filter(type=EventType.CONVERSATION_RATED).count() == 2


def test_update_records_only_what_changed(start_conversation, make_team):
    conversation = start_conversation()
    team = make_team()
    conversation = conversation_update(
        conversation=conversation, team=team, priority="high", labels=["Billing", "billing", "vip"]
    )
    event = conversation.events.order_by("-id").first()
    assert event.change == {
        "team": [None, team.pk],
        "priority": ["normal", "high"],
        "labels": [[], ["billing", "vip"]],
    }
    count = conversation.events.count()
    conversation_update(conversation=conversation, priority="high", labels=["vip", "billing"])
    assert conversation.events.count() == count
    with pytest.raises(InvalidInput):
        conversation_update(conversation=conversation, priority="whenever")


def test_assign_event_names_old_and_new_assignee(start_conversation, make_agent):
    conversation = start_conversation()
    alice, bob = make_agent(), make_agent()
    conversation_assign(conversation=conversation, assignee=alice)
    conversation_assign(conversation=conversation, assignee=bob, by=alice)
    conversation_assign(conversation=conversation, assignee=None)
    changes = [
        e.change["assignee"]
        for e in conversation.events.filter(type=EventType.CONVERSATION_ASSIGNED).order_by("id")
    ]
    assert changes == [[None, alice.pk], [alice.pk, bob.pk], [bob.pk, None]]


def test_an_expired_snooze_wakes_the_conversation(start_conversation):
    from conversations.services import conversation_wake

    conversation = start_conversation()
    now = timezone.now()
    conversation = conversation_set_status(
        conversation=conversation, status=Status.SNOOZED, snoozed_until=now + timedelta(minutes=5)
    )
    assert conversation_wake(conversation=conversation, at=now).status == Status.SNOOZED
    woken = conversation_wake(conversation=conversation, at=now + timedelta(minutes=5))
    assert woken.status == Status.OPEN and woken.snoozed_until is None
    assert conversation.events.order_by("-id").first().change == {"status": ["snoozed", "open"]}
