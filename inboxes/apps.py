from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxesConfig(AppConfig):
    """Channels (docs/channels.md): each platform a plug-in registered in registry.py; the core
    asks its question through seams.reply_check and publishes replies on the event log."""

    name = "inboxes"
    verbose_name = _("Channels")

    def ready(self) -> None:
        from conversations.events import event_published
        from conversations.seams import register_reply_check

        from .platforms import api, graph, home, telegram, whatsapp  # noqa: F401 (they register)
        from .receivers import deliver_on_event
        from .services import check_reply

        register_reply_check(check_reply)
        event_published.connect(deliver_on_event, dispatch_uid="inboxes.deliver")
