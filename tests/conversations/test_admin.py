"""The triage admin, through its own views: every change goes through services and is logged."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conversations.models import (
    ConversationEvent,
    EventType,
    Message,
    Priority,
    Status,
)
from conversations.services import (
    Author,
    conversation_assign,
    conversation_resolve,
    conversation_update,
    message_post,
)
from tests.helpers import flash, run_action

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:conversations_conversation_changelist")


def change_url(conversation) -> str:
    return reverse("admin:conversations_conversation_change", args=[conversation.pk])


def reply_url(conversation) -> str:
    return reverse("admin:conversations_conversation_reply", args=[conversation.pk])


def listed(response) -> list[int]:
    return [conversation.pk for conversation in response.context["cl"].result_list]


def last_event(conversation) -> ConversationEvent:
    return conversation.events.order_by("-id").first()


def say(conversation, body: str, author=None, **kwargs):
    message, _ = message_post(
        conversation=conversation,
        author=author or Author.customer(),
        body=body,
        client_id=f"m-{Message.objects.count()}",
        **kwargs,
    )
    return message


# --- The changelist --------------------------------------------------------------------------


def test_changelist_shows_the_triage_columns(
    staff_client, start_conversation, make_customer, make_team
):
    team = make_team("Billing")
    customer = make_customer("Ayşe Yılmaz", "ayse@example.com")
    waiting = start_conversation(
        customer, body="Where is my invoice?", team=team, at=timezone.now() - timedelta(minutes=12)
    )
    conversation_update(conversation=waiting, priority=Priority.URGENT)

    response = staff_client.get(CHANGELIST)

    assert response.status_code == 200
    html = response.content.decode()
    for column in [
        "id",
        "customer_display",
        "status_badge",
        "team",
        "assignee_display",
        "channel_display",
        "priority_display",
        "preview",
        "waiting",
        "activity",
    ]:
        assert f"column-{column}" in html
    assert "Ayşe Yılmaz" in html and "ayse@example.com" in html
    assert 'class="hd-badge hd-status-open"' in html
    assert "Where is my invoice?" in html
    assert "12\xa0minutes ago" in html  # timesince keeps number and unit together
    assert "Web widget" in html and "Urgent" in html and "Billing" in html


def test_changelist_filters_include_mine_and_unassigned(
    staff_client, staff, start_conversation, make_agent, make_team
):
    other = make_agent(first_name="Omar")
    team = make_team("Sales")
    mine = start_conversation()
    theirs = start_conversation(team=team)
    nobody = start_conversation()
    conversation_assign(conversation=mine, assignee=staff)
    conversation_assign(conversation=theirs, assignee=other)
    conversation_update(conversation=nobody, labels=["vip"], priority=Priority.HIGH)
    conversation_resolve(conversation=theirs)

    page = staff_client.get(CHANGELIST).content.decode()
    for choice in ["Mine", "Unassigned", "Omar", "Sales", "vip", "Web widget", "High", "Resolved"]:
        assert choice in page

    assert listed(staff_client.get(CHANGELIST, {"assignee": "mine"})) == [mine.pk]
    assert listed(staff_client.get(CHANGELIST, {"assignee": "none"})) == [nobody.pk]
    assert listed(staff_client.get(CHANGELIST, {"assignee": str(other.pk)})) == [theirs.pk]
    assert listed(staff_client.get(CHANGELIST, {"status__exact": "resolved"})) == [theirs.pk]
    assert listed(staff_client.get(CHANGELIST, {"team__id__exact": team.pk})) == [theirs.pk]
    assert listed(staff_client.get(CHANGELIST, {"labels__id__exact": nobody.labels.get().pk})) == [
        nobody.pk
    ]
    assert listed(staff_client.get(CHANGELIST, {"priority__exact": "high"})) == [nobody.pk]
    assert set(listed(staff_client.get(CHANGELIST, {"channel": "web"}))) == {
        mine.pk,
        theirs.pk,
        nobody.pk,
    }
    # A bad filter value is the admin's "invalid filter" redirect, not a 500.
    assert staff_client.get(CHANGELIST, {"assignee": "nonsense"}).status_code == 302


def test_longest_waiting_conversations_come_first(staff_client, start_conversation, make_agent):
    now = timezone.now()
    recent = start_conversation(at=now - timedelta(minutes=5))
    oldest = start_conversation(at=now - timedelta(hours=3))
    answered = start_conversation(at=now - timedelta(days=1))
    say(answered, "Done!", author=Author.of_agent(make_agent()))

    assert listed(staff_client.get(CHANGELIST)) == [oldest.pk, recent.pk, answered.pk]
    response = staff_client.get(CHANGELIST, {"o": "-4"})  # "waiting since", newest first
    assert listed(response)[:2] == [recent.pk, oldest.pk]


def test_search_by_message_text_and_customer_email_without_duplicates(
    staff_client, start_conversation, make_customer
):
    customer = make_customer("Can Demir", "can@example.org")
    refund = start_conversation(customer, body="I want a refund")
    say(refund, "About the refund again")
    say(refund, "Refund, please!")
    other = start_conversation(body="My password does not work")

    by_text = staff_client.get(CHANGELIST, {"q": "refund"})
    assert listed(by_text) == [refund.pk]
    assert by_text.context["cl"].result_count == 1

    assert listed(staff_client.get(CHANGELIST, {"q": "can@example.org"})) == [refund.pk]
    assert listed(staff_client.get(CHANGELIST, {"q": "PASSWORD"})) == [other.pk]
    assert listed(staff_client.get(CHANGELIST, {"q": "nothing like this"})) == []


def test_changelist_makes_the_same_number_of_queries_for_many_rows(
    staff_client, staff, start_conversation, make_team, django_assert_max_num_queries
):
    team = make_team()

    def add_conversations(count: int) -> None:
        for index in range(count):
            conversation = start_conversation(team=team)
            conversation_assign(conversation=conversation, assignee=staff)
            conversation_update(conversation=conversation, labels=[f"l{index}", "common"])

    add_conversations(2)
    with CaptureQueriesContext(connection) as few:
        assert staff_client.get(CHANGELIST).status_code == 200
    add_conversations(10)
    with CaptureQueriesContext(connection) as many:
        assert len(listed(staff_client.get(CHANGELIST))) == 12
    assert len(many) == len(few)
    with django_assert_max_num_queries(15):
        staff_client.get(CHANGELIST)


# --- Bulk actions ----------------------------------------------------------------------------


def test_assign_to_me(staff_client, staff, start_conversation):
    first, second = start_conversation(), start_conversation()

    response = run_action(staff_client, "assign_to_me", [first, second])

    assert "2 conversations assigned to you." in flash(response)
    for conversation in (first, second):
        conversation.refresh_from_db()
        assert conversation.assignee == staff
        event = last_event(conversation)
        assert event.type == EventType.CONVERSATION_ASSIGNED
        assert event.change["assignee"] == [None, staff.pk] and event.change["by"] == staff.pk


def test_assign_to_an_agent_through_the_intermediate_page(
    staff_client, staff, start_conversation, make_agent
):
    omar = make_agent(first_name="Omar", last_name="Kaya")
    conversation = start_conversation(body="Need help with shipping")

    page = staff_client.post(
        CHANGELIST, {"action": "assign_to_agent", "_selected_action": [conversation.pk], "index": 0}
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "Omar Kaya" in html and "Need help with shipping" in html
    assert conversation.events.filter(type=EventType.CONVERSATION_ASSIGNED).count() == 0

    response = run_action(staff_client, "assign_to_agent", [conversation], apply="1", agent=omar.pk)

    assert "1 conversation assigned to Omar Kaya." in flash(response)
    conversation.refresh_from_db()
    assert conversation.assignee == omar
    event = last_event(conversation)
    assert event.type == EventType.CONVERSATION_ASSIGNED and event.agent == omar
    assert event.change["by"] == staff.pk


def test_assign_to_an_agent_rejects_an_unknown_agent(staff_client, start_conversation):
    conversation = start_conversation()

    response = run_action(
        staff_client, "assign_to_agent", [conversation], apply="1", agent="999999"
    )

    assert response.status_code == 200
    assert "Please correct the errors below." in flash(response)
    assert "Select a valid choice" in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.assignee is None


def test_move_to_a_team(staff_client, staff, start_conversation, make_team):
    billing = make_team("Billing")
    conversation = start_conversation()

    response = run_action(
        staff_client, "assign_to_team", [conversation], apply="1", team=billing.pk
    )

    assert "1 conversation moved to Billing." in flash(response)
    conversation.refresh_from_db()
    assert conversation.team == billing
    event = last_event(conversation)
    assert event.type == EventType.CONVERSATION_UPDATED
    assert event.change["team"] == [None, billing.pk] and event.agent == staff


def test_resolve_and_reopen(staff_client, staff, start_conversation):
    first, second = start_conversation(), start_conversation()

    resolved = run_action(staff_client, "resolve", [first, second])

    assert "2 conversations resolved." in flash(resolved)
    first.refresh_from_db()
    assert first.status == Status.RESOLVED
    event = last_event(first)
    assert event.change["resolved"] is True and event.agent == staff

    reopened = run_action(staff_client, "reopen", [first])

    assert "1 conversation reopened." in flash(reopened)
    first.refresh_from_db()
    assert first.status == Status.OPEN and first.cycle == 2
    assert last_event(first).change["reopened"] is True


def test_reopen_says_when_there_was_nothing_to_reopen(staff_client, start_conversation):
    conversation = start_conversation()

    response = run_action(staff_client, "reopen", [conversation])

    assert "1 conversation was already like that." in flash(response)
    assert last_event(conversation).type == EventType.MESSAGE_CREATED


def test_snooze_until_a_future_time(staff_client, staff, start_conversation):
    conversation = start_conversation()
    until = (timezone.now() + timedelta(days=1)).replace(second=0, microsecond=0)

    response = run_action(
        staff_client, "snooze", [conversation], apply="1", until=until.strftime("%Y-%m-%dT%H:%M")
    )

    assert any("1 conversation snoozed until" in text for text in flash(response))
    conversation.refresh_from_db()
    assert conversation.status == Status.SNOOZED and conversation.snoozed_until == until
    event = last_event(conversation)
    assert event.change["status"] == [Status.OPEN, Status.SNOOZED] and event.agent == staff


@pytest.mark.parametrize("until", ["2001-01-01T10:00", "not a time", ""])
def test_snooze_rejects_a_past_or_missing_time(staff_client, start_conversation, until):
    conversation = start_conversation()

    response = run_action(staff_client, "snooze", [conversation], apply="1", until=until)

    assert response.status_code == 200
    assert "Please correct the errors below." in flash(response)
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN
    assert last_event(conversation).type == EventType.MESSAGE_CREATED


def test_snoozing_a_resolved_conversation_is_reported_not_a_crash(staff_client, start_conversation):
    conversation = start_conversation()
    conversation_resolve(conversation=conversation)
    until = (timezone.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")

    response = run_action(staff_client, "snooze", [conversation], apply="1", until=until)

    assert response.status_code == 200
    assert any("Reopen the conversation first" in text for text in flash(response))
    conversation.refresh_from_db()
    assert conversation.status == Status.RESOLVED


def test_set_priority(staff_client, staff, start_conversation):
    conversation = start_conversation()

    response = run_action(
        staff_client, "set_priority", [conversation], apply="1", priority="urgent"
    )

    assert "1 conversation set to Urgent priority." in flash(response)
    conversation.refresh_from_db()
    assert conversation.priority == Priority.URGENT
    assert last_event(conversation).change["priority"] == ["normal", "urgent"]

    bad = run_action(staff_client, "set_priority", [conversation], apply="1", priority="whenever")
    assert bad.status_code == 200 and "Please correct the errors below." in flash(bad)


# --- The change page -------------------------------------------------------------------------


def test_change_page_shows_the_whole_thread_escaped(staff_client, staff, start_conversation):
    conversation = start_conversation(body="<img src=x onerror=alert(1)>")
    say(conversation, "Checking with billing", author=Author.of_agent(staff), private=True)
    say(conversation, "We are on it", author=Author.of_agent(staff))

    response = staff_client.get(change_url(conversation))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<img src=x onerror=alert(1)>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    positions = [
        html.index(text) for text in ["onerror=alert(1)", "Checking with billing", "We are on it"]
    ]
    assert positions == sorted(positions)  # oldest first
    assert "hd-msg hd-msg-customer" in html
    assert "hd-msg hd-msg-agent hd-msg-private" in html
    assert "Private note" in html
    assert conversation.customer.email in html
    assert 'name="client_id"' in html


def test_reply_from_the_change_page(staff_client, staff, start_conversation):
    conversation = start_conversation()

    response = staff_client.post(
        reply_url(conversation),
        {"body": "Hello! How can I help?", "client_id": "form-1"},
        follow=True,
    )

    assert "Reply sent." in flash(response)
    message = conversation.messages.get(client_id="form-1")
    assert message.author_kind == "agent" and message.agent == staff and not message.private
    event = last_event(conversation)
    assert event.type == EventType.MESSAGE_CREATED and event.public is True
    conversation.refresh_from_db()
    assert conversation.waiting_since is None  # the customer got an answer

    again = staff_client.post(
        reply_url(conversation), {"body": "Hello! How can I help?", "client_id": "form-1"}
    )
    assert again.status_code == 302
    assert conversation.messages.filter(author_kind="agent").count() == 1  # a double submit


def test_private_note_from_the_change_page(staff_client, staff, start_conversation):
    conversation = start_conversation()

    response = staff_client.post(
        reply_url(conversation),
        {"body": "Customer is a VIP", "private": "on", "client_id": "note-1"},
        follow=True,
    )

    assert "Private note added." in flash(response)
    note = conversation.messages.get(client_id="note-1")
    assert note.private is True
    event = last_event(conversation)
    assert event.type == EventType.MESSAGE_CREATED and event.public is False
    conversation.refresh_from_db()
    assert conversation.waiting_since is not None  # a note does not answer the customer
    assert "Customer is a VIP" in response.content.decode()


def reply_form_html(page: str) -> str:
    """The reply form of a change page: where the agent is, as the page opens at #reply."""
    start = page.index('<form id="reply"')
    return page[start : page.index("</form>", start)]


