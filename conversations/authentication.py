"""Who is calling the API: a widget customer (Bearer token) or a staff agent.

A customer is identified by the unguessable token the widget stores, and optionally by a
verified identity: the embedding site signs its own user id with HELPDESK_IDENTITY_SECRET.
"""

import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from .errors import HelpdeskError
from .models import Customer
from .selectors import customer_by_token


class IdentityInvalid(HelpdeskError):
    status = 403
    code = "identity_invalid"


class IdentityNotConfigured(HelpdeskError):
    status = 400
    code = "identity_not_configured"


class WidgetCustomer:
    """What `request.user` is on widget endpoints: the customer, authenticated by token."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    def __init__(self, customer: Customer):
        self.customer = customer
        self.pk = customer.pk

    def __str__(self) -> str:
        return str(self.customer)


class CustomerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <customer_token>`, as returned by POST /api/v1/widget/sessions."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[WidgetCustomer, Customer] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Give the token after 'Bearer '."))
        try:
            token = header[1].decode("ascii")
        except UnicodeError:
            token = None
        customer = customer_by_token(token)
        if customer is None:
            raise exceptions.AuthenticationFailed(
                _("This session has expired. Start a new one with POST /api/v1/widget/sessions.")
            )
        return WidgetCustomer(customer), customer

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="widget"'


class IsWidgetCustomer(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, WidgetCustomer)


class IsStaffAgent(permissions.BasePermission):
    """Agents are active staff users (their Agent profile is created on first use)."""

    message = _("Only agents can use this API.")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff)


# Agent endpoints: a token first, so that a request without credentials answers 401.
AGENT_AUTHENTICATION = [
    authentication.TokenAuthentication,
    authentication.SessionAuthentication,
]


# --- Verified identities ---------------------------------------------------------------------


def identity_hash(identifier: str) -> str:
    """What the embedding site computes: hex HMAC-SHA256(HELPDESK_IDENTITY_SECRET, identifier)."""
    secret = settings.HELPDESK_IDENTITY_SECRET.encode()
    return hmac.new(secret, identifier.encode(), hashlib.sha256).hexdigest()


def check_identity(identifier: str, identifier_hash: str) -> str:
    """The identifier, once its hash proves the embedding site vouches for it."""
    if not settings.HELPDESK_IDENTITY_SECRET:
        raise IdentityNotConfigured(
            _("Identity verification is not set up on this helpdesk (HELPDESK_IDENTITY_SECRET)."),
            fields={"identifier": _("Not accepted without HELPDESK_IDENTITY_SECRET.")},
        )
    expected = identity_hash(identifier).encode()
    given = (identifier_hash or "").strip().lower().encode()  # bytes: any text compares safely
    if not hmac.compare_digest(expected, given):
        raise IdentityInvalid(
            _("The identity could not be verified."),
            fields={"identifier_hash": _("Does not match the identifier.")},
        )
    return identifier


class CustomerTokenScheme(OpenApiAuthenticationExtension):
    """Documents the widget's Bearer token in the OpenAPI schema."""

    target_class = CustomerTokenAuthentication
    name = "customerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "customer_token"}
