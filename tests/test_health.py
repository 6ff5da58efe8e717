"""/healthz and /readyz against the real PostgreSQL and Redis, and against ports where
nothing listens."""

import socket
import time

import pytest
from django.conf import settings
from django.db.utils import ConnectionHandler
from django.test import override_settings

from helpdesk.health import readiness


def dead_port() -> int:
    """A local port nothing listens on: bound for a moment, then given back."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db
def test_liveness_answers_for_any_host_without_a_login(client):
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")  # a probe by address
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_an_unknown_host_is_still_refused_elsewhere(client):
    assert client.get("/admin/login/", HTTP_HOST="10.0.0.7:8000").status_code == 400


@pytest.mark.django_db
def test_readiness_reports_the_database_and_redis(client):
    response = client.get("/readyz/", HTTP_HOST="10.0.0.7")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "redis"}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db
def test_readiness_is_503_naming_redis_when_redis_does_not_answer(client):
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{dead_port()}/0"):
        response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"] == {
        "ok": False,
        "error": "ConnectionError",
        "ms": body["checks"]["redis"]["ms"],
    }


@pytest.mark.django_db
def test_readiness_names_the_database_when_postgresql_does_not_answer():
    dead = ConnectionHandler(
        {"default": {**settings.DATABASES["default"], "HOST": "127.0.0.1", "PORT": dead_port()}}
    )
    ready, checks = readiness(redis_url=settings.REDIS_URL, timeout=2, connections=dead)
    assert not ready
    assert checks["database"]["ok"] is False
    assert checks["database"]["error"] == "OperationalError"
    assert checks["redis"]["ok"] is True


@pytest.mark.django_db
def test_a_dependency_that_hangs_is_cut_at_the_timeout():
    # A listening socket that never answers: Redis' PING waits, readiness does not.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        started = time.monotonic()
        ready, checks = readiness(redis_url=f"redis://127.0.0.1:{port}/0", timeout=0.5)
        elapsed = time.monotonic() - started
    assert not ready
    assert checks["redis"]["ok"] is False
    assert checks["redis"]["error"] in {"timeout", "TimeoutError"}
    assert elapsed < 1.5


@pytest.mark.django_db
def test_the_embedded_mode_has_no_redis_to_check(client):
    with override_settings(REDIS_URL=""):
        response = client.get("/readyz")
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database"}


@pytest.mark.django_db
def test_the_health_checks_take_no_session_and_no_csrf(client):
    response = client.post("/readyz")  # no CSRF token: a probe is not a form
    assert response.status_code == 200
    assert "Set-Cookie" not in response
