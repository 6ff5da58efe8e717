"""An axe-core audit (WCAG 2.1 A and AA) of every page people use, in English and Turkish, in
a real Chromium against a real server: the widget closed and open (its "nobody online" notice,
help search, an article, a conversation, the rating and NPS questions), the agent workspace with a
conversation open, the reports dashboard, the help center and the admin.

axe-core comes from the axe-playwright-python package (its bundled axe.min.js, MPL-2.0): no
download at test time. A failure lists each violation: rule, impact and the nodes it found.
"""

import pytest

from tests.helpers import eventually

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DESKTOP = {"width": 1366, "height": 860}


def axe_violations(page, where: str) -> list[str]:
    """What axe-core finds on the page as it is now (shadow roots included), one line a node."""
    from axe_playwright_python.base import AXE_SCRIPT

    page.evaluate(AXE_SCRIPT)
    results = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})",
        WCAG_21_AA,
    )
    return [
        f"{where}: {violation['id']} ({violation['impact']}) at {node['target']}: "
        f"{node.get('failureSummary', '').splitlines()[-1].strip()}"
        for violation in results["violations"]
        for node in violation["nodes"]
    ]


@pytest.fixture
def desk(make_team, make_agent, start_conversation, make_customer):
    """A team with an agent (who can log in, and is offline: the widget shows its notice), a
    conversation with a reply, the demo help center."""
    from django.core.management import call_command

    from agents.models import Macro
    from conversations.models import SavedView
    from conversations.services import Author, message_post

    team = make_team("billing", is_default=True)  # the demo page's team; nobody online
    agent = make_agent(
        "ayse@example.com",
        teams=[team],
        first_name="Ayşe",
        last_name="Demir",
        is_superuser=True,
    )
    conversation = start_conversation(
        customer=make_customer("Deniz Kaya"), body="Where is my order?", team=team
    )
    message_post(
        conversation=conversation,
        author=Author.of_agent(agent),
        body="It ships today.",
        client_id="reply-1",
    )
    call_command("seed_help", verbosity=0)
    SavedView.objects.create(name="Waiting", owner=agent, filters={"status": "open"})
    SavedView.objects.create(name="Billing queue", team=team, filters={"assignee": "none"})
    Macro.objects.create(
        name="Ask for the order number",
        body="Could you send your order number, {{customer.first_name}}?",
        status="pending",
        add_labels=["order"],
    )
    return conversation, agent


def resolve_the_widgets_conversation(agent) -> None:
    """The agent answers and resolves what the widget started, as a request would."""
    from conversations.models import Conversation
    from conversations.services import conversation_resolve
    from tests.conversations.test_widget_browser import as_agent_request, reply_as_agent

    conversation = eventually(
        lambda: Conversation.objects.exclude(customer__name="Deniz Kaya").first()
    )
    reply_as_agent(conversation, agent, "Sent this morning.", "agent-2")
    as_agent_request(conversation_resolve, conversation=conversation, by=agent)


def log_in(page, base: str, next_path: str) -> None:
    page.goto(f"{base}/admin/login/?next={next_path}")
    page.fill("#id_username", "ayse@example.com")
    page.fill("#id_password", "pw-for-tests")
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}{next_path}")


@pytest.mark.timeout(240)
@pytest.mark.parametrize("locale", ["en-US", "tr-TR"])
def test_axe_finds_no_wcag_21_aa_violation_on_any_page(desk, browser, live_server_url, locale):
    conversation, agent = desk
    from playwright.sync_api import expect

    context = browser.new_context(locale=locale, viewport=DESKTOP)
    page = context.new_page()
    language = locale[:2]
    found: list[str] = []

    page.goto(f"{live_server_url}/widget/demo/")
    launcher = page.locator("helpdesk-widget .hd-launcher")
    expect(launcher).to_be_visible()
    found += axe_violations(page, "widget, closed")
    launcher.click()
    expect(page.locator("helpdesk-widget .hd-notice")).to_be_visible()
    page.wait_for_timeout(400)  # the panel's opening animation: axe reads colours as shown
    found += axe_violations(page, "widget, open")
    widget = page.locator("helpdesk-widget")
    widget.locator(".hd-quick .hd-link").click()  # "Search help"
    expect(widget.locator(".hd-article-row").first).to_be_visible()
    found += axe_violations(page, "widget, help search")
    widget.locator(".hd-article-row").first.click()
    expect(widget.locator(".hd-article__title")).to_be_visible()
    found += axe_violations(page, "widget, help article")
    widget.locator(".hd-back").click()
    widget.locator(".hd-back").click()
    widget.locator(".hd-start").first.click()  # "New conversation"
    widget.locator(".hd-input").fill("Where is my parcel?")
    widget.locator(".hd-input").press("Enter")
    expect(widget.locator(".hd-msg.is-sending")).to_have_count(0)
    found += axe_violations(page, "widget, a conversation")
    resolve_the_widgets_conversation(agent)
    rating = widget.locator(".hd-rating")
    expect(rating).to_be_visible(timeout=5000)
    found += axe_violations(page, "widget, rating question")
    rating.locator(".hd-card__actions .hd-link").click()  # "Not now"
    expect(widget.locator(".hd-nps")).to_be_visible(timeout=5000)
    found += axe_violations(page, "widget, NPS question")

    page.goto(f"{live_server_url}/help/{language}/")
    found += axe_violations(page, "help center home")
    page.locator("#hc-q").fill("refund" if language == "en" else "iade")
    page.locator("#hc-q").press("Enter")
    expect(page.locator(".hc-results li").first).to_be_visible()
    found += axe_violations(page, "help center search")
    page.locator(".hc-results li a").first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    found += axe_violations(page, "help center article")

    log_in(page, live_server_url, "/agent/")
    page.wait_for_selector("#live-status[data-state=live]")
    page.locator("#conversation-list .conv", has_text="Deniz Kaya").click()
    expect(page.locator("#thread").get_by_text("It ships today.")).to_be_visible()
    found += axe_violations(page, "workspace")
    expect(page.locator("#saved-views-list .saved-view")).to_have_count(2)
    page.locator("#conversation-list .conv-select").first.check()
    expect(page.locator("#bulk-bar")).to_be_visible()
    found += axe_violations(page, "workspace, views and the bulk bar")
    page.locator("#save-view").click()
    found += axe_violations(page, "workspace, save a view")
    page.keyboard.press("Escape")
    page.locator("#shortcuts-button").click()
    found += axe_violations(page, "workspace, keyboard shortcuts")
    page.keyboard.press("Escape")
    page.locator("#macros-button").click()  # the macro dialog, a macro's preview shown
    expect(page.locator("#macro-preview-reply")).to_be_visible()
    found += axe_violations(page, "workspace, macro dialog")
    page.keyboard.press("Escape")

    page.goto(f"{live_server_url}/reports/")
    assert eventually(lambda: page.locator("canvas").count() > 0)
    page.wait_for_load_state("networkidle")
    found += axe_violations(page, "reports")

    page.goto(f"{live_server_url}/admin/conversations/conversation/")
    found += axe_violations(page, "admin changelist")
    page.goto(f"{live_server_url}/admin/conversations/conversation/{conversation.pk}/change/")
    found += axe_violations(page, "admin change form")
    context.close()

    assert not found, f"axe-core ({locale}) found:\n" + "\n".join(found)
