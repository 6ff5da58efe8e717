"""Which web origins may talk to the helpdesk from a browser.

Pure functions of setting values (no Django import), so settings.py may call them too, e.g.
to feed django-cors-headers the same list the customer websocket accepts.
"""

from collections.abc import Iterable
from urllib.parse import urlsplit

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
