from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = _("Agents")

    def ready(self) -> None:
        # Signal receivers: presence counts agent websockets; routing follows events and agents.
        from . import presence, receivers  # noqa: F401
