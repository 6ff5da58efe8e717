"""The helpdesk's public address, and the settings that follow from it.

HELPDESK_PUBLIC_URL is the base of the links the helpdesk writes (an email's resume link)
and, unless configured otherwise, the widget's origin and the websocket origin of the CSP.
settings.py computes them with `derived_settings` at start-up. When the operator sets no
HELPDESK_PUBLIC_URL, `manage.py serve` calls `follow_server` with the address it listens
on, so `serve --port 8100` writes links to port 8100, not to the default 8000.

It belongs to the project: the apps read the settings, never this module.
"""

import os
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


def own_origin(public_url: str) -> str:
    """`scheme://host[:port]` of the public URL."""
    parts = urlsplit(public_url)
    return f"{parts.scheme}://{parts.netloc}"


def socket_origin(public_url: str) -> str:
    """The websocket origin of the public URL: wss:// for https://, else ws://."""
    parts = urlsplit(public_url)
    return "{}://{}".format("wss" if parts.scheme == "https" else "ws", parts.netloc)


def derived_settings(public_url: str, widget_origins: list[str]) -> dict[str, Any]:
    """The settings that depend on the public URL; `widget_origins` as configured (empty:
    the helpdesk's own origin only)."""
    origins = widget_origins or [own_origin(public_url)]
    return {
        "HELPDESK_PUBLIC_URL": public_url,
        "HELPDESK_WIDGET_ORIGINS": origins,
        "CORS_ALLOWED_ORIGINS": origins,
        "HELPDESK_SOCKET_ORIGIN": socket_origin(public_url),
    }


def follow_server(base_url: str) -> None:
    """Make `base_url`, where this process serves, the public URL, unless the operator set
    HELPDESK_PUBLIC_URL (their choice wins). Widget origins they configured stay as they are."""
    if os.environ.get("HELPDESK_PUBLIC_URL"):
        return
    configured = (
        settings.HELPDESK_WIDGET_ORIGINS if os.environ.get("HELPDESK_WIDGET_ORIGINS") else []
    )
    for name, value in derived_settings(base_url, configured).items():
        setattr(settings, name, value)
    policy = settings.CONTENT_SECURITY_POLICY
    directives = {**policy["DIRECTIVES"], "connect-src": ["'self'", socket_origin(base_url)]}
    settings.CONTENT_SECURITY_POLICY = {**policy, "DIRECTIVES": directives}
