"""The help center in a real browser (Chromium) against a real server: the widget's Search
help view and its suggestions while a customer writes a first message, and the /help/ pages.

Set HELPDESK_SCREENSHOTS=/some/dir to keep screenshots (wide and narrow, English and Turkish).
"""

import os
from pathlib import Path

import pytest

from tests.helpers import eventually

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(os.environ.get("HELPDESK_SCREENSHOTS", "/tmp/helpdesk-screenshots"))
WIDE = {"width": 1280, "height": 820}
NARROW = {"width": 390, "height": 844}


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)  # the panel's opening animation
    page.screenshot(path=str(SCREENSHOTS / f"help-{name}.png"))


@pytest.fixture
def help_center(make_team, make_article):
    make_team("billing", is_default=True)
    parcel = make_article(
        "Where is my parcel?",
        "Track your **parcel** with the number in your email. <img src=x onerror=alert(1)>",
        featured=True,
    )
    returns = make_article("Returning an order", "Unopened bags go back within 14 days.")
    kargo = make_article(
        "Kargom nerede?",
        "Kargonuzu e-postadaki **numarayla** takip edin.",
        language="tr",
        translation_of=parcel,
        featured=True,
    )
    return parcel, returns, kargo


@pytest.mark.timeout(120)
def test_the_widget_suggests_articles_for_a_first_message_and_searches_help(
    browser, live_server_url, help_center
):
    from playwright.sync_api import expect

    from helpcenter.models import ArticleFeedback, ArticleViews

    parcel, returns, _ = help_center
    context = browser.new_context(locale="en-US", viewport=WIDE)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{live_server_url}/widget/demo/")
    page.get_by_role("button", name="Open chat").click()

    # A first message being typed: suggestions arrive, at most three, announced politely.
    composer = page.get_by_role("textbox", name="Message")
    composer.press_sequentially("Hi, where is my parc", delay=20)
    suggestions = page.locator(".hd-suggest")
    expect(suggestions.get_by_role("button", name="Where is my parcel?")).to_be_visible()
    assert suggestions.get_attribute("aria-live") == "polite"
    assert suggestions.get_by_role("button").count() <= 3
    screenshot(page, "widget-suggestions")

    # Open it inside the widget: the sanitized body, then "this answered my question".
    suggestions.get_by_role("button", name="Where is my parcel?").click()
    article = page.locator(".hd-article")
    expect(article.get_by_role("heading", name="Where is my parcel?")).to_be_focused()
    expect(article.locator("strong")).to_have_text("parcel")
    expect(article.locator("img")).to_have_count(0)
    screenshot(page, "widget-article")
    article.get_by_role("button", name="Yes").click()
    expect(article.get_by_text("Thank you! Glad it helped.")).to_be_visible()
    vote = eventually(lambda: ArticleFeedback.objects.filter(article=parcel).first())
    assert vote is not None and vote.helpful is True and vote.source == "widget"
    assert ArticleViews.objects.get(article=parcel).views == 1

    # Back to the message: the draft is still there.
    page.get_by_role("button", name="Back to your message").click()
    expect(composer).to_have_value("Hi, where is my parc")

    # The Search help view: ranked results with the match highlighted; open one, vote No.
    page.get_by_role("button", name="Search help").click()
    search = page.get_by_role("searchbox", name="Search help articles")
    expect(search).to_be_focused()
    expect(page.locator(".hd-list").get_by_text("Popular articles")).to_be_visible()
    search.fill("unopened bags")
    expect(page.get_by_role("status").filter(has_text="1 article found")).to_be_visible()
    result = page.get_by_role("button", name="Returning an order")
    expect(result.locator("mark")).to_have_text(["Unopened", "bags"])
    screenshot(page, "widget-search")
    result.click()
    page.locator(".hd-article").get_by_role("button", name="No").click()
    expect(page.get_by_text("Sorry it did not help.")).to_be_visible()
    assert eventually(
        lambda: ArticleFeedback.objects.filter(article=returns, helpful=False).exists()
    )
    page.get_by_role("button", name="Back to the articles").click()
    expect(search).to_have_value("unopened bags")
    assert dialogs == []
    context.close()


