"""Fixtures of the channel tests: a fake platform server, inboxes made through the API, a
real Celery worker delivering replies."""

import hashlib
import hmac
import json

import pytest
import requests
from rest_framework.test import APIClient

from tests.channels.platform import FakePlatform


@pytest.fixture(autouse=True)
def _private_targets_allowed(settings):
    """The fake platforms listen on 127.0.0.1 (shared/API.md: tests set it)."""
    settings.HELPDESK_WEBHOOK_ALLOW_PRIVATE = True
    settings.HELPDESK_CHANNEL_RETRY_SECONDS = 0.2


@pytest.fixture
def platform():
    server = FakePlatform().start()
    yield server
    server.stop()


@pytest.fixture
def admin(make_agent):
    return make_agent(email="root@example.com", is_superuser=True)


@pytest.fixture
def admin_api(logged_in, admin) -> APIClient:
    return logged_in(admin)


@pytest.fixture
def make_inbox(admin_api, support):
    """An inbox created through POST /api/v1/inboxes; returns its answer."""

    def make(channel: str, **fields):
        response = admin_api.post(
            "/api/v1/inboxes",
            {"channel": channel, "name": f"{channel} inbox", "team": support.name, **fields},
            format="json",
        )
        assert response.status_code == 201, response.content
        return response.json()

    return make


def hub_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def raw(payload) -> bytes:
    return json.dumps(payload).encode()


def post_hub_signed(url: str, payload, secret: str) -> requests.Response:
    """A webhook as Meta's platforms post it: the raw JSON, signed with X-Hub-Signature-256."""
    body = raw(payload)
    headers = {"X-Hub-Signature-256": hub_signature(secret, body)}
    return requests.post(url, data=body, headers=headers, timeout=10)
