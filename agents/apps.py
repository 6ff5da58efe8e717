from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = _("Agents")

    def ready(self) -> None:
        from conversations.seams import register_agent_provisioner, register_assignment_policy

        # Signal receivers: presence counts agent websockets; routing follows events and agents.
        from . import presence, receivers  # noqa: F401
        from .routing import check_assign
        from .services import agent_provision

        register_assignment_policy(check_assign)
        register_agent_provisioner(agent_provision)
