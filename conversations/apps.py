from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = _("Conversations")

    def ready(self) -> None:
        from django.core import checks

        from . import receivers  # noqa: F401  (email continuity follows the event log)
        from .live import access  # noqa: F401  (open sockets follow access changes)
        from .seams import check_seams_answered

        checks.register(check_seams_answered)
