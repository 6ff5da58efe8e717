"""Capacity-aware assignment (README "Assignment"): who gets a conversation, when the queue
drains, manual assignment above capacity, and capacity under concurrent arrivals.

Events are published after commit. Tests on the `db` fixture run inside one transaction, so
they run service calls under `committed` (django_capture_on_commit_callbacks(execute=True)):
events are sequenced and routing reacts exactly as after a real commit. The concurrency tests
use real transactions and one database connection per thread.
"""

import itertools
import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from agents import routing
from agents.models import Agent, Presence
from agents.selectors import availability
from agents.services import agent_save, agent_set_presence
from agents.tasks import drain_team_queues
from conversations.models import Conversation, EventType, Status
from conversations.services import (
    Author,
    conversation_assign,
    conversation_reopen,
    conversation_resolve,
    conversation_set_status,
    conversation_start,
    conversation_update,
    customer_create,
    message_post,
)
from tests.helpers import flash, run_action

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:conversations_conversation_changelist")


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a call as if its transaction committed: events go out and routing reacts.

    The test's own transaction never commits, so Django keeps every callback in its list, run
    or not; record_event schedules one publish per transaction and would take a stale entry
    for its own. Like a real commit, this starts and ends with an empty list.
    """

    def run(function, *args, **kwargs):
        connection.run_on_commit.clear()
        with django_capture_on_commit_callbacks(execute=True):
            result = function(*args, **kwargs)
        connection.run_on_commit.clear()
        return result

    return run


@pytest.fixture
def start(committed, start_conversation):
    def run(**fields):
        return committed(start_conversation, **fields)

    return run


def agent(user) -> Agent:
    return Agent.objects.get(pk=user.pk)


def assignee_of(conversation):
    conversation.refresh_from_db()
    return conversation.assignee


def open_count(user) -> int:
    return Conversation.objects.filter(assignee=user, status=Status.OPEN).count()


def queued(team) -> list[int]:
    return list(
        Conversation.objects.filter(team=team, status=Status.OPEN, assignee__isnull=True)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )


_messages = itertools.count(1)


def say(conversation, body: str = "Still there?"):
    message_post(
        conversation=conversation,
        author=Author.customer(),
        body=body,
        client_id=f"m-{next(_messages)}",
    )


# --- Who gets a new conversation -------------------------------------------------------------


def test_a_new_conversation_goes_to_the_online_agent_with_the_fewest_open(
    support, make_agent, start
):
    busy = make_agent(teams=[support], presence=Presence.ONLINE)
    free = make_agent(teams=[support], presence=Presence.ONLINE)
    conversation_assign(conversation=start(), assignee=busy)  # busy holds one already

    conversation = start()

    assert assignee_of(conversation) == free
    assert agent(free).last_assigned_at is not None
    event = conversation.events.filter(type=EventType.CONVERSATION_ASSIGNED).get()
    assert event.change == {"assignee": [None, free.pk], "by": None}  # routing, not a person


def test_ties_go_to_the_longest_idle_then_to_the_lowest_id(support, make_agent, start):
    first = make_agent(teams=[support], presence=Presence.ONLINE)
    second = make_agent(teams=[support], presence=Presence.ONLINE)
    third = make_agent(teams=[support], presence=Presence.ONLINE)
    now = timezone.now()
    Agent.objects.filter(pk=first.pk).update(last_assigned_at=now - timedelta(minutes=5))
    Agent.objects.filter(pk=second.pk).update(last_assigned_at=now - timedelta(minutes=50))

    # Never assigned is the longest idle; then the oldest assignment; then the newest.
    assert [assignee_of(start()) for _ in range(3)] == [third, second, first]
    # Everyone holds one now: `third`, assigned first, has been idle longest.
    assert assignee_of(start()) == third


def test_ties_between_never_assigned_agents_go_to_the_lowest_id(support, make_agent, start):
    agents = [make_agent(teams=[support], presence=Presence.ONLINE) for _ in range(3)]
    assert assignee_of(start()) == min(agents, key=lambda user: user.pk)


def test_fewest_open_beats_longest_idle(support, make_agent, start):
    idle_but_busy = make_agent(teams=[support])
    recent_but_free = make_agent(teams=[support])
    conversation_assign(conversation=start(), assignee=idle_but_busy)  # by hand, while offline
    Agent.objects.filter(pk=recent_but_free.pk).update(last_assigned_at=timezone.now())
    Agent.objects.update(presence=Presence.ONLINE)

    assert assignee_of(start()) == recent_but_free


def test_away_and_offline_agents_get_nothing(support, make_agent, start):
    make_agent(teams=[support], presence=Presence.AWAY)
    make_agent(teams=[support], presence=Presence.OFFLINE)
    make_agent(teams=[support], presence=Presence.ONLINE, is_active=False)

    conversation = start()

    assert assignee_of(conversation) is None
    assert queued(support) == [conversation.pk]


def test_only_agents_of_the_conversations_team_take_it(support, make_team, make_agent, start):
    sales = make_team("Sales")
    seller = make_agent(teams=[sales], presence=Presence.ONLINE)
    make_agent(teams=[support], presence=Presence.ONLINE, capacity=0)  # online, never has room

    assert assignee_of(start()) is None  # support's only agent has no room; sales' is not theirs
    assert assignee_of(start(team=sales)) == seller


def test_a_conversation_without_a_team_waits(make_agent, start):
    make_agent(presence=Presence.ONLINE)  # in no team; and no default team exists
    conversation = start()
    assert conversation.team is None and assignee_of(conversation) is None


# --- The queue drains when room appears -------------------------------------------------------


@pytest.fixture
def full_team(support, make_agent, start):
    """Alice (capacity 2) holds two conversations; three more wait, oldest first."""
    alice = make_agent(teams=[support], presence=Presence.ONLINE, capacity=2, first_name="Alice")
    held = [start(), start()]
    waiting = [start(), start(), start()]
    assert [assignee_of(conversation) for conversation in held] == [alice, alice]
    assert queued(support) == [conversation.pk for conversation in waiting]
    return alice, held, waiting


def test_resolving_gives_the_oldest_waiting_conversation_to_that_agent(
    full_team, support, committed
):
    alice, held, waiting = full_team

    committed(conversation_resolve, conversation=held[0], by=alice)

    assert assignee_of(waiting[0]) == alice
    assert queued(support) == [waiting[1].pk, waiting[2].pk]
    assert open_count(alice) == 2


def test_the_queue_is_served_by_waiting_time_not_creation(full_team, support, committed):
    alice, held, waiting = full_team
    # An agent answered the oldest; the newest customer has waited longest for an answer now.
    Conversation.objects.filter(pk=waiting[0].pk).update(waiting_since=None)
    Conversation.objects.filter(pk=waiting[2].pk).update(
        waiting_since=timezone.now() - timedelta(hours=1)
    )

    committed(conversation_resolve, conversation=held[0], by=alice)
    committed(conversation_resolve, conversation=held[1], by=alice)

    assert assignee_of(waiting[2]) == alice and assignee_of(waiting[1]) == alice
    assert queued(support) == [waiting[0].pk]  # nobody waits on it for an answer: last


@pytest.mark.parametrize("status", [Status.PENDING, Status.SNOOZED])
def test_pending_and_snoozed_free_a_place_and_come_back_to_their_agent(
    full_team, support, committed, status
):
    alice, held, waiting = full_team
    until = timezone.now() + timedelta(hours=1) if status == Status.SNOOZED else None

    committed(
        conversation_set_status,
        conversation=held[0],
        status=status,
        snoozed_until=until,
        by=alice,
    )
    assert assignee_of(waiting[0]) == alice

    # The customer answers: the conversation is open again and stays with Alice, who now
    # holds more than her capacity and gets nothing new until she is below it.
    committed(say, held[0])
    assert assignee_of(held[0]) == alice and open_count(alice) == 3
    committed(conversation_resolve, conversation=held[1], by=alice)
    assert queued(support) == [waiting[1].pk, waiting[2].pk]
    committed(conversation_resolve, conversation=waiting[0], by=alice)
    assert assignee_of(waiting[1]) == alice and open_count(alice) == 2


def test_unassigning_and_handing_over_free_a_place(full_team, support, make_agent, committed):
    alice, held, waiting = full_team
    bob = make_agent(teams=[support], presence=Presence.AWAY)

    committed(conversation_assign, conversation=held[0], assignee=bob, by=alice)  # a transfer
    assert assignee_of(waiting[0]) == alice

    # Unassigned, it is back in the queue in its place: it has waited longest of all (nobody
    # answered it), so the agent with room takes it, who is Alice again: the only one online.
    committed(conversation_assign, conversation=held[1], assignee=None, by=alice)
    assignments = held[1].events.filter(type=EventType.CONVERSATION_ASSIGNED).order_by("id")
    assert [event.change["assignee"] for event in assignments] == [
        [None, alice.pk],
        [alice.pk, None],
        [None, alice.pk],
    ]
    assert open_count(alice) == 2 and queued(support) == [waiting[1].pk, waiting[2].pk]


def test_an_agent_coming_online_takes_queued_conversations_up_to_capacity(
    support, make_agent, start, committed
):
    bob = make_agent(teams=[support], presence=Presence.OFFLINE, capacity=2)
    waiting = [start(), start(), start()]
    assert queued(support) == [c.pk for c in waiting]

    committed(agent_set_presence, agent=agent(bob), presence=Presence.ONLINE)

    assert [assignee_of(c) for c in waiting] == [bob, bob, None]


def test_going_online_through_the_api_takes_queued_conversations(
    support, make_agent, start, committed
):
    bob = make_agent(teams=[support], presence=Presence.AWAY, capacity=3)
    waiting = start()
    client = APIClient()
    client.force_login(bob)

    response = committed(client.patch, "/api/v1/agents/me", {"presence": "online"}, format="json")

    assert response.status_code == 200 and assignee_of(waiting) == bob
    assert client.get("/api/v1/agents/me").json()["open_assigned"] == 1


def test_going_away_keeps_conversations_and_takes_nothing_new(
    support, make_agent, start, committed
):
    bob = make_agent(teams=[support], presence=Presence.ONLINE, capacity=2)
    mine = start()
    committed(agent_set_presence, agent=agent(bob), presence=Presence.AWAY)
    later = start()
    committed(conversation_resolve, conversation=mine, by=bob)
    assert assignee_of(mine) == bob and assignee_of(later) is None


def test_raising_capacity_drains_the_queue(full_team, support, committed):
    alice, held, waiting = full_team

    committed(agent_save, email=alice.email, capacity=4)

    assert [assignee_of(c) for c in waiting] == [alice, alice, None]


def test_raising_capacity_in_the_admin_drains_the_queue(full_team, support, client, committed):
    alice, held, waiting = full_team
    client.force_login(alice.__class__.objects.create_superuser("root", "root@example.com", "pw"))
    url = reverse("admin:agents_agent_change", args=[alice.pk])

    response = committed(client.post, url, {"teams": [support.pk], "capacity": 3})

    assert response.status_code == 302
    assert [assignee_of(c) for c in waiting] == [alice, None, None]


def test_joining_a_team_drains_its_queue(support, make_team, make_agent, start, committed):
    waiting = start()
    bob = make_agent(teams=[make_team("Sales")], presence=Presence.ONLINE, capacity=1)
    committed(agent(bob).teams.add, support)
    assert assignee_of(waiting) == bob

    other = start()
    carol = make_agent(presence=Presence.ONLINE)
    committed(support.members.add, carol)  # from the team's side too
    assert assignee_of(other) == carol


def test_moving_a_conversation_to_another_team_routes_it_there(
    support, make_team, make_agent, start, committed
):
    sales = make_team("Sales")
    seller = make_agent(teams=[sales], presence=Presence.ONLINE)
    conversation = start()
    assert assignee_of(conversation) is None

    committed(conversation_update, conversation=conversation, team=sales)

    assert assignee_of(conversation) == seller


def test_the_beat_task_drains_what_a_lost_signal_missed(full_team, support, settings):
    alice, held, waiting = full_team
    Agent.objects.filter(pk=alice.pk).update(capacity=3)  # a bulk update: no signal at all

    assert drain_team_queues() == 1

    assert assignee_of(waiting[0]) == alice
    entry = settings.CELERY_BEAT_SCHEDULE["drain-team-queues"]
    assert entry["task"] == "agents.tasks.drain_team_queues" and entry["schedule"] <= 60


# --- A resolved conversation comes back --------------------------------------------------------


def test_a_customer_reopening_keeps_an_online_agent_with_room(
    support, make_agent, start, committed
):
    alice = make_agent(teams=[support], presence=Presence.ONLINE, capacity=2)
    conversation = start()
    committed(conversation_resolve, conversation=conversation, by=alice)

    committed(say, conversation, "It broke again")

    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN and conversation.cycle == 2
    assert conversation.assignee == alice


def test_a_customer_reopening_goes_back_to_the_queue_when_the_agent_is_gone(
    support, make_agent, start, committed
):
    alice = make_agent(teams=[support], presence=Presence.ONLINE, capacity=2)
    conversation = start()
    committed(conversation_resolve, conversation=conversation, by=alice)
    committed(agent_set_presence, agent=agent(alice), presence=Presence.OFFLINE)
    bob = make_agent(teams=[support], presence=Presence.ONLINE)

    committed(say, conversation, "It broke again")

    assert assignee_of(conversation) == bob  # nobody waits for an agent who is not there


def test_a_customer_reopening_goes_back_to_the_queue_when_the_agent_is_full(
    support, make_agent, start, committed
):
    alice = make_agent(teams=[support], presence=Presence.ONLINE, capacity=1)
    conversation = start()
    committed(conversation_resolve, conversation=conversation, by=alice)
    newer = start()
    assert assignee_of(newer) == alice

    committed(say, conversation, "It broke again")

    assert assignee_of(conversation) is None and queued(support) == [conversation.pk]
    assert open_count(alice) == 1


def test_an_agent_reopening_keeps_the_conversation(support, make_agent, start, committed):
    alice = make_agent(teams=[support], presence=Presence.ONLINE, capacity=1)
    conversation = start()
    committed(conversation_resolve, conversation=conversation, by=alice)
    committed(agent_set_presence, agent=agent(alice), presence=Presence.AWAY)

    committed(conversation_reopen, conversation=conversation, by=alice)

    assert assignee_of(conversation) == alice


# --- What the widget and /agents/me are told ---------------------------------------------------


def test_availability_counts_free_places_against_the_queue(support, make_agent, start, committed):
    alice = make_agent(teams=[support], presence=Presence.ONLINE, capacity=1)
    assert availability(support).can_chat_live is True

    first = start()
    assert availability(support).can_chat_live is False  # Alice is full: a new one would wait
    Agent.objects.filter(pk=alice.pk).update(capacity=2)  # a place, unseen by routing so far
    start()  # ...which this conversation takes at once
    assert availability(support).can_chat_live is False

    committed(conversation_set_status, conversation=first, status=Status.PENDING, by=alice)
    assert availability(support).can_chat_live is True  # pending takes no place
    assert APIClient().get("/api/v1/widget/availability").json()["can_chat_live"] is True


def test_availability_without_a_team_is_never_live(make_agent):
    make_agent(presence=Presence.ONLINE)
    result = availability(None)
    assert result.agents_online == 1 and result.can_chat_live is False


def test_agents_me_counts_open_conversations_only(support, make_agent, start, committed):
    alice = make_agent(teams=[support], presence=Presence.ONLINE, capacity=3)
    first, _second = start(), start()
    committed(conversation_set_status, conversation=first, status=Status.PENDING, by=alice)
    client = APIClient()
    client.force_login(alice)
    body = client.get("/api/v1/agents/me").json()
    assert (body["capacity"], body["open_assigned"]) == (3, 1)


# --- Manual assignment: the API --------------------------------------------------------------


@pytest.fixture
def full_alice(support, make_agent, start_conversation):
    """Alice (capacity 1, offline so routing leaves her alone) already holds one."""
    alice = make_agent("alice@example.com", teams=[support], capacity=1, first_name="Alice")
    conversation_assign(conversation=start_conversation(), assignee=alice)
    return alice


def patch(user, conversation, body):
    client = APIClient()
    client.force_login(user)
    return client.patch(f"/api/v1/conversations/{conversation.pk}", body, format="json")


def test_the_api_refuses_to_assign_above_capacity_without_force(
    full_alice, make_agent, support, start_conversation
):
    bob = make_agent(teams=[support])
    conversation = start_conversation()

    response = patch(bob, conversation, {"assignee": full_alice.pk, "priority": "high"})

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "at_capacity" and "Alice" in error["message"]
    assert "assignee" in error["fields"]
    conversation.refresh_from_db()
    assert conversation.assignee is None and conversation.priority == "normal"  # nothing changed


def test_force_is_for_supervisors(full_alice, make_agent, support, start_conversation):
    bob = make_agent(teams=[support])
    boss = make_agent(teams=[support], is_superuser=True)
    conversation = start_conversation()

    refused = patch(bob, conversation, {"assignee": full_alice.pk, "force": True})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert assignee_of(conversation) is None

    forced = patch(boss, conversation, {"assignee": "alice@example.com", "force": True})
    assert forced.status_code == 200 and forced.json()["assignee"]["id"] == full_alice.pk
    assert open_count(full_alice) == 2

    # Even a supervisor needs to say so.
    another = start_conversation()
    assert patch(boss, another, {"assignee": full_alice.pk}).status_code == 409


def test_the_api_allows_what_takes_no_place(full_alice, make_agent, support, start_conversation):
    bob = make_agent(teams=[support])
    pending = start_conversation()
    conversation_set_status(conversation=pending, status=Status.PENDING)
    assert patch(bob, pending, {"assignee": full_alice.pk}).status_code == 200  # not open

    held = Conversation.objects.get(assignee=full_alice, status=Status.OPEN)
    assert patch(bob, held, {"assignee": full_alice.pk}).status_code == 200  # already hers
    assert patch(bob, held, {"assignee": None}).status_code == 200  # unassigning
    assert patch(bob, start_conversation(), {"assignee": full_alice.pk}).status_code == 200


def test_the_api_answers_400_for_a_force_that_is_not_a_boolean(
    full_alice, make_agent, start_conversation
):
    response = patch(make_agent(is_superuser=True), start_conversation(), {"force": "maybe"})
    assert response.status_code == 400 and "force" in response.json()["error"]["fields"]


# --- Manual assignment: the admin ------------------------------------------------------------


def test_the_admin_refuses_each_assignment_above_capacity(
    client, full_alice, make_agent, start_conversation
):
    lead = make_agent(capacity=1)  # staff, not a superuser
    lead_model_permissions(lead)
    client.force_login(lead)
    first, second = start_conversation(), start_conversation()

    response = run_action(
        client, "assign_to_agent", [first, second], apply="1", agent=full_alice.pk
    )

    messages = flash(response)
    assert any(
        "2 conversations were not changed" in text and f"#{first.pk}: Alice" in text
        for text in messages
    ), messages
    assert assignee_of(first) is None and assignee_of(second) is None

    # "Assign to me": the first fits the lead's capacity of one, the second does not.
    response = run_action(client, "assign_to_me", [first, second])
    messages = flash(response)
    assert "1 conversation assigned to you." in messages
    assert any(f"#{second.pk}:" in text and "capacity" in text for text in messages), messages
    assert assignee_of(first) == lead and assignee_of(second) is None


def test_a_superuser_assigns_above_capacity_and_is_told(
    client, full_alice, make_agent, start_conversation
):
    client.force_login(make_agent(is_superuser=True))
    first, second = start_conversation(), start_conversation()

    response = run_action(
        client, "assign_to_agent", [first, second], apply="1", agent=full_alice.pk
    )

    messages = flash(response)
    assert "2 conversations assigned to Alice." in messages
    assert f"#{first.pk}, #{second.pk} were assigned to Alice above their capacity." in messages
    assert open_count(full_alice) == 3


def test_the_admin_change_form_checks_capacity_too(
    client, full_alice, make_agent, start_conversation
):
    lead = make_agent()
    lead_model_permissions(lead)
    client.force_login(lead)
    conversation = start_conversation()
    url = reverse("admin:conversations_conversation_change", args=[conversation.pk])
    form = {
        "status": "open",
        "assignee": full_alice.pk,
        "priority": "normal",
        "team": conversation.team_id,
    }

    response = client.post(url, form, follow=True)

    assert any("at capacity" in text for text in flash(response)), flash(response)
    assert assignee_of(conversation) is None

    client.force_login(make_agent(is_superuser=True))
    response = client.post(url, form, follow=True)
    assert any("above their capacity" in text for text in flash(response)), flash(response)
    assert assignee_of(conversation) == full_alice


def lead_model_permissions(user) -> None:
    from django.contrib.auth.models import Permission

    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="conversations",
            codename__in=["view_conversation", "change_conversation"],
        )
    )


# --- Capacity under concurrency (real transactions, one connection per thread) ---------------


def run_in_threads(count: int, work) -> list[BaseException]:
    """Start `count` threads together; each runs work(index) on its own connection."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def target(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            work(index)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    close_old_connections()
    return errors


