"""Suggestion sessions in a real browser (Chromium): the widget records the suggestions it
showed for a first message once, and the conversation that followed them."""

import pytest

from tests.helpcenter.test_helpcenter_browser import WIDE, help_center  # noqa: F401 - a fixture
from tests.helpers import eventually

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.timeout(120)
def test_the_widget_records_the_suggestions_it_showed_and_the_conversation_after_them(
    browser,
    live_server_url,
    help_center,  # noqa: F811
):
    from playwright.sync_api import expect

    from conversations.models import Conversation
    from helpcenter.models import SuggestionSession

    context = browser.new_context(locale="en-US", viewport=WIDE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server_url}/widget/demo/")
    page.get_by_role("button", name="Open chat").click()
    composer = page.get_by_role("textbox", name="Message")
    composer.press_sequentially("Hi, where is my parc", delay=20)
    suggestions = page.locator(".hd-suggest")
    expect(suggestions.get_by_role("button", name="Where is my parcel?")).to_be_visible()
    session = eventually(lambda: SuggestionSession.objects.first())
    assert session is not None and session.articles >= 1 and session.converted_at is None
    # More typing brings new suggestions, but the same session.
    composer.press_sequentially("el? And returning an order", delay=20)
    expect(suggestions.get_by_role("button", name="Returning an order")).to_be_visible()
    composer.press("Enter")
    conversation = eventually(lambda: Conversation.objects.first())
    assert conversation is not None
    session = eventually(
        lambda: SuggestionSession.objects.filter(conversation=conversation).first()
    )
    assert session is not None  # followed: not deflected
    assert SuggestionSession.objects.count() == 1
    assert errors == []
    context.close()
