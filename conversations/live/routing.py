"""Websocket sockets; each has its own origin check (shared/API.md "Websockets").

The agent socket accepts the helpdesk's own hosts (ALLOWED_HOSTS) and reads the Django
session cookie; the customer socket accepts the sites that embed the widget
(HELPDESK_WIDGET_ORIGINS) and authenticates by its token alone. The project's asgi.py puts
them, and other apps' sockets, on their paths.
"""

from typing import Any

from channels.auth import AuthMiddlewareStack

from ..origins import agent_origin_validator, widget_origin_validator
from .consumers import AgentConsumer, CustomerConsumer


def staff_socket(consumer: Any) -> Any:
    """A staff consumer (StaffConsumer) behind the agent socket's origin check and session."""
    return agent_origin_validator(AuthMiddlewareStack(consumer))


customer_socket = widget_origin_validator(CustomerConsumer.as_asgi())
agent_socket = staff_socket(AgentConsumer.as_asgi())
