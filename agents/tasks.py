"""Celery tasks of the agents app: thin, idempotent, calling agents' own functions."""

from celery import shared_task

from . import presence


@shared_task(ignore_result=True)
def expire_stale_agent_connections() -> int:
    """Agents whose browser or server died without closing the socket go offline."""
    return presence.expire_stale_connections()
