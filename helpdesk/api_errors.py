"""Every API error in one shape: {"error": {"code", "message", "fields"?}} (shared/API.md)."""

import sys
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import defaults
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


# --- What Django answers itself (no DRF view ran): the same shape under /api/ --------------


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE, or another request Django refuses."""
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        body = {"code": "too_large", "message": _("The request body is too large.")}
        return JsonResponse({"error": body}, status=413)
    body = {"code": "bad_request", "message": _("The request could not be read.")}
    return JsonResponse({"error": body}, status=400)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A path no endpoint matches (such as a negative id)."""
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    return JsonResponse({"error": {"code": "not_found", "message": _("Not found.")}}, status=404)


# How long a client should wait before retrying while the database is out of reach.
RETRY_AFTER_SECONDS = 5


def server_error(request: HttpRequest) -> HttpResponse:
    """Django calls this inside its `except` block, so the error at hand is sys.exc_info()'s."""
    if database_unavailable(sys.exc_info()[1]):
        return service_unavailable(request)
    if not _is_api(request):
        return defaults.server_error(request)
    body = {"code": "server_error", "message": _("Something went wrong on our side.")}
    return JsonResponse({"error": body}, status=500)


def database_unavailable(error: BaseException | None) -> bool:
    """PostgreSQL is down, restarting or out of connections (a pool timeout is one too)."""
    return isinstance(error, OperationalError | InterfaceError)


def service_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: what was committed is safe, and the client should try again."""
    if _is_api(request):
        body = {
            "code": "unavailable",
            "message": _("The service is briefly unavailable. Please try again in a few seconds."),
        }
        response: HttpResponse = JsonResponse({"error": body}, status=503)
    else:
        response = render(request, "503.html", status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
