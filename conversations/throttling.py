"""Rate limits of the public widget endpoints.

Rates are scoped in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] and read at request
time (not import time), so deployments and tests can change them. Counters live in the
default cache: Redis when REDIS_URL is set, so every server process counts together.
"""

import math
from typing import Any

from django.utils.translation import gettext, ngettext
from rest_framework import exceptions, throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings


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


class _ScopedRate(throttling.SimpleRateThrottle):
    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class PerIPThrottle(_ScopedRate):
    """For calls made before there is a customer (sessions, availability)."""

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PerCustomerThrottle(_ScopedRate):
    """Counts per customer, falling back to the IP for anonymous callers."""

    def get_cache_key(self, request: Request, view: Any) -> str:
        customer_id = getattr(request.user, "pk", None) if request.user else None
        ident = f"customer-{customer_id}" if customer_id else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class WidgetSessionsThrottle(PerIPThrottle):
    scope = "widget_sessions"


class WidgetAvailabilityThrottle(PerIPThrottle):
    scope = "widget_availability"


class WidgetConversationsThrottle(PerCustomerThrottle):
    scope = "widget_conversations"


class WidgetMessagesThrottle(PerCustomerThrottle):
    scope = "widget_messages"


class InboundEmailThrottle(PerIPThrottle):
    """The inbound email webhook; counted before the secret is checked, so guessing is too."""

    scope = "inbound_email"


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
