"""Every API error in one shape: {"error": {"code", "message", "fields"?}} (shared/API.md)."""

from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from conversations.errors import HelpdeskError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, HelpdeskError):
        return Response(exc.as_dict(), status=exc.status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django report it
    response.data = {"error": _error_body(exc, response.data)}
    return response


def _error_body(exc: Exception, data: Any) -> dict[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        fields = data if isinstance(data, dict) else {"non_field_errors": data}
        return {"code": "invalid", "message": _("Some fields are not valid."), "fields": fields}
    if isinstance(exc, Http404):
        return {"code": "not_found", "message": _("Not found.")}
    if isinstance(exc, exceptions.APIException):
        detail = exc.detail
        message = detail if isinstance(detail, str) else str(data.get("detail", detail))
        return {
            "code": exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code,
            "message": str(message),
        }
    return {"code": "error", "message": str(data)}
