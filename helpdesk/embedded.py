"""The embedded mode's stand-in for `celery beat`: periodic tasks on a thread of the server.

With no REDIS_URL there is no broker and no beat process; `manage.py serve` starts this
ticker so that snoozes still wake, reports still update and stale presence still expires.
"""

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections

from .celery import app

logger = logging.getLogger(__name__)
TICK_SECONDS = 1.0


def start_ticker() -> threading.Thread:
    # A worker imports every app's tasks module when it starts (autodiscovery waits for
    # that); here nothing else would, and a task nobody imported is not registered.
    app.loader.import_default_modules()
    thread = threading.Thread(target=_run, name="embedded-beat", daemon=True)
    thread.start()
    return thread


def _run() -> None:
    schedule = {
        name: float(entry["schedule"]) for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
    }
    due = dict.fromkeys(schedule, time.monotonic())
    while True:
        now = time.monotonic()
        for name, every in schedule.items():
            if now >= due[name]:
                due[name] = now + every
                _run_task(settings.CELERY_BEAT_SCHEDULE[name]["task"])
        time.sleep(TICK_SECONDS)


def _run_task(task_name: str) -> None:
    close_old_connections()
    try:
        app.tasks[task_name].apply()
    except Exception:  # a failing task must not stop the others
        logger.exception("periodic task %s failed", task_name)
    finally:
        close_old_connections()
