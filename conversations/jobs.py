"""Queueing jobs that a periodic sweep would run anyway (report updates, reply emails).

Such an enqueue is best effort: when the broker (Redis) does not answer, it is logged and
skipped at once, without Celery's publish retries (a request would otherwise wait on each),
and the sweep catches up when Redis is back.
"""

import logging
from typing import Any

from celery import Task
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def enqueue(task: Task, *args: Any, countdown: float | None = None) -> bool:
    """Queue `task(*args)`; False (and logged) when the broker does not take it now."""
    try:
        task.apply_async(args, countdown=countdown, retry=False)
    except OperationalError as error:
        logger.warning("could not queue %s (a sweep will run it): %s", task.name, error)
        return False
    return True
