"""The production settings of docs/operations.md: `check --deploy` is clean with them, and
HTTPS, HSTS and the proxy header do what the page says."""

import json
import os
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client, override_settings

ROOT = settings.BASE_DIR
DOCS = ROOT / "docs" / "operations.md"


def documented_block() -> str:
    """The shell block of "## Production settings" in docs/operations.md."""
    section = DOCS.read_text().split("## Production settings", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, flags=re.DOTALL).group(1)


def production_environment(**extra: str) -> dict[str, str]:
    """This machine's services; none of the settings the test suite or a developer set."""
    keep = ("PATH", "HOME", "LANG", "DATABASE_URL", "REDIS_URL")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    return {**env, "DJANGO_SETTINGS_MODULE": "helpdesk.settings", **extra}


def check_deploy(block: str) -> subprocess.CompletedProcess:
    command = f'{block}\nexec "{sys.executable}" manage.py check --deploy --fail-level WARNING'
    return subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        env=production_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_with_the_documented_production_settings():
    block = documented_block()
    assert "SECURE_PROXY_SSL_HEADER" in block

    result = check_deploy(block)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_without_them():
    # The proxy header left out: no redirect to HTTPS (W008). The same command, so the
    # clean run above is a real finding and not a check that cannot fail.
    block = "\n".join(
        line for line in documented_block().splitlines() if "SECURE_PROXY_SSL_HEADER" not in line
    )
    result = check_deploy(block)
    assert result.returncode != 0
    assert "security.W008" in result.stderr + result.stdout


SHOW = (
    "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps("
    "[s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS,"
    " getattr(s, 'SECURE_PROXY_SSL_HEADER', None), s.CONTENT_SECURITY_POLICY['DIRECTIVES']"
    "['connect-src']]))"
)


def settings_under(**environment: str) -> list:
    result = subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=ROOT,
        env=production_environment(**environment),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        # DEBUG off: HTTPS assumed; no proxy header trusted, so no redirect (it would loop).
        (
            {"DEBUG": "false"},
            [True, True, False, 31536000, None, ["'self'", "ws://127.0.0.1:8000"]],
        ),
        (
            {
                "DEBUG": "false",
                "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
                "HELPDESK_PUBLIC_URL": "https://help.example.com",
            },
            [
                True,
                True,
                True,
                31536000,
                ["HTTP_X_FORWARDED_PROTO", "https"],
                ["'self'", "wss://help.example.com"],
            ],
        ),
        # A plain-HTTP install says so: cookies must then travel over HTTP.
        (
            {"DEBUG": "false", "HELPDESK_HTTPS": "false"},
            [False, False, False, 0, None, ["'self'", "ws://127.0.0.1:8000"]],
        ),
        ({"DEBUG": "true"}, [False, False, False, 0, None, ["'self'", "ws://127.0.0.1:8000"]]),
    ],
)
def test_https_settings_follow_the_environment(environment, expected):
    base = {"SECRET_KEY": "k", "ALLOWED_HOSTS": "help.example.com"}
    assert settings_under(**base, **environment) == expected


PROXY = {
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
    "SECURE_SSL_REDIRECT": True,
    "SECURE_HSTS_SECONDS": 3600,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
}


@pytest.mark.django_db
def test_behind_the_proxy_plain_http_is_redirected_and_https_gets_hsts():
    with override_settings(**PROXY):
        client = Client()  # a handler built under these settings
        plain = client.get("/admin/login/")
        secure = client.get("/admin/login/", headers={"X-Forwarded-Proto": "https"})
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/admin/login/"
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"


@pytest.mark.django_db
def test_the_health_checks_are_not_redirected():
    with override_settings(**PROXY):
        response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
