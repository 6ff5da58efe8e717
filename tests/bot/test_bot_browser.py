"""The bot in a real browser (Chromium) against a real server: a customer writes, the bot
answers with an article, the customer asks for a person, and the agent's workspace gets it.

Set HELPDESK_SCREENSHOTS=/some/dir to keep screenshots.
"""

import pytest

from tests.agents.test_workspace_browser import open_widget, open_workspace, row, shoot
from tests.helpers import eventually

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bot_team(make_team, make_agent, make_article):
    from conversations.models import BotMode

    team = make_team("billing", is_default=True, bot=BotMode.ALWAYS_FIRST)
    make_agent("ayse@example.com", teams=[team], first_name="Ayşe", last_name="Demir")
    article = make_article("Where is my parcel?", "Track your parcel with the link we sent.")
    return team, article


@pytest.mark.timeout(180)
def test_the_bot_answers_with_an_article_and_hands_over_to_the_agents_workspace(
    browser, live_server_url, bot_team
):
    from playwright.sync_api import expect

    from conversations.models import Conversation

    team, article = bot_team
    agent_context, workspace, errors = open_workspace(browser, live_server_url)
    widget_context, widget = open_widget(browser, live_server_url)
    composer = widget.get_by_role("textbox", name="Message")
    composer.fill("Where is my parcel? It is late.")
    composer.press("Enter")

    # The bot answers as the bot, with a link to the article and the way to a person.
    answer = widget.locator(".hd-msg--bot")
    expect(answer.locator(".hd-msg__author")).to_have_text("Help bot", timeout=10_000)
    link = answer.get_by_role("link")
    # HELPDESK_PUBLIC_URL + the article's page (the widget may be on another site).
    assert link.get_attribute("href").endswith(article.get_absolute_url())
    talk = widget.get_by_role("button", name="Talk to a person")
    expect(talk).to_be_visible()
    shoot(widget, "bot-1-widget-answer")
    conversation = eventually(lambda: Conversation.objects.filter(team=team).first())
    assert conversation.with_bot and conversation.assignee_id is None  # no agent yet

    # "Talk to a person": routed to the online agent, who sees the bot's exchange.
    talk.click()
    expect(widget.get_by_role("status").filter(has_text="A person will answer you")).to_be_visible()
    expect(talk).to_have_count(0)
    deniz = row(workspace, "Deniz Kaya")
    expect(deniz).to_be_visible(timeout=10_000)
    deniz.click()
    # In the thread (the handover also raises an alert that quotes it).
    expect(
        workspace.locator("#thread").get_by_text("These articles may answer your question:")
    ).to_be_visible()
    marker = workspace.locator("#thread .handover")
    expect(marker).to_have_text("Handed over by the bot: the customer asked for a person.")
    shoot(widget, "bot-2-widget-handed-over")
    shoot(workspace, "bot-3-workspace")
    conversation.refresh_from_db()
    assert not conversation.with_bot and conversation.assignee is not None
    assert errors == []
    widget_context.close()
    agent_context.close()


@pytest.mark.timeout(120)
def test_the_bot_speaks_turkish_on_a_phone_when_nobody_is_online(
    browser, live_server_url, make_team, make_article
):
    from playwright.sync_api import expect

    from conversations.models import BotMode

    make_team("destek", is_default=True, bot=BotMode.WHEN_UNAVAILABLE)  # nobody in it
    make_article("Kargom nerede?", "Kargonuzu e-postadaki bağlantıyla izleyin.", language="tr")
    context = browser.new_context(locale="tr-TR", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server_url}/widget/demo/")
    page.get_by_role("button", name="Sohbeti aç").click()
    composer = page.get_by_role("textbox", name="Mesaj")
    composer.fill("Kargom nerede, hâlâ gelmedi")
    composer.press("Enter")
    answer = page.locator(".hd-msg--bot")
    expect(answer.locator(".hd-msg__author")).to_have_text("Yardım botu", timeout=10_000)
    expect(answer).to_contain_text("Sorunuzun yanıtı bu makalelerde olabilir:")
    expect(answer.get_by_role("link")).to_have_count(1)
    talk = page.get_by_role("button", name="Bir kişiyle konuş")
    expect(talk).to_be_visible()
    shoot(page, "bot-4-widget-tr-narrow")
    talk.click()
    expect(page.get_by_role("status").filter(has_text="Bir kişi en kısa sürede")).to_be_visible()
    shoot(page, "bot-5-widget-tr-narrow-handed-over")
    context.close()
