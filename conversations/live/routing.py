"""Websocket routes; each socket has its own origin check (shared/API.md "Websockets").

The agent socket accepts the helpdesk's own hosts (ALLOWED_HOSTS) and reads the Django
session cookie; the customer socket accepts the sites that embed the widget
(HELPDESK_WIDGET_ORIGINS) and authenticates by its token alone.
"""

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import WebsocketDenier
from django.urls import path, re_path

from ..origins import agent_origin_validator, widget_origin_validator
from .consumers import AgentConsumer, CustomerConsumer

websocket_urlpatterns: list = [
    path("ws/customer/", widget_origin_validator(CustomerConsumer.as_asgi())),
    path("ws/agent/", agent_origin_validator(AuthMiddlewareStack(AgentConsumer.as_asgi()))),
    re_path(r"", WebsocketDenier.as_asgi()),  # any other path: handshake refused, not a 500
]
