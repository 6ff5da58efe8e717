"""Health checks for load balancers and orchestrators (docs/operations.md, "Health checks").

GET /healthz  liveness: the process answers. Touches nothing else, so a database outage
              never gets healthy processes restarted.
GET /readyz   readiness: PostgreSQL and Redis (channel layer, broker, cache) answer. 200 when
              all do, 503 naming the part that did not.

Answered by the first middleware: probes come by an address rather than a host name, over
plain HTTP and without a session, so neither ALLOWED_HOSTS, the HTTPS redirect, CSRF nor a
login applies. Each check runs in a thread of its own with a deadline, so a dependency that
hangs (a dropped packet, not a refused connection) still gets a fast 503.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.db import connections as default_connections
from django.db.utils import ConnectionHandler
from django.http import HttpRequest, HttpResponseBase, JsonResponse

logger = logging.getLogger(__name__)

LIVENESS_PATHS = {"/healthz", "/healthz/"}
READINESS_PATHS = {"/readyz", "/readyz/"}


def check_database(
    connections: ConnectionHandler = default_connections, alias: str = "default"
) -> None:
    """One round trip to the database; raises if there is none."""
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()  # this thread ends here: give the connection back


def check_redis(url: str, timeout: float) -> None:
    """PING on a connection of its own; raises if Redis does not answer within `timeout`."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()


class Check:
    """One check in a thread of its own. The thread is abandoned (not killed: it ends by
    itself) if it has not finished by the deadline."""

    def __init__(self, check: Callable[[], None]) -> None:
        self.check = check
        self.error: str | None = None
        self.done = False
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self.run, name="readiness-check", daemon=True)
        self.thread.start()

    def run(self) -> None:
        try:
            self.check()
        except Exception as error:  # any failure is "not ready"; the log says what it was
            self.error = type(error).__name__
            logger.warning("readiness check failed: %s: %s", type(error).__name__, error)
        self.done = True

    def result(self, deadline: float) -> dict[str, Any]:
        """{"ok": true, "ms": …} or {"ok": false, "error": …, "ms": …}."""
        self.thread.join(max(0.0, deadline - time.monotonic()))
        elapsed_ms = round((time.monotonic() - self.started) * 1000, 1)
        if not self.done:
            return {"ok": False, "error": "timeout", "ms": elapsed_ms}
        if self.error:
            return {"ok": False, "error": self.error, "ms": elapsed_ms}
        return {"ok": True, "ms": elapsed_ms}


def readiness(
    *,
    redis_url: str,
    timeout: float,
    connections: ConnectionHandler = default_connections,
) -> tuple[bool, dict[str, Any]]:
    """(ready, {part: result}), the parts checked side by side within `timeout` seconds.
    Redis is not a part in the embedded mode (no REDIS_URL)."""
    deadline = time.monotonic() + timeout
    checks = {"database": Check(lambda: check_database(connections))}
    if redis_url:
        checks["redis"] = Check(lambda: check_redis(redis_url, timeout))
    results = {name: check.result(deadline) for name, check in checks.items()}
    return all(result["ok"] for result in results.values()), results


def health_response(request: HttpRequest) -> JsonResponse | None:
    """The answer to a health check, or None when the request is not one."""
    if request.path in LIVENESS_PATHS:
        return no_store(JsonResponse({"status": "ok"}))
    if request.path in READINESS_PATHS:
        ready, results = readiness(
            redis_url=settings.REDIS_URL, timeout=settings.HELPDESK_HEALTH_TIMEOUT
        )
        body = {"status": "ok" if ready else "unavailable", "checks": results}
        return no_store(JsonResponse(body, status=200 if ready else 503))
    return None


def no_store(response: JsonResponse) -> JsonResponse:
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    """Answers /healthz and /readyz before any other middleware sees the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return health_response(request) or self.get_response(request)