@pytest.mark.django_db(transaction=True)
def test_capacity_holds_under_concurrent_arrivals(make_team, make_agent):
    team = make_team("Support", is_default=True)
    agents = [make_agent(teams=[team], presence=Presence.ONLINE, capacity=2) for _ in range(3)]
    customers = [customer_create(name=f"c{n}") for n in range(20)]

    def start_some(index: int) -> None:
        for customer in customers[index::8]:  # 20 conversations from 8 threads at once
            conversation_start(customer=customer, body="Hello?", client_id="first")

    assert run_in_threads(8, start_some) == []

    assert Conversation.objects.count() == 20
    assert {user.pk: open_count(user) for user in agents} == {user.pk: 2 for user in agents}
    assert Conversation.objects.filter(assignee__isnull=True).count() == 14
    assert Conversation.objects.filter(assignee__isnull=False).count() == 6


@pytest.mark.django_db(transaction=True)
def test_capacity_holds_while_places_free_and_fill_concurrently(make_team, make_agent):
    team = make_team("Support", is_default=True)
    agents = [make_agent(teams=[team], presence=Presence.ONLINE, capacity=2) for _ in range(3)]
    first = [
        conversation_start(customer=customer_create(name=f"a{n}"), body="Hi", client_id="x")[0]
        for n in range(6)
    ]
    assert all(conversation.assignee_id for conversation in Conversation.objects.all())
    customers = [customer_create(name=f"b{n}") for n in range(12)]

    def work(index: int) -> None:
        if index < 3:  # three threads resolve two conversations each...
            for conversation in first[index * 2 : index * 2 + 2]:
                conversation_resolve(conversation=conversation)
        else:  # ...while five start twelve new ones
            for customer in customers[index - 3 :: 5]:
                conversation_start(customer=customer, body="Hello?", client_id="first")

    assert run_in_threads(8, work) == []

    counts = [open_count(user) for user in agents]
    assert counts == [2, 2, 2]  # every freed place refilled, none exceeded
    assert Conversation.objects.filter(status=Status.OPEN, assignee__isnull=True).count() == 6


@pytest.mark.django_db(transaction=True)
def test_concurrent_manual_and_automatic_assignment_respect_capacity(make_team, make_agent):
    """A lead assigning by hand races routing for Alice's last place: one of them wins."""
    team = make_team("Support", is_default=True)
    alice = make_agent(teams=[team], presence=Presence.OFFLINE, capacity=1)
    lead = make_agent(teams=[team])
    queued_one = conversation_start(customer=customer_create(), body="Hi", client_id="x")[0]
    by_hand = conversation_start(customer=customer_create(), body="Hi", client_id="y")[0]
    Agent.objects.filter(pk=alice.pk).update(presence=Presence.ONLINE)  # routing has not seen it
    outcomes: list[int] = []

    def work(index: int) -> None:
        if index == 0:
            routing.drain_all_queues()
        else:
            response = patch(lead, by_hand, {"assignee": alice.pk})
            outcomes.append(response.status_code)

    assert run_in_threads(2, work) == []

    assert open_count(alice) == 1
    assert outcomes in ([200], [409])
    if outcomes == [200]:
        assert assignee_of(by_hand) == alice and assignee_of(queued_one) != alice