def test_an_empty_reply_is_refused_next_to_the_field(staff_client, start_conversation):
    conversation = start_conversation()

    response = staff_client.post(
        reply_url(conversation), {"body": "   ", "client_id": "x"}, follow=True
    )

    assert response.status_code == 200
    assert "This field is required." in reply_form_html(response.content.decode())
    assert conversation.messages.count() == 1
    assert staff_client.get(reply_url(conversation)).status_code == 405


def test_an_over_long_reply_keeps_its_text_with_the_error_next_to_it(
    staff_client, start_conversation, settings
):
    """Issue 15, defect 9: the error showed at the top while the page opened at the form."""
    settings.HELPDESK_MAX_MESSAGE_LENGTH = 50
    conversation = start_conversation()
    body = "A long answer. " * 5

    response = staff_client.post(
        reply_url(conversation), {"body": body, "private": "on", "client_id": "x"}, follow=True
    )

    assert response.redirect_chain[-1][0].endswith("#reply")
    form = reply_form_html(response.content.decode())
    assert 'id="reply-error" role="alert"' in form
    assert "Messages are limited to 50 characters." in form
    assert f">\n{body}</textarea>" in form and 'aria-invalid="true"' in form
    assert 'name="private" id="id_private" checked' in form
    assert flash(response) == []  # not at the top of the page, out of sight
    assert conversation.messages.count() == 1
    again = staff_client.get(response.redirect_chain[-1][0]).content.decode()
    assert "Messages are limited" not in again  # shown once, with its draft


