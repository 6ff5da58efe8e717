"""Celery tasks of the agents app: thin, idempotent, calling agents' own functions."""

from celery import shared_task

from . import presence, routing


@shared_task(ignore_result=True)
def expire_stale_agent_connections() -> int:
    """Agents whose browser or server died without closing the socket go offline."""
    return presence.expire_stale_connections()


@shared_task(ignore_result=True)
def drain_team_queues() -> int:
    """Assign queued conversations wherever an online agent has room.

    Signals drain queues the moment room appears; this catches what a lost signal missed
    (a crash after commit, an agent row changed by a bulk update). Idempotent.
    """
    return routing.drain_all_queues()
