"""Where the helpdesk may send requests on an inbox's behalf (webhook URLs, platform bases).

An admin types these URLs, so without a check an inbox could make the helpdesk call its own
network (server-side request forgery): loopback, private, link-local and reserved addresses
are refused unless the operator sets HELPDESK_WEBHOOK_ALLOW_PRIVATE=1. The check runs when the
inbox is saved and again before every request (a name may resolve elsewhere later).
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from conversations.errors import InvalidInput


def check_target(url: str, *, field: str) -> str:
    """`url` if the helpdesk may call it, else InvalidInput (400) naming `field`."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        message = _("Give an http(s) URL.")
        raise InvalidInput(message, fields={field: message})
    if settings.HELPDESK_WEBHOOK_ALLOW_PRIVATE:
        return url
    for address in _addresses(parts.hostname, field):
        if not address.is_global:
            message = _(
                "This URL points to a private or local address; the helpdesk does not call "
                "those (HELPDESK_WEBHOOK_ALLOW_PRIVATE)."
            )
            raise InvalidInput(message, code="private_target", fields={field: message})
    return url


def _addresses(host: str, field: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as error:
        message = _("The host name does not resolve.")
        raise InvalidInput(message, code="unknown_host", fields={field: message}) from error
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
