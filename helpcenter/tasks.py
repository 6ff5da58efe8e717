"""Celery tasks of the help center: thin, idempotent, calling its own functions."""

from celery import shared_task

from . import bot


@shared_task(ignore_result=True)
def resolve_idle_bot_conversations() -> int:
    """Bot conversations the customer left are resolved without a human (docs/bot.md)."""
    return bot.resolve_idle_bot_conversations()
