"""On the site now, live, in Chromium: the workspace's list follows a shopper who opens
another product and then leaves, at once (pushed over the agent socket, long before the
list's one-minute poll)."""

import pytest

from tests.agents.test_visitor_context_browser import billing, browse_the_shop  # noqa: F401
from tests.agents.test_workspace_browser import open_workspace, shoot
from tests.helpers import eventually

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.timeout(180)
def test_on_the_site_now_follows_a_shopper_live(
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
    context, page, errors = open_workspace(browser, live_server_url)
    page.locator("#visitors summary").click()
    visitor = page.locator(f".visitor[data-customer='{customer.pk}']")
    expect(
        visitor.get_by_role("link", name="Ethiopia Yirgacheffe · Lale Coffee Roasters")
    ).to_be_visible(timeout=10_000)

    shop.get_by_role("link", name="Colombia Huila").click()
    expect(visitor.get_by_role("link", name="Colombia Huila · Lale Coffee Roasters")).to_be_visible(
        timeout=5000
    )
    shoot(page, "visitors-live")

    shop_context.close()  # the shopper leaves: the widget's socket closes
    expect(visitor).to_have_count(0, timeout=5000)
    expect(page.locator("#visitors-count")).to_have_text("0")
    assert errors == []
    context.close()
