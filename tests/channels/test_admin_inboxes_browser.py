"""Admins create inboxes in the admin: the channel's settings, the URL to give the platform,
the api channel's secret shown once, and secrets never rendered back (Chromium)."""

import pytest

from conversations.models import Inbox
from inboxes import credentials
from tests.agents.test_workspace_browser import shoot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def root(make_agent):
    return make_agent("root@example.com", is_superuser=True)


def log_in(browser, live_server_url: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server_url}/admin/login/")
    page.fill("#id_username", "root@example.com")
    page.fill("#id_password", "pw-for-tests")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server_url}/admin/")
    return context, page


def test_an_admin_adds_a_telegram_and_an_api_inbox(browser, live_server_url, root, settings):
    settings.HELPDESK_WEBHOOK_ALLOW_PRIVATE = (
        False  # the served build reads it: public targets only
    )
    context, page = log_in(browser, live_server_url)

    page.goto(f"{live_server_url}/admin/conversations/inbox/add/")
    # Each setting says what it is and which channels take it, not its raw key.
    assert page.locator("label[for=id_channel]").inner_text() == "Channel:"
    assert page.locator("label[for=id_bot_token]").inner_text() == "Bot token (Telegram):"
    access = page.locator("label[for=id_access_token]").inner_text()
    assert access == "Access token (Instagram, Messenger, WhatsApp):"
    page.select_option("#id_channel", "telegram")
    page.fill("#id_name", "Shop bot")
    page.fill("#id_bot_token", "123456:ABC-secret-token")
    page.fill("#id_secret_token", "tg-secret-value")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/conversations/inbox/")
    telegram = Inbox.objects.get(name="Shop bot")
    url = f"/api/v1/channels/{telegram.pk}/webhook"
    assert page.locator("#result_list", has_text=url).count() == 1
    shoot(page, "channels-admin-list")

    page.goto(f"{live_server_url}/admin/conversations/inbox/{telegram.pk}/change/")
    html = page.content()
    assert "123456:ABC-secret-token" not in html and "tg-secret-value" not in html
    assert credentials.unseal(telegram.settings["bot_token"]) == "123456:ABC-secret-token"
    page.fill("#id_name", "Shop bot (renamed)")
    page.click("input[name=_save]")  # blank secrets keep the stored ones
    page.wait_for_url("**/admin/conversations/inbox/")
    telegram.refresh_from_db()
    assert telegram.name == "Shop bot (renamed)"
    assert credentials.unseal(telegram.settings["secret_token"]) == "tg-secret-value"

    page.goto(f"{live_server_url}/admin/conversations/inbox/add/")
    page.select_option("#id_channel", "api")
    page.fill("#id_name", "CRM")
    page.fill("#id_webhook_url", "https://10.1.2.3/hook")
    page.click("input[name=_save]")
    page.locator(".errornote, .errorlist", has_text="private").first.wait_for()
    page.fill("#id_webhook_url", "https://93.184.215.14/hook")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/conversations/inbox/")
    notice = page.locator(".messagelist", has_text="shown this once").inner_text()
    api = Inbox.objects.get(name="CRM")
    assert credentials.unseal(api.settings["secret"]) in notice
    context.close()
