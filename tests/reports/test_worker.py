"""A real Celery worker (not eager mode) computes the report after live events."""

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.cache import cache
from django.utils import timezone

from conversations.services import Author, conversation_resolve, message_post
from helpdesk.celery import app
from reports.selectors import Slice, summary
from reports.tasks import SCHEDULED_KEY

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(check, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    raise AssertionError("the worker did not compute the report in time")


def test_worker_updates_the_report_after_a_reply_and_a_resolution(start_conversation, make_agent):
    assert not app.conf.task_always_eager
    app.control.purge()  # stale tasks of earlier runs
    cache.delete(SCHEDULED_KEY)
    agent = make_agent()
    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        conversation = start_conversation()
        message_post(
            conversation=conversation,
            author=Author.of_agent(agent),
            body="Merhaba!",
            client_id="r1",
        )
        conversation_resolve(conversation=conversation, by=agent)
        now = timezone.now()

        def resolved_report():
            report = summary(
                now - timedelta(hours=1), now + timedelta(hours=1), Slice(agent=agent.pk)
            )
            return report if report["conversations"]["resolved"] == 1 else None

        report = wait_for(resolved_report)
    assert report["first_response_time"]["count"] == 1
    assert report["resolution_time"]["count"] == 1
