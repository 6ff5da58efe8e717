from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HelpcenterConfig(AppConfig):
    name = "helpcenter"
    verbose_name = _("Help center")

    def ready(self) -> None:
        from conversations.events import event_published
        from conversations.seams import register_bot_gate

        from .bot import answer_on_event, bot_answers_first

        register_bot_gate(bot_answers_first)
        event_published.connect(answer_on_event, dispatch_uid="helpcenter.bot.answer")
