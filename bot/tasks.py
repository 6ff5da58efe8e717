"""Celery tasks of the bot: thin, idempotent, calling its own functions."""

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def resolve_idle_bot_conversations() -> int:
    """Bot conversations the customer left are resolved without a human (docs/bot.md)."""
    return services.resolve_idle_bot_conversations()
