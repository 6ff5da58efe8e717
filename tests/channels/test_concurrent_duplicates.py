"""A platform that delivers the same webhook several times at once (its retries overlap)
still stores one customer, one conversation and one message."""

import threading

import pytest
from django.db import connections

from conversations.models import Conversation, Customer, Message
from inboxes import services
from inboxes.registry import Inbound

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_same_message_posted_eight_times_at_once_is_stored_once(support):
    inbox, _secret = services.inbox_create(
        channel="telegram", name="Bot", channel_settings={"bot_token": "1:A", "secret_token": "s"}
    )
    inbound = Inbound("5550001", "Ece", "Hello, is anyone there?", "5550001:77")
    start = threading.Barrier(8)
    results: list[bool] = []

    def deliver() -> None:
        try:
            start.wait()
            _message, created = services.receive_message(inbox=inbox, inbound=inbound)
            results.append(created)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) == [False] * 7 + [True]
    assert Customer.objects.filter(external_id=f"inbox-{inbox.pk}:5550001").count() == 1
    assert Conversation.objects.filter(inbox=inbox).count() == 1
    assert Message.objects.filter(conversation__inbox=inbox).count() == 1
