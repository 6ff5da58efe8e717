"""The workspace shows each conversation's channel and how far each reply got, live, with a
Retry for a reply that failed (Chromium against a served build)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import Conversation, Delivery, Message
from conversations.services import Author, message_post, message_set_delivery
from inboxes import services
from inboxes.registry import Inbound
from tests.agents.test_workspace_browser import on_the_server, open_workspace, row, shoot
from tests.helpers import eventually

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def agent(make_team, make_agent):
    team = make_team("billing", is_default=True)
    return make_agent("ayse@example.com", teams=[team], first_name="Ayşe", last_name="Demir")


@pytest.fixture
def whatsapp(agent, make_inbox_directly):
    inbox = make_inbox_directly("whatsapp")
    services.receive_message(
        inbox=inbox,
        inbound=Inbound("905551112233", "Ece Yıldız", "Is my order on its way?", "wamid.in-1"),
    )
    conversation = Conversation.objects.get(inbox=inbox)
    read, _ = message_post(
        conversation=conversation,
        author=Author.of_agent(agent),
        body="Yes, it left today.",
        client_id="r-1",
    )
    failed, _ = message_post(
        conversation=conversation,
        author=Author.of_agent(agent),
        body="Tracking: TR-1042",
        client_id="r-2",
    )
    message_set_delivery(message=read, delivery=Delivery.SENT, external_id="wamid.out-1")
    message_set_delivery(message=read, delivery=Delivery.READ)
    message_set_delivery(message=failed, delivery=Delivery.FAILED)
    return conversation, read, failed


@pytest.fixture
def make_inbox_directly(platform):
    def make(channel: str):
        inbox, _secret = services.inbox_create(
            channel=channel,
            name=f"{channel} inbox",
            channel_settings={
                "phone_number_id": "106540352242922",
                "access_token": "t",
                "app_secret": "a",
                "verify_token": "v",
                "api_base_url": platform.url,
            },
        )
        return inbox

    return make


@pytest.mark.timeout(120)
def test_the_channel_icon_and_each_replys_delivery_live_with_a_retry(
    browser, live_server_url, whatsapp, agent
):
    conversation, read, failed = whatsapp
    context, page, errors = open_workspace(browser, live_server_url)
    page.get_by_role("tab", name="All").click() if page.get_by_role(
        "tab", name="All"
    ).count() else None
    conversation_row = row(page, "Ece Yıldız")
    conversation_row.wait_for()

    assert conversation_row.get_by_role("img", name="WhatsApp").count() == 1
    conversation_row.click()
    thread = page.locator("#thread")
    page.locator("#thread-customer").get_by_role("img", name="WhatsApp").wait_for()
    assert page.locator("#customer-external").inner_text() == "905551112233"  # the wa_id alone
    delivered = thread.locator(".msg", has_text="Yes, it left today.").locator(".delivery")
    refused = thread.locator(".msg", has_text="Tracking: TR-1042").locator(".delivery")
    assert delivered.inner_text().strip().endswith("Read")
    assert "Not delivered" in refused.inner_text()
    assert (
        thread.locator(".msg", has_text="Is my order on its way?").locator(".delivery").count() == 0
    )
    shoot(page, "channels-workspace")

    # Retry sends the failed reply again; what the platform says then shows live.
    refused.get_by_role("button", name="Retry").click()
    assert eventually(lambda: Message.objects.get(pk=failed.pk).delivery == Delivery.PENDING)
    on_the_server(message_set_delivery, message=failed, delivery=Delivery.SENT, external_id="w2")
    page.locator("#thread .msg", has_text="Tracking: TR-1042").locator(".delivery-sent").wait_for()

    # Outside WhatsApp's 24-hour window the workspace says so, and the reply stays in the box.
    on_the_server(
        conversation.messages.filter(author_kind="customer").update,
        created_at=timezone.now() - timedelta(hours=25),
    )
    page.fill("#composer-input", "One more thing")
    page.keyboard.press("Enter")
    page.locator("#composer-error", has_text="24 hours").wait_for()
    shoot(page, "channels-window-closed")

    assert page.input_value("#composer-input") == "One more thing"
    assert not Message.objects.filter(body="One more thing").exists()
    assert errors == []
    context.close()
