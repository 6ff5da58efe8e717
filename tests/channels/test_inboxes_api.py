"""POST /api/v1/inboxes: admins create inboxes; secrets are shown once and never again."""

import json

import pytest

from conversations.models import Inbox
from inboxes import credentials

pytestmark = pytest.mark.django_db

WHATSAPP = {
    "phone_number_id": "106540352242922",
    "access_token": "EAAG-token-of-the-number",
    "app_secret": "app-secret-1",
    "verify_token": "verify-me",
}


def test_an_api_inbox_answers_its_secret_once(make_inbox, admin_api, platform):
    created = make_inbox("api", webhook_url=f"{platform.url}/hooks")

    assert set(created) >= {"id", "channel", "name", "secret", "webhook_url", "inbound_url"}
    assert created["channel"] == "api"
    assert created["webhook_url"] == f"{platform.url}/hooks"
    assert created["inbound_url"].endswith(f"/api/v1/channels/{created['id']}/messages")
    assert len(created["secret"]) >= 32
    stored = Inbox.objects.get(pk=created["id"])
    assert created["secret"] not in json.dumps(stored.settings)  # sealed at rest
    assert credentials.unseal(stored.settings["secret"]) == created["secret"]

    listed = admin_api.get("/api/v1/inboxes").json()["results"]
    assert [inbox["id"] for inbox in listed] == [created["id"]]
    assert "secret" not in listed[0] and created["secret"] not in json.dumps(listed)


def test_platform_secrets_never_come_back(make_inbox, admin_api):
    created = make_inbox("whatsapp", **WHATSAPP)

    assert "secret" not in created
    assert created["settings"] == {"phone_number_id": "106540352242922"}
    assert created["inbound_url"].endswith(f"/api/v1/channels/{created['id']}/webhook")
    answers = json.dumps(created) + admin_api.get("/api/v1/inboxes").content.decode()
    for secret in ("EAAG-token-of-the-number", "app-secret-1", "verify-me"):
        assert secret not in answers
        assert secret not in json.dumps(Inbox.objects.get(pk=created["id"]).settings)


def test_missing_settings_are_named(admin_api):
    response = admin_api.post(
        "/api/v1/inboxes", {"channel": "telegram", "name": "Bot"}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"bot_token", "secret_token"}


def test_a_telegram_secret_token_telegram_would_refuse_is_refused_here(admin_api):
    """setWebhook takes only A-Z, a-z, 0-9, _ and -: the admin learns it when saving, not
    later from Telegram."""
    fields = {"channel": "telegram", "name": "Bot", "bot_token": "123:ABC"}
    response = admin_api.post(
        "/api/v1/inboxes", {**fields, "secret_token": "with spaces!"}, format="json"
    )
    assert response.status_code == 400
    assert "A-Z" in response.json()["error"]["fields"]["secret_token"][0]
    assert not Inbox.objects.filter(channel="telegram").exists()
    response = admin_api.post(
        "/api/v1/inboxes", {**fields, "secret_token": "Good_token-1"}, format="json"
    )
    assert response.status_code == 201, response.content


def test_an_unknown_channel_is_refused(admin_api):
    response = admin_api.post("/api/v1/inboxes", {"channel": "pigeon", "name": "x"}, format="json")

    assert response.status_code == 400
    assert "channel" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://10.0.0.8/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/",
    ],
)
def test_private_webhook_targets_are_refused(admin_api, settings, url):
    settings.HELPDESK_WEBHOOK_ALLOW_PRIVATE = False

    response = admin_api.post(
        "/api/v1/inboxes", {"channel": "api", "name": "CRM", "webhook_url": url}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "private_target"
    assert not Inbox.objects.filter(channel="api").exists()  # (the widget and email have theirs)


def test_a_private_platform_base_is_refused_too(admin_api, settings):
    settings.HELPDESK_WEBHOOK_ALLOW_PRIVATE = False
    fields = {**WHATSAPP, "api_base_url": "http://localhost:8080/v21.0"}

    response = admin_api.post(
        "/api/v1/inboxes", {"channel": "whatsapp", "name": "WA", **fields}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"api_base_url"}


def test_only_admins_create_inboxes(logged_in, alice):
    response = logged_in(alice).post(
        "/api/v1/inboxes", {"channel": "telegram", "name": "Bot"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"]