@pytest.mark.timeout(120)
def test_the_widget_speaks_turkish_on_a_phone(browser, live_server_url, help_center):
    from playwright.sync_api import expect

    context = browser.new_context(locale="tr-TR", viewport=NARROW)
    page = context.new_page()
    page.goto(f"{live_server_url}/widget/demo/")
    page.get_by_role("button", name="Sohbeti aç").click()
    page.get_by_role("textbox", name="Mesaj").press_sequentially("kargom", delay=20)
    suggestion = page.locator(".hd-suggest").get_by_role("button", name="Kargom nerede?")
    expect(suggestion).to_be_visible()
    expect(page.get_by_text("Bu makaleler sorunuzu yanıtlayabilir")).to_be_visible()
    screenshot(page, "widget-suggestions-tr-narrow")
    suggestion.click()
    expect(page.get_by_text("Bu, sorunuzu yanıtladı mı?")).to_be_visible()
    screenshot(page, "widget-article-tr-narrow")
    context.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("locale", "viewport", "query", "title", "yes"),
    [
        ("en-US", WIDE, "parcels", "Where is my parcel?", "Yes"),
        ("tr-TR", NARROW, "kargom", "Kargom nerede?", "Evet"),
    ],
)
def test_the_help_center_pages_search_and_take_a_vote(
    browser, live_server_url, help_center, locale, viewport, query, title, yes
):
    from playwright.sync_api import expect

    from helpcenter.models import ArticleFeedback

    context = browser.new_context(locale=locale, viewport=viewport)
    page = context.new_page()
    page.goto(f"{live_server_url}/help/")
    language = locale[:2]
    assert page.url.endswith(f"/help/{language}/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    screenshot(page, f"home-{language}")

    page.locator("#hc-q").fill(query)
    page.locator("#hc-q").press("Enter")
    result = page.locator(".hc-results li").first
    expect(result.get_by_role("link")).to_have_text(title)
    expect(result.locator("mark").first).to_be_visible()
    screenshot(page, f"search-{language}")

    result.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator(".hc-body img")).to_have_count(0)
    hreflang = page.locator('link[rel="alternate"][hreflang]')
    assert sorted(hreflang.evaluate_all("links => links.map(l => l.hreflang)")) == ["en", "tr"]
    page.get_by_role("button", name=yes, exact=True).click()
    expect(page.locator("#feedback [role=status]")).to_be_visible()
    screenshot(page, f"article-{language}")
    assert ArticleFeedback.objects.filter(source="page", helpful=True).count() == 1

    # The language switcher goes to the article's translation.
    other = "tr" if language == "en" else "en"
    page.locator(f".hc-lang button[value={other}]").click()
    expect(page.locator("html")).to_have_attribute("lang", other)
    assert f"/help/{other}/articles/" in page.url
    context.close()


@pytest.mark.timeout(120)
def test_the_admin_previews_the_body_as_it_is_typed(browser, live_server_url, make_agent):
    from playwright.sync_api import expect

    make_agent("lead@example.com", is_superuser=True)
    page = browser.new_context(locale="en-US", viewport=WIDE).new_page()
    page.goto(f"{live_server_url}/admin/helpcenter/article/add/")
    page.fill("#id_username", "lead@example.com")
    page.fill("#id_password", "pw-for-tests")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/helpcenter/article/add/")

    page.fill("#id_title", "Kargo ücreti")
    page.locator("#id_body").press_sequentially("Free over **750** <script>window.ran=1</script>")
    preview = page.locator(".hc-preview")
    expect(preview.locator("strong")).to_have_text("750")
    expect(preview).to_contain_text("<script>window.ran=1</script>")  # as text
    assert page.evaluate("window.ran") is None
    screenshot(page, "admin-preview")
