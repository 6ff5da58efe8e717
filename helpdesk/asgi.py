"""ASGI entry point: HTTP through Django, websockets through Channels (origin-checked)."""

import asyncio
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
django_asgi_app = get_asgi_application()  # set up Django before importing consumers

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from conversations import events  # noqa: E402
from conversations.routing import websocket_urlpatterns  # noqa: E402

router = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)


async def application(scope, receive, send):  # type: ignore[no-untyped-def]
    """The router, remembering the server's event loop for broadcasts from request threads."""
    events.server_loop = asyncio.get_running_loop()
    return await router(scope, receive, send)
