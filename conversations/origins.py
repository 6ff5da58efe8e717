"""Which web origins may talk to the helpdesk from a browser, and the websockets' origin
checks (shared/API.md "Websockets").

Channels' OriginValidator, with two differences:
- the allowed list is read from settings on every handshake, not once at import, so a
  settings change (or `override_settings` in a test) applies to the running server;
- a handshake *without* an Origin header passes. Browsers always send one on websockets,
  so a missing header means a script or an integration (authenticated by its token), and
  cross-site websocket hijacking, the attack this check stops, needs a browser.
"""

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import OriginValidator
from django.conf import settings

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL, lower-cased, without a default port or a path."""
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if not scheme or not host:
        raise ValueError(f"not an absolute URL: {url!r}")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    return (
        f"{scheme}://{host}"
        if port in (None, DEFAULT_PORTS.get(scheme))
        else (f"{scheme}://{host}:{port}")
    )


def widget_origins(configured: Iterable[str], public_url: str) -> list[str]:
    """Full origins of the sites that embed the widget (CORS and the customer websocket).

    `configured` is HELPDESK_WIDGET_ORIGINS; when empty, the helpdesk's own origin, taken
    from HELPDESK_PUBLIC_URL, is the only one.
    """
    origins = [origin_of(origin) for origin in configured if origin.strip()]
    return _unique(origins or [origin_of(public_url)])


def customer_socket_origins(
    configured: Iterable[str], public_url: str, allowed_hosts: Iterable[str]
) -> list[str]:
    """Origin patterns for channels' OriginValidator on the customer websocket.

    The widget origins, plus the helpdesk's own origin and hosts (ALLOWED_HOSTS, any scheme
    and port): pages the helpdesk serves itself, such as an email's resume link, open the
    socket too, and a same-origin page is never a cross-site risk. A bare `*` host is left
    out: it would accept every site.
    """
    own = [origin_of(public_url), *(host for host in allowed_hosts if host.strip() != "*")]
    return _unique([*widget_origins(configured, public_url), *own])


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


class SettingsOriginValidator(OriginValidator):
    def __init__(self, application: Any, allowed_origins: Callable[[], list[str]]) -> None:
        self.application = application
        self._allowed_origins = allowed_origins

    @property
    def allowed_origins(self) -> list[str]:  # read by OriginValidator.validate_origin
        return self._allowed_origins()

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True  # not a browser: see the module docstring
        return self.validate_origin(parsed_origin)


def agent_socket_origins() -> list[str]:
    """The helpdesk's own hosts, as channels' AllowedHostsOriginValidator computes them."""
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = ["localhost", "127.0.0.1", "[::1]"]
    return hosts


def widget_socket_origins() -> list[str]:
    return customer_socket_origins(
        settings.HELPDESK_WIDGET_ORIGINS, settings.HELPDESK_PUBLIC_URL, settings.ALLOWED_HOSTS
    )


def agent_origin_validator(application: Any) -> SettingsOriginValidator:
    return SettingsOriginValidator(application, agent_socket_origins)


def widget_origin_validator(application: Any) -> SettingsOriginValidator:
    return SettingsOriginValidator(application, widget_socket_origins)
