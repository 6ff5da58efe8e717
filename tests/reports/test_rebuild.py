"""The full rebuild (reports/rebuild.py): the same rows as the incremental path, on several
processes too; events arriving during a rebuild are neither lost nor counted twice; a rebuild
that fails half-way leaves the previous numbers."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections

from conversations.events import publish_pending_events
from conversations.models import Inbox
from conversations.services import (
    Author,
    conversation_assign,
    conversation_rate,
    conversation_reopen,
    conversation_resolve,
    conversation_set_status,
    conversation_start,
    conversation_update,
    customer_answer_nps,
    message_post,
)
from reports.models import MetricFact, MetricHistogram, MetricRollup, ReportCursor
from reports.selectors import Slice, summary
from reports.services import LOCK_NAMESPACE, process_new_events, rebuild_all

from .test_reports import snapshot

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def varied_history(make_customer, make_agent, make_team, count: int = 24, seed: int = 5):
    """Conversations over several days with teams moved, notes, bots, pending spells,
    reopens (by message and explicitly), unassigned resolutions, ratings, NPS answers (after
    the conversation, and a few after none), channels and inboxes (two of one channel)."""
    rng = random.Random(seed)
    nps_rng = random.Random(seed + 1)  # its own: the rest of the history stays as it was
    teams = [make_team(), make_team()]
    agents = [make_agent(teams=[teams[n % 2]]) for n in range(4)]
    # Two inboxes of one channel; the widget's and email's own come with their conversations.
    api_inboxes = [Inbox.objects.create(channel="api", name=f"api {n}") for n in range(2)]
    conversations = []
    for n in range(count):
        at = T0 + timedelta(hours=rng.uniform(0, 24 * 4))
        step = iter(range(1000))

        def later(low: float = 10, high: float = 4000) -> datetime:
            nonlocal at
            at += timedelta(seconds=rng.uniform(low, high))
            return at

        channel = rng.choice(["web", "email", "api"])
        conversation, _ = conversation_start(
            customer=make_customer(),
            body="help",
            client_id=f"v{n}",
            team=rng.choice([None, *teams]),
            channel=channel,
            at=at,
            inbox=api_inboxes[n % 2] if channel == "api" else None,
        )
        agent = rng.choice(agents)
        resolved = False
        for _round in range(rng.randint(1, 3)):
            if rng.random() < 0.7:
                conversation_assign(conversation=conversation, assignee=agent, at=later())
            if rng.random() < 0.2:
                message_post(
                    conversation=conversation,
                    author=Author("bot"),
                    body="bot",
                    client_id=f"v{n}-{next(step)}",
                    at=later(),
                )
            for _turn in range(rng.randint(0, 3)):
                message_post(
                    conversation=conversation,
                    author=Author.of_agent(agent),
                    body="reply",
                    client_id=f"v{n}-{next(step)}",
                    private=rng.random() < 0.2,
                    at=later(),
                )
                if not resolved and rng.random() < 0.3:
                    conversation_set_status(conversation=conversation, status="pending", at=later())
                message_post(
                    conversation=conversation,
                    author=Author.customer(),
                    body="more",
                    client_id=f"v{n}-{next(step)}",
                    at=later(),
                )
                resolved = False  # a customer message reopens
            if rng.random() < 0.3:
                conversation_update(conversation=conversation, team=rng.choice(teams), at=later())
            if not resolved and rng.random() < 0.8:
                by = agent if rng.random() < 0.7 else None
                conversation_resolve(conversation=conversation, by=by, at=later())
                if rng.random() < 0.5:
                    conversation_rate(
                        conversation=conversation, score=rng.randint(1, 5), at=later()
                    )
                resolved = True
                if rng.random() < 0.3:
                    conversation_reopen(conversation=conversation, at=later())
                    resolved = False
        if nps_rng.random() < 0.6:
            customer_answer_nps(
                customer=conversation.customer,
                conversation=conversation if nps_rng.random() < 0.8 else None,
                score=nps_rng.randint(0, 10),
                at=at + timedelta(minutes=nps_rng.uniform(1, 60)),
            )
        conversations.append(conversation)
    publish_pending_events()
    return conversations


def incremental_from_scratch() -> tuple:
    """What the incremental path alone computes from the whole log."""
    for model in (MetricFact, MetricRollup, MetricHistogram):
        model.objects.all().delete()
    ReportCursor.objects.update_or_create(pk=1, defaults={"cursor": 0})
    while process_new_events():
        pass
    return snapshot()


def staging_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE %s", ["%_rebuild"])
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_the_rebuild_gives_the_incremental_rows_for_a_varied_history(
    make_customer, make_agent, make_team
):
    varied_history(make_customer, make_agent, make_team)
    expected = incremental_from_scratch()
    assert len(expected[0]) > 200 and len(expected[1]) > 200  # a history worth comparing
    assert {row[2] for row in expected[0]} >= {"csat", "nps"}
    assert len({row[9] for row in expected[0]}) == 4  # the facts of four inboxes
    for chunk_size in (1, 7, 20_000):
        assert rebuild_all(chunk_size=chunk_size) == len(expected[0])
        assert snapshot() == expected


@pytest.mark.django_db(transaction=True)
def test_the_rebuild_on_two_processes_gives_the_incremental_rows(
    make_customer, make_agent, make_team
):
    conversations = varied_history(make_customer, make_agent, make_team)
    expected = incremental_from_scratch()
    seen = []
    written = rebuild_all(
        chunk_size=5, workers=2, progress=lambda done, total: seen.append((done, total))
    )
    assert written == len(expected[0])
    assert snapshot() == expected
    assert seen[-1] == (len(conversations), len(conversations))
    assert staging_tables() == []
    # the swapped-in tables are the real thing: indexes in place, the incremental path goes on
    assert MetricFact.objects.filter(conversation_id=conversations[0].pk).exists()
    assert process_new_events() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("workers", [1, 2])
def test_events_during_a_rebuild_are_counted_once(make_customer, make_agent, make_team, workers):
    conversations = varied_history(make_customer, make_agent, make_team, count=12)
    agent = make_agent()
    while process_new_events():  # the incremental task is up to date when the rebuild starts
        pass
    arrived = []

    def new_events_arrive(done: int, total: int) -> None:
        """Mid-rebuild: a reply and a new conversation, and the incremental task runs on them."""
        if done == 0 or arrived:
            return
        moment = T0 + timedelta(days=2)
        message_post(
            conversation=conversations[0],
            author=Author.of_agent(agent),
            body="late reply",
            client_id="late",
            at=moment,
        )
        conversation_start(
            customer=make_customer(), body="new", client_id="new", at=moment + timedelta(1)
        )
        publish_pending_events()
        arrived.append(process_new_events())

    rebuild_all(chunk_size=4, workers=workers, progress=new_events_arrive)
    assert arrived == [2]
    while process_new_events():  # what the task does after the rebuild
        pass
    after = snapshot()
    assert after == incremental_from_scratch()
    report = summary(T0 - timedelta(days=1), T0 + timedelta(days=30), Slice())
    assert report["conversations"]["created"] == len(conversations) + 1


@pytest.mark.django_db(transaction=True)
def test_a_failed_rebuild_leaves_the_previous_numbers(make_customer, make_agent, make_team):
    varied_history(make_customer, make_agent, make_team, count=12)
    before = incremental_from_scratch()
    cursor_before = ReportCursor.objects.get(pk=1).cursor

    def fail_half_way(done: int, total: int) -> None:
        if done > total // 2:
            raise RuntimeError("the machine went away")

    with pytest.raises(RuntimeError):
        rebuild_all(chunk_size=3, workers=1, progress=fail_half_way)
    assert snapshot() == before
    assert ReportCursor.objects.get(pk=1).cursor == cursor_before
    assert staging_tables() == []
    rebuild_all(chunk_size=3)  # and the next rebuild works
    assert snapshot() == before


@pytest.mark.django_db
def test_a_failed_rebuild_inside_a_transaction_leaves_the_previous_numbers(
    make_customer, make_agent, make_team
):
    varied_history(make_customer, make_agent, make_team, count=6)
    before = incremental_from_scratch()

    def fail(done: int, total: int) -> None:
        if done:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        rebuild_all(chunk_size=2, progress=fail)
    assert snapshot() == before


@pytest.mark.django_db
def test_rebuild_reports_since_recomputes_the_recent_conversations(
    make_customer, make_agent, make_team
):
    conversations = varied_history(make_customer, make_agent, make_team, count=8)
    expected = incremental_from_scratch()
    lost = conversations[-1]
    MetricFact.objects.filter(conversation_id=lost.pk).delete()  # numbers gone astray
    first_event = min(e.at for e in lost.events.all())
    call_command("rebuild_reports", since=first_event.isoformat())
    assert sorted(MetricFact.objects.values_list("conversation_id", "metric", "at", "value")) == (
        sorted((row[0], row[2], row[3], row[4]) for row in expected[0])
    )


@pytest.mark.django_db(transaction=True)
def test_a_second_rebuild_at_the_same_time_is_refused(make_customer, make_agent, make_team):
    varied_history(make_customer, make_agent, make_team, count=4)
    before = incremental_from_scratch()
    other = connections.create_connection("default")  # another process's rebuild
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, 0)", [LOCK_NAMESPACE])
        with pytest.raises(CommandError, match="already running"):
            call_command("rebuild_reports")
        assert snapshot() == before and staging_tables() == []
    finally:
        other.close()
    rebuild_all()
    assert snapshot() == before


@pytest.mark.django_db
def test_history_filed_under_an_inbox_later_shows_by_inbox_after_the_rebuild(
    make_customer, make_agent, make_team
):
    """Imports older than migration 0019 were computed under no inbox; the migration files
    them, and `rebuild_reports` re-slices their numbers (docs/reports.md "Reports by inbox")."""
    from conversations.models import Conversation
    from conversations.services import home_inbox

    agent = make_agent(teams=[make_team()])
    conversation, _ = conversation_start(
        customer=make_customer(), body="help", client_id="old-1", at=T0, external_id="zd-old"
    )
    message_post(
        conversation=conversation,
        author=Author.of_agent(agent),
        body="hello",
        client_id="old-2",
        at=T0 + timedelta(minutes=5),
    )
    Conversation.objects.filter(pk=conversation.pk).update(inbox=None)  # as imported before
    publish_pending_events()
    rebuild_all()
    web = home_inbox("web").pk
    since, until = T0 - timedelta(days=1), T0 + timedelta(days=1)

    def by_inbox(inbox: int) -> tuple[int, int]:
        report = summary(since, until, Slice(inbox=inbox))
        return report["conversations"]["created"], report["first_response_time"]["count"]

    assert by_inbox(web) == (0, 0)
    Conversation.objects.filter(pk=conversation.pk).update(inbox=web)  # what 0019 does
    assert by_inbox(web) == (0, 0)  # the rollups still say "no inbox"
    everyone = summary(since, until, Slice())["conversations"]["created"]

    call_command("rebuild_reports", "--workers", "1")

    assert by_inbox(web) == (1, 1)
    assert summary(since, until, Slice())["conversations"]["created"] == everyone == 1
