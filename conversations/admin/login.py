"""Login throttling for /admin/login/, which is also the agent workspace's login (LOGIN_URL).

Every password check is counted before it runs, per client address (`login_ip`) and per
username (`login_username`), and taken back when the password was right: concurrent guesses
cannot slip past the limit between a check and a count, and successful logins cost nothing.
Over either limit the form refuses even the right password, says so in the user's
language, and the page answers 429 with Retry-After.
"""

import hashlib
import math
from typing import Any

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import ngettext

from ..throttling import hit_scope, request_ip, scope_key, unhit

RETRY_AFTER = "_login_retry_after"  # set on the request by a refused form, read by the view


class ThrottledLoginForm(AdminAuthenticationForm):
    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if not username or not self.cleaned_data.get("password"):
            return super().clean()  # nothing will be checked, so nothing is counted
        counted = [
            ("login_ip", request_ip(self.request.META)),
            ("login_username", _username_ident(username)),
        ]
        for done, (scope, ident) in enumerate(counted):
            wait = hit_scope(scope, ident)
            if wait is not None:
                _take_back(counted[:done])  # a lock on one side only costs that side
                setattr(self.request, RETRY_AFTER, wait)
                raise ValidationError(_locked_message(wait), code="rate_limited")
        cleaned = super().clean()  # raises for a wrong password: the attempt stays counted
        _take_back(counted)
        return cleaned


def _username_ident(username: str) -> str:
    """Usernames are case-insensitive here (emails); hashed, so a key's length is bounded."""
    return hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]


def _take_back(counted: list[tuple[str, str]]) -> None:
    for scope, ident in counted:
        unhit(scope_key(scope, ident))


def _locked_message(wait: float) -> str:
    minutes = max(1, math.ceil(wait / 60))
    return ngettext(
        "Too many failed logins. Try again in %(minutes)d minute.",
        "Too many failed logins. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def login_view(request: HttpRequest) -> HttpResponse:
    """The admin's login, answering 429 while the form refuses to check passwords."""
    response = admin.site.login(request)
    wait = getattr(request, RETRY_AFTER, None)
    if wait is not None:
        response.status_code = 429
        response["Retry-After"] = str(math.ceil(wait))
    return response
