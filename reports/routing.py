"""The reports dashboard's websocket, behind the agent socket's origin check and session."""

from conversations.live.routing import staff_socket

from .consumers import ReportsConsumer

reports_socket = staff_socket(ReportsConsumer.as_asgi())