def triage_form(conversation, **changes) -> dict:
    data = {
        "status": conversation.status,
        "snoozed_until_0": "",
        "snoozed_until_1": "",
        "assignee": conversation.assignee_id or "",
        "team": conversation.team_id or "",
        "priority": conversation.priority,
        "labels": [label.pk for label in conversation.labels.all()],
        "_save": "Save",
    }
    data.update(changes)
    return data


def test_saving_the_change_form_goes_through_services(
    staff_client, staff, start_conversation, make_agent, make_team
):
    omar = make_agent(first_name="Omar")
    team = make_team("Returns")
    conversation = start_conversation()
    conversation_update(conversation=conversation, labels=["vip"])
    vip = conversation.labels.get()
    before = conversation.events.count()

    response = staff_client.post(
        change_url(conversation),
        triage_form(
            conversation,
            status="pending",
            assignee=omar.pk,
            team=team.pk,
            priority="high",
            labels=[],
        ),
        follow=True,
    )

    assert response.status_code == 200
    assert not response.context.get("errors")
    conversation.refresh_from_db()
    assert conversation.status == Status.PENDING
    assert conversation.assignee == omar and conversation.team == team
    assert conversation.priority == Priority.HIGH
    assert list(conversation.labels.all()) == []
    assert vip.pk  # the label itself stays
    new_events = list(conversation.events.order_by("id")[before:])
    # The API's order (one service for both): team, priority and labels, then the assignee.
    assert [event.type for event in new_events] == [
        EventType.CONVERSATION_UPDATED,
        EventType.CONVERSATION_ASSIGNED,
        EventType.CONVERSATION_UPDATED,
    ]
    assert new_events[0].change == {
        "team": [None, team.pk],
        "priority": ["normal", "high"],
        "labels": [["vip"], []],
    }
    assert new_events[2].change == {"status": ["open", "pending"]}
    assert [event.agent for event in new_events] == [staff, omar, staff]


