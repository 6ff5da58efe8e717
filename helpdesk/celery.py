"""The Celery app (`celery -A helpdesk worker` / `celery -A helpdesk beat`)."""

import functools
import os
from collections.abc import Callable
from typing import Any

from celery import Celery
from celery.worker.consumer import Consumer as CeleryConsumer

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")


def _closing_quietly(close: Callable[[], Any]) -> Callable[[], Any]:
    @functools.wraps(close)
    def call() -> Any:
        try:
            return close()
        except AttributeError:
            return None  # see Consumer below

    return call


class Consumer(CeleryConsumer):
    """Celery 5.7.0's consumer, surviving a broker (Redis) that drops while the worker holds
    an unacknowledged task, as it always does here (a report update waits on a countdown).

    On a lost connection 5.7.0 collects the connection, which releases its transport, then
    closes it again; the second close tries to restore the unacknowledged messages through
    the released transport and raises AttributeError, which the worker calls unrecoverable:
    it exits for good ("'NoneType' object has no attribute 'hostname'"). The second close has
    nothing left to do (Redis keeps the unacknowledged messages and gives them back after the
    visibility timeout), so its AttributeError is dropped and the worker reconnects.
    tests/faults/test_redis_outage.py holds the worker to it.
    """

    def on_connection_error_after_connected(self, exc: Exception) -> None:
        if self.connection is not None:
            self.connection.close = _closing_quietly(self.connection.close)
        super().on_connection_error_after_connected(exc)


app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
