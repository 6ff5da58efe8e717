"""Logs: every line of a request says which request, and LOG_FORMAT=json writes one JSON
object per line (docs/operations.md, "Logs").

A request gets an id: the X-Request-ID its proxy sent, if it looks like one, or a new one.
The response carries it back, so a user's report, the proxy's log and ours meet on it.
"""

import logging
import logging.config
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
# What we take from a proxy: short, and nothing that could break a log line.
PROXY_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

# (request id, path) of the request this code runs for; the request's thread sees it too.
current_request: ContextVar[tuple[str, str] | None] = ContextVar("current_request", default=None)


def configure(config: dict[str, Any]) -> None:
    """settings.LOGGING_CONFIG: Django's dictConfig, and Python's warnings (a missing static
    folder, a deprecation) as log lines of "py.warnings", so that with LOG_FORMAT=json every
    line on standard error is JSON."""
    logging.config.dictConfig(config)
    logging.captureWarnings(True)


class RequestIdMiddleware:
    """Gives the request an id (request.request_id) for its log lines and its response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request.request_id = given if PROXY_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = current_request.set((request.request_id, request.path))
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(token)
        response[REQUEST_ID_HEADER] = request.request_id
        return response


class RequestContextFilter(logging.Filter):
    """Adds request_id and path to a record logged while a request runs, or about one
    (Django logs each 4xx and 5xx response with the request, after the middleware)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        current = current_request.get()
        if current is not None:
            record.request_id, record.path = current
        elif isinstance(request, HttpRequest):
            record.request_id = getattr(request, "request_id", None)
            record.path = request.path
        if isinstance(request, HttpRequest):
            record.method = request.method
        return True


class JsonFormatter(BaseJsonFormatter):
    """{"time", "level", "logger", "message"}, then the record's extras (request_id, path,
    method, status for a request), and "exception" with the traceback when there is one."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            "{levelname}{name}{message}",
            style="{",
            rename_fields={
                "levelname": "level",
                "name": "logger",
                "exc_info": "exception",
                "status_code": "status",
            },
            timestamp="time",
            **kwargs,
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        # The request object itself says nothing useful as text; uvicorn repeats its message
        # with terminal colours. The time first, as a reader scans for it.
        log_data.pop("request", None)
        log_data.pop("color_message", None)
        return {"time": log_data.pop("time"), **log_data}
