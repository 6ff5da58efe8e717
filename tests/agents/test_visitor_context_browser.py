"""Visitor context in real Chromium, against a real server: a shopper browses the demo shop
(a product opened without a page load, a cart told with HelpdeskWidget.identify), and the
agent sees them "On the site now", starts a conversation that reaches the shopper's widget,
and reads the context panel: current and recent pages, attributes, browser, local time,
notes (escaped), in English and Turkish.

Screenshots go to $HELPDESK_SCREENSHOTS (default /tmp/helpdesk-screenshots).
"""

import pytest

from tests.helpers import eventually

from .test_workspace_browser import DESKTOP, NARROW, billing, open_workspace, shoot  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIRST_MESSAGE = "Hello! Colombia Huila is back in stock. Can I help with the grind?"


def browse_the_shop(browser, live_server_url: str):
    """A shopper in Tokyo adds a coffee to the cart, then opens another product in place."""
    from conversations.models import PageView

    context = browser.new_context(
        viewport={"width": 1100, "height": 800}, locale="en-US", timezone_id="Asia/Tokyo"
    )
    page = context.new_page()
    page.goto(f"{live_server_url}/widget/demo/")
    page.locator("[data-add-to-cart='380']").click()  # identify({cart_items: 1, …})
    eventually(lambda: PageView.objects.exists())  # the session, then this page's view
    page.get_by_role("link", name="Ethiopia Yirgacheffe").click()  # pushState: no page load
    page.get_by_role("button", name="Open chat").click()
    page.wait_for_selector("helpdesk-widget[data-connection=live]", state="attached")
    return context, page


@pytest.mark.timeout(180)
def test_the_agent_sees_the_visitor_and_reaches_out_from_on_the_site_now(
    browser,
    live_server_url,
    billing,  # noqa: F811
):
    from playwright.sync_api import expect

    from conversations.models import Customer, PageView

    shop_context, shop = browse_the_shop(browser, live_server_url)
    customer = eventually(lambda: Customer.objects.filter(attributes__cart_items=1).first())
    eventually(
        lambda: PageView.objects.filter(customer=customer, url__contains="product=").exists()
    )
    assert customer.attributes == {"cart_items": 1, "cart_value_try": 380}

    context, page, errors = open_workspace(browser, live_server_url)
    page.locator("#visitors summary").click()
    visitor = page.locator(f".visitor[data-customer='{customer.pk}']")
    expect(visitor).to_be_visible(timeout=10000)
    current = visitor.get_by_role("link", name="Ethiopia Yirgacheffe · Lale Coffee Roasters")
    expect(current).to_have_attribute("target", "_blank")
    expect(current).to_have_attribute("rel", "noopener noreferrer")
    shoot(page, "visitors-on-the-site-now")

    visitor.get_by_role("button", name="Start a conversation").click()
    visitor.get_by_role("textbox").fill(FIRST_MESSAGE)
    visitor.get_by_role("button", name="Send").click()

    # The shopper's open widget receives it, live.
    expect(shop.get_by_text(FIRST_MESSAGE).first).to_be_visible(timeout=10000)
    # The agent's workspace opens the conversation, with the customer's context.
    expect(page.locator("#thread")).to_contain_text(FIRST_MESSAGE)
    pages = page.locator("#customer-pages li")
    expect(pages.first).to_contain_text("Ethiopia Yirgacheffe")
    expect(pages).to_have_count(2)  # the shop's front page, then the product
    expect(page.locator("#customer-online")).to_be_visible()
    attributes = page.locator("#customer-attributes")
    expect(attributes).to_contain_text("cart_items")
    expect(attributes).to_contain_text("380")
    expect(page.locator("#customer-local-time")).to_contain_text("Asia/Tokyo")
    expect(page.locator("#customer-browser")).to_contain_text("Chrome · Linux")

    page.locator("#note-input").fill("<b>Prefers whole beans</b>")
    page.get_by_role("button", name="Add note").click()
    note = page.locator("#customer-notes li").first
    expect(note).to_contain_text("<b>Prefers whole beans</b>")  # as text, not markup
    assert note.locator("b").count() == 0
    shoot(page, "visitor-context-panel")
    assert not errors, errors
    context.close()

    # In Turkish, narrow: the same panel, translated.
    context, page, errors = open_workspace(
        browser, live_server_url, viewport=NARROW, locale="tr-TR"
    )
    page.evaluate("(id) => window.hdWorkspace.open(id)", customer.conversations.get().pk)
    page.get_by_role("button", name="Ayrıntılar").click()
    expect(page.get_by_text("Müşteri hakkında notlar")).to_be_visible()
    expect(page.locator("#customer-pages li").first).to_contain_text("Ethiopia Yirgacheffe")
    shoot(page, "visitor-context-panel-tr-narrow")
    assert not errors, errors
    context.close()
    shop_context.close()
