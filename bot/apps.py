from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BotConfig(AppConfig):
    """The bot (docs/bot.md): stands on the core, agents' availability and the help center's
    search, and plugs into the core through a seam and the event log."""

    name = "bot"
    verbose_name = _("Bot")

    def ready(self) -> None:
        from conversations.events import event_published
        from conversations.seams import register_bot_gate

        from .services import answer_on_event, bot_answers_first

        register_bot_gate(bot_answers_first)
        event_published.connect(answer_on_event, dispatch_uid="bot.answer")
