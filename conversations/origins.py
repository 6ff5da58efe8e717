"""Origin checks for the websockets (shared/API.md "Websockets").

Channels' OriginValidator, with two differences:
- the allowed list is read from settings on every handshake, not once at import, so a
  settings change (or `override_settings` in a test) applies to the running server;
- a handshake *without* an Origin header passes. Browsers always send one on websockets,
  so a missing header means a script or an integration (authenticated by its token), and
  cross-site websocket hijacking, the attack this check stops, needs a browser.
"""

from collections.abc import Callable
from typing import Any

from channels.security.websocket import OriginValidator
from django.conf import settings

from helpdesk.origins import customer_socket_origins


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
