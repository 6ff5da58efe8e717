"""The cursor scheme survives transactions that commit out of id order (DESIGN.md), read as an
agent's socket reads the log (a superuser's: every conversation)."""

import threading

import pytest
from django.db import connection, transaction

from conversations.events import publish_pending_events
from conversations.models import ConversationEvent
from conversations.selectors import agent_events_after
from conversations.services import Author, message_post

pytestmark = pytest.mark.django_db(transaction=True)


def post(conversation, body: str) -> None:
    message_post(conversation=conversation, author=Author.customer(), body=body, client_id=body)


def test_an_event_committed_late_gets_a_later_cursor(start_conversation, make_agent):
    superuser = make_agent(is_superuser=True)
    first, second = start_conversation(), start_conversation()
    inserted, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                post(first, "slow")  # takes its id now ...
                inserted.set()
                release.wait(10)  # ... and commits later
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert inserted.wait(10)
    cursor = max(e.cursor for e in agent_events_after(superuser, None))
    post(second, "fast")  # inserted after "slow", committed before it

    seen = list(agent_events_after(superuser, cursor))
    assert [e.message.body for e in seen] == ["fast"]
    cursor = seen[-1].cursor

    release.set()
    thread.join()
    late = list(agent_events_after(superuser, cursor))
    assert [e.message.body for e in late] == ["slow"], "the late commit is not skipped"
    slow_event, fast_event = late[0], seen[0]
    assert slow_event.id < fast_event.id and slow_event.cursor > fast_event.cursor


def test_concurrent_writers_and_a_polling_reader_lose_nothing(start_conversation, make_agent):
    superuser = make_agent(is_superuser=True)
    conversations = [start_conversation() for _ in range(4)]
    writers_done = threading.Event()
    received: list[int] = []
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            for n in range(25):
                post(conversations[(index + n) % len(conversations)], f"w{index}-{n}")
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
        finally:
            connection.close()

    def reader() -> None:
        cursor = None
        try:
            while True:
                finished = writers_done.is_set()
                batch = list(agent_events_after(superuser, cursor))
                received.extend(e.id for e in batch)
                if batch:
                    cursor = batch[-1].cursor
                elif finished:
                    return
        finally:
            connection.close()

    reading = threading.Thread(target=reader)
    writing = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    reading.start()
    for thread in writing:
        thread.start()
    for thread in writing:
        thread.join()
    publish_pending_events()
    writers_done.set()
    reading.join()

    assert not errors
    expected = list(ConversationEvent.objects.order_by("cursor").values_list("id", flat=True))
    assert len(expected) == 4 * 2 + 6 * 25
    assert sorted(received) == sorted(expected), "every event seen exactly once"
    assert ConversationEvent.objects.filter(cursor__isnull=True).count() == 0