def test_change_form_snooze_needs_a_future_time(staff_client, start_conversation):
    conversation = start_conversation()

    past = staff_client.post(
        change_url(conversation),
        triage_form(
            conversation, status="snoozed", snoozed_until_0="2001-01-01", snoozed_until_1="10:00"
        ),
    )

    assert past.status_code == 200
    assert "Give a time in the future." in past.content.decode()
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN

    tomorrow = timezone.localtime() + timedelta(days=1)
    future = staff_client.post(
        change_url(conversation),
        triage_form(
            conversation,
            status="snoozed",
            snoozed_until_0=tomorrow.strftime("%Y-%m-%d"),
            snoozed_until_1="09:30:00",
        ),
    )
    assert future.status_code == 302
    conversation.refresh_from_db()
    assert conversation.status == Status.SNOOZED
    assert conversation.snoozed_until.hour == 9 and conversation.snoozed_until.minute == 30
    assert last_event(conversation).change["status"] == ["open", "snoozed"]


def test_change_form_resolve_then_refuses_pending_without_reopening(
    staff_client, start_conversation
):
    conversation = start_conversation()

    staff_client.post(change_url(conversation), triage_form(conversation, status="resolved"))
    conversation.refresh_from_db()
    assert conversation.status == Status.RESOLVED
    assert last_event(conversation).change["resolved"] is True

    refused = staff_client.post(
        change_url(conversation), triage_form(conversation, status="pending")
    )
    assert refused.status_code == 200
    assert "Reopen the conversation first" in refused.content.decode()

    staff_client.post(change_url(conversation), triage_form(conversation, status="open"))
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN and conversation.cycle == 2


