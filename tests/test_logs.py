"""Logs: LOG_FORMAT=json writes one JSON object per line, text stays readable, and a
request's lines carry its id, which the response gives back."""

import json
import os
import re
import subprocess
import sys

import pytest
from django.conf import settings

# A 404 (Django logs it with the request) and a crash, logged with the settings' LOGGING.
SCRIPT = """
import logging
import django

django.setup()
from django.test import Client

response = Client().get("/nowhere", headers={"X-Request-ID": "req-42"})
print(response["X-Request-ID"])
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("helpdesk.example").exception("the sum went wrong")
"""


def run(**environment: str) -> subprocess.CompletedProcess:
    keep = ("PATH", "HOME", "LANG", "DATABASE_URL", "REDIS_URL")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings",
        DEBUG="false",
        SECRET_KEY="logs-test",
        ALLOWED_HOSTS="testserver",
        **environment,
    )
    return subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_json_logs_are_one_object_per_line_with_the_request_and_the_traceback():
    result = run(LOG_FORMAT="json")
    assert result.stdout.strip() == "req-42"
    lines = [json.loads(line) for line in result.stderr.splitlines()]  # each line whole JSON
    # Python's warnings are log lines too (WhiteNoise's "No directory at", here).
    assert all(line["logger"] == "py.warnings" for line in lines[:-2])

    not_found, crash = lines[-2:]
    assert list(not_found)[:4] == ["time", "level", "logger", "message"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", not_found["time"])
    assert {key: not_found[key] for key in ("level", "logger", "message")} == {
        "level": "WARNING",
        "logger": "django.request",
        "message": "Not Found: /nowhere",
    }
    assert not_found["request_id"] == "req-42"
    assert not_found["path"] == "/nowhere"
    assert not_found["method"] == "GET"
    assert not_found["status"] == 404
    assert "request" not in not_found  # the object itself, as text, says nothing

    assert crash["level"] == "ERROR"
    assert crash["message"] == "the sum went wrong"
    assert crash["exception"].startswith("Traceback (most recent call last):")
    assert crash["exception"].endswith("ZeroDivisionError: division by zero")


def test_text_logs_stay_readable():
    result = run()
    lines = [
        line
        for line in result.stderr.splitlines()
        if " django.request " in line or " helpdesk." in line
    ]
    assert re.match(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ WARNING django.request Not Found", lines[0]
    )
    assert "ERROR helpdesk.example the sum went wrong" in lines[1]
    assert "ZeroDivisionError: division by zero" in result.stderr
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[0])


def test_an_unknown_log_format_is_refused():
    with pytest.raises(subprocess.CalledProcessError) as refused:
        run(LOG_FORMAT="xml")
    assert "Set LOG_FORMAT to text or json." in refused.value.stderr


@pytest.mark.django_db
@pytest.mark.parametrize("given", ["", "two words", "x" * 65, "line\\nbreak"])
def test_a_request_without_a_usable_id_gets_a_new_one(client, given):
    response = client.get("/healthz/../admin/login/", headers={"X-Request-ID": given})
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


@pytest.mark.django_db
def test_the_proxys_request_id_comes_back(client):
    response = client.get("/admin/login/", headers={"X-Request-ID": "edge-7f3a.2"})
    assert response["X-Request-ID"] == "edge-7f3a.2"
