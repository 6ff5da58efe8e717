"""A campaign's invitation in a real browser (Chromium) against a real server: it appears on
the demo shop page after its delay, the visitor answers it, and the agent's workspace shows
the conversation starting with the invitation, then the reply.

Set HELPDESK_SCREENSHOTS=/some/dir to keep screenshots.
"""

import time

import pytest

from tests.agents.test_workspace_browser import open_workspace, shoot
from tests.helpers import eventually
from tests.test_accessibility_browser import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DELAY = 2


@pytest.fixture
def campaign(make_team, make_agent):
    from campaigns.models import Campaign, UrlRule

    team = make_team("billing", is_default=True)
    ayse = make_agent("ayse@example.com", teams=[team], first_name="Ayşe", last_name="Demir")
    return Campaign.objects.create(
        message="Questions about your order? I can help right now.",
        team=team,
        sender=ayse,
        url_kind=UrlRule.REGEX,
        url_value=r"/widget/demo/(\?.*)?$",
        delay_seconds=DELAY,
        languages=["en"],
    )


@pytest.mark.timeout(180)
def test_an_invitation_appears_after_its_delay_and_the_answer_reaches_the_agent(
    browser, live_server_url, campaign
):
    from playwright.sync_api import expect

    from campaigns.models import CampaignShown
    from conversations.models import Conversation

    # The agent is online (her workspace's socket): someone can take the chat.
    agent_context, workspace, errors = open_workspace(browser, live_server_url)
    context = browser.new_context(viewport={"width": 1100, "height": 800}, locale="en-US")
    shop = context.new_page()
    shop.on("pageerror", lambda error: errors.append(str(error)))
    loaded = time.monotonic()
    shop.goto(f"{live_server_url}/widget/demo/")
    invite = shop.locator("helpdesk-widget .hd-invite")
    expect(invite).to_be_visible(timeout=15_000)
    assert time.monotonic() - loaded >= DELAY  # not before its delay
    expect(invite.locator(".hd-invite__from")).to_have_text("Message from Ayşe Demir")
    expect(invite.locator(".hd-invite__text")).to_have_text(campaign.message)
    expect(shop.get_by_role("button", name="Dismiss the invitation")).to_be_visible()
    eventually(lambda: CampaignShown.objects.filter(campaign=campaign).exists())
    shoot(shop, "campaign-1-invitation")
    assert axe_violations(shop, "widget, invitation") == []  # WCAG 2.1 AA, as every page

    # Answering opens the chat with the invitation first; the reply starts the conversation.
    invite.locator(".hd-invite__body").click()
    expect(invite).to_be_hidden()
    thread = shop.locator("helpdesk-widget .hd-thread")
    expect(thread.locator(".hd-msg--agent .hd-msg__bubble").first).to_have_text(campaign.message)
    composer = shop.get_by_role("textbox", name="Message")
    composer.fill("Yes: can I still change my delivery address?")
    composer.press("Enter")
    conversation = eventually(lambda: Conversation.objects.filter(team=campaign.team).first())
    assert conversation is not None
    shoot(shop, "campaign-2-answered")

    # The agent sees the conversation starting with the invitation, then the reply.
    visitor = workspace.locator("#conversation-list .conv").first
    expect(visitor).to_be_visible(timeout=10_000)
    visitor.locator("a").click()
    bodies = workspace.locator("#thread .msg .body")
    expect(bodies).to_have_text(
        [campaign.message, "Yes: can I still change my delivery address?"], timeout=10_000
    )
    expect(workspace.locator("#thread .msg").first).to_have_class("msg msg-agent")
    shoot(workspace, "campaign-3-workspace")
    assert errors == []
    context.close()
    agent_context.close()


@pytest.mark.timeout(120)
def test_a_dismissed_invitation_does_not_come_back_on_the_next_page(
    browser, live_server_url, campaign
):
    from playwright.sync_api import expect

    agent_context, _workspace, errors = open_workspace(browser, live_server_url)
    context = browser.new_context(viewport={"width": 390, "height": 740}, locale="en-US")
    shop = context.new_page()
    shop.goto(f"{live_server_url}/widget/demo/")
    invite = shop.locator("helpdesk-widget .hd-invite")
    expect(invite).to_be_visible(timeout=15_000)
    shoot(shop, "campaign-4-phone")
    shop.get_by_role("button", name="Dismiss the invitation").focus()
    shop.keyboard.press("Enter")
    expect(invite).to_be_hidden()
    expect(shop.get_by_role("button", name="Open chat")).to_be_focused()
    shop.goto(f"{live_server_url}/widget/demo/?product=huila")
    shop.wait_for_timeout((DELAY + 2) * 1000)
    expect(invite).to_be_hidden()
    assert errors == []
    context.close()
    agent_context.close()
