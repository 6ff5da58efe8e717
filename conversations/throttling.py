"""Rate limits: who the client is, one atomic counter, and the API's throttles on top of it.

Rates are scoped in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] and read at request
time (not import time), so deployments and tests can change them. Counters live in the
default cache: Redis when REDIS_URL is set, so every server process counts together.

A counter is a cache key that `add` creates (SET NX with an expiry) and `incr` raises
(INCR): both atomic on Redis and under a lock on LocMem, so a burst of concurrent requests
is counted exactly. DRF's SimpleRateThrottle read its list of timestamps, then wrote it back:
300 concurrent requests against 30/min got 223 through.
"""

import ipaddress
import math
import time
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext, ngettext
from rest_framework import exceptions, throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


# --- Who is calling -----------------------------------------------------------------------------


def client_ip(remote_addr: str | None, forwarded_for: str | None) -> str:
    """The client's address: the peer's, unless HELPDESK_TRUSTED_PROXIES proxies stand in front.

    Each of N trusted proxies appends the address it received from to X-Forwarded-For, so the
    Nth entry from the right is what the outermost one saw; anything left of it is whatever
    the client chose to send. With N = 0 the header is ignored altogether.
    """
    proxies = settings.HELPDESK_TRUSTED_PROXIES
    if proxies > 0 and forwarded_for:
        entries = [entry.strip() for entry in forwarded_for.split(",")]
        candidate = entries[-min(proxies, len(entries))]
        if _is_ip(candidate):
            return candidate
    return remote_addr or "unknown"


def request_ip(meta: Mapping[str, Any]) -> str:
    """`client_ip` of a Django request (its META)."""
    return client_ip(meta.get("REMOTE_ADDR"), meta.get("HTTP_X_FORWARDED_FOR"))


def scope_ip(scope: Mapping[str, Any]) -> str:
    """`client_ip` of an ASGI scope (a websocket's)."""
    peer = scope.get("client") or (None,)
    forwarded = [
        value.decode("latin1")
        for name, value in scope.get("headers", ())
        if name.lower() == b"x-forwarded-for"
    ]
    return client_ip(peer[0], ",".join(forwarded) or None)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


# --- The counter ----------------------------------------------------------------------------------


def parse_rate(rate: str) -> tuple[int, int]:
    """A rate as (limit, window seconds): "30/min" is (30, 60). DRF's format: N per second,
    minute, hour or day."""
    count, period = rate.split("/")
    return int(count), PERIODS[period.strip()[0]]


def hit(key: str, limit: int, window: int) -> float | None:
    """Counts one attempt at `key`; None while within `limit` per `window` seconds, else how
    many seconds until the window ends.

    The window starts with the first attempt (no clock boundary lets 2 × limit through).
    This, `unhit` and `_seconds_left` are the only functions here that talk to the cache.
    """
    if cache.add(key, 0, timeout=window):
        cache.set(f"{key}:ends", time.time() + window, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # the window ended between add and incr: start the next one
        cache.add(key, 0, timeout=window)
        count = cache.incr(key)
    if count <= limit:
        return None
    return _seconds_left(key, window)


def unhit(key: str) -> None:
    """Takes back one attempt counted by `hit` (a login that turned out right)."""
    try:
        cache.decr(key)
    except ValueError:  # the window has ended meanwhile: nothing left to take back
        pass


def _seconds_left(key: str, window: int) -> float:
    ends = cache.get(f"{key}:ends")
    return max(1.0, ends - time.time()) if ends else float(window)


def scoped_rate(scope: str) -> tuple[int, int] | None:
    """A scope's (limit, window) from DEFAULT_THROTTLE_RATES; None when the scope is unlimited."""
    rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
    return parse_rate(rate) if rate else None


def scope_key(scope: str, ident: str) -> str:
    return f"helpdesk:rate:{scope}:{ident}"


def hit_scope(scope: str, ident: str) -> float | None:
    """`hit` for the scope's rate: None if allowed, else the seconds to wait."""
    rate = scoped_rate(scope)
    if rate is None:
        return None
    return hit(scope_key(scope, ident), *rate)


# --- The API's throttles -----------------------------------------------------------------------


class RateLimited(exceptions.Throttled):
    default_code = "rate_limited"

    def __init__(self, wait: float | None = None):
        detail = gettext("Too many requests. Please wait a moment and try again.")
        if wait is not None:
            wait = math.ceil(wait)
            detail += " " + ngettext(
                "Try again in %(wait)d second.", "Try again in %(wait)d seconds.", wait
            ) % {"wait": wait}
        super().__init__(wait=None, detail=detail)
        self.wait = wait  # DRF's handler turns it into a Retry-After header


class _ScopedRate(throttling.BaseThrottle):
    scope = ""

    def __init__(self) -> None:
        self.seconds_left: float | None = None

    def ident(self, request: Request) -> str:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        self.seconds_left = hit_scope(self.scope, self.ident(request))
        return self.seconds_left is None

    def wait(self) -> float | None:
        return self.seconds_left

    def get_ident(self, request: Request) -> str:
        return request_ip(request.META)


class PerIPThrottle(_ScopedRate):
    """For calls made before there is a customer (sessions, availability)."""

    def ident(self, request: Request) -> str:
        return self.get_ident(request)


class PerCustomerThrottle(_ScopedRate):
    """Counts per customer, falling back to the IP for anonymous callers."""

    def ident(self, request: Request) -> str:
        customer_id = getattr(request.user, "pk", None) if request.user else None
        return f"customer-{customer_id}" if customer_id else self.get_ident(request)


class PerAgentThrottle(_ScopedRate):
    """The agent API, per user: a leaked token cannot flood (HELPDESK_RATE_AGENT)."""

    scope = "agent"

    def ident(self, request: Request) -> str:
        user_id = getattr(request.user, "pk", None) if request.user else None
        return f"user-{user_id}" if user_id else self.get_ident(request)


class WidgetSessionsThrottle(PerIPThrottle):
    scope = "widget_sessions"


class WidgetAvailabilityThrottle(PerIPThrottle):
    scope = "widget_availability"


class WidgetConversationsThrottle(PerCustomerThrottle):
    scope = "widget_conversations"


class WidgetMessagesThrottle(PerCustomerThrottle):
    scope = "widget_messages"


class WidgetPageviewsThrottle(PerCustomerThrottle):
    scope = "widget_pageviews"


class WidgetCustomerThrottle(PerCustomerThrottle):
    """Every call of a widget customer: a generous budget that only a loop meets."""

    scope = "widget_customer"


class InboundEmailThrottle(PerIPThrottle):
    """The inbound email webhook; counted before the secret is checked, so guessing is too."""

    scope = "inbound_email"


class FilesThrottle(PerIPThrottle):
    """Downloads by signed link, per IP: a page of images is many, a guessing loop more."""

    scope = "files"


class RateLimitedMixin:
    """Answers 429 with code "rate_limited" (and a Retry-After header).

    `post_throttle_classes` apply to POST only: reading a thread is cheap, writing is not.
    """

    post_throttle_classes: tuple[type[throttling.BaseThrottle], ...] = ()

    def get_throttles(self) -> list[throttling.BaseThrottle]:
        throttles = list(super().get_throttles())  # type: ignore[misc]
        if self.request.method == "POST":  # type: ignore[attr-defined]
            throttles += [throttle() for throttle in self.post_throttle_classes]
        return throttles

    def throttled(self, request: Request, wait: float | None) -> None:
        raise RateLimited(wait)