def test_conversations_cannot_be_added_or_deleted_in_the_admin(staff_client, start_conversation):
    conversation = start_conversation()
    assert staff_client.get(reverse("admin:conversations_conversation_add")).status_code == 403
    delete = reverse("admin:conversations_conversation_delete", args=[conversation.pk])
    assert staff_client.get(delete).status_code == 403


# --- Customers -------------------------------------------------------------------------------


def test_customers_are_searchable_and_read_only(staff_client, start_conversation, make_customer):
    customer = make_customer("Deniz Ak", "deniz@example.com")
    conversation = start_conversation(customer, body="Hi there")
    make_customer("Someone Else", "else@example.com")
    customers = reverse("admin:conversations_customer_changelist")

    found = staff_client.get(customers, {"q": "deniz@"})
    assert [c.pk for c in found.context["cl"].result_list] == [customer.pk]

    detail = staff_client.get(reverse("admin:conversations_customer_change", args=[customer.pk]))
    html = detail.content.decode()
    assert detail.status_code == 200
    assert 'name="email"' not in html and "deniz@example.com" in html
    assert change_url(conversation) in html

    staff_client.post(
        reverse("admin:conversations_customer_change", args=[customer.pk]),
        {"name": "Hacked", "email": "x@example.com"},
    )
    customer.refresh_from_db()
    assert customer.name == "Deniz Ak"


def test_the_assignee_filter_reads_every_agents_name_in_one_query(
    staff_client, make_agent, django_assert_max_num_queries
):
    """Agents' names come with their display names (people.py): no query per agent."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from conversations.services import public_profile_save

    with CaptureQueriesContext(connection) as few:
        staff_client.get(CHANGELIST)
    for n in range(5):
        public_profile_save(user=make_agent(), display_name=f"Agent {n}")
    with django_assert_max_num_queries(len(few)):
        page = staff_client.get(CHANGELIST).content.decode()
    assert "Agent 4" in page
