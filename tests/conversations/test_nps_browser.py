"""The NPS question in the widget, in a real browser against a real server: asked once the
CSAT question of a resolved conversation is answered or declined, then answered (201,
thanks) or declined ("Not now"), in English and Turkish, wide and narrow.

Set WIDGET_SCREENSHOTS=/some/dir to keep screenshots of what the customer sees.
"""

import pytest

from tests.helpers import eventually

from .test_widget_browser import (
    DESKTOP,
    PHONE,
    as_agent_request,
    billing,  # noqa: F401 - the default team with an agent online
    open_demo,
    reply_as_agent,
    screenshot,
    wait_until_live,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def resolved_and_rated(page, team, agent, *, rate: str, send: str, first_message: str):
    """In the open widget: the customer writes, the agent answers and resolves, the customer
    rates (`rate`: a star's label, or "Not now" in the page's language to skip it)."""
    from playwright.sync_api import expect

    from conversations.models import Conversation
    from conversations.services import conversation_resolve

    composer = page.locator(".hd-input")
    composer.fill(first_message)
    composer.press("Enter")
    conversation = eventually(lambda: Conversation.objects.filter(team=team).first())
    wait_until_live(page)
    reply_as_agent(conversation, agent, "Done!", "agent-1")
    as_agent_request(conversation_resolve, conversation=conversation, by=agent)
    rating = page.locator(".hd-rating")
    expect(rating).to_be_visible(timeout=5000)
    assert page.locator(".hd-nps").count() == 0  # the CSAT question comes first
    rating.get_by_role("button", name=rate).click()
    if send:
        rating.get_by_role("button", name=send).click()
    return conversation


def test_the_customer_answers_the_nps_question_after_rating(browser, live_server_url, billing):  # noqa: F811
    from playwright.sync_api import expect

    from conversations.models import NpsResponse

    team, agent = billing
    context, page, _ = open_demo(browser, live_server_url, viewport=DESKTOP)
    page.get_by_role("button", name="Open chat").click()
    conversation = resolved_and_rated(
        page, team, agent, rate="5 stars", send="Send rating", first_message="Where is my parcel?"
    )
    expect(page.get_by_text("Thank you for your feedback!")).to_be_visible()

    question = page.get_by_role("form", name="How likely are you to recommend us?")
    expect(question).to_be_visible(timeout=5000)
    scale = question.get_by_role("radiogroup", name="How likely are you to recommend us?")
    expect(scale.get_by_role("radio")).to_have_count(11)
    expect(scale.get_by_role("radio", name="0 — not at all likely")).to_be_visible()
    expect(scale.get_by_role("radio", name="10 — extremely likely")).to_be_visible()

    question.get_by_role("button", name="Send").click()  # nothing chosen yet
    expect(question.get_by_role("alert")).to_have_text("Choose a number from 0 to 10.")

    # By keyboard, as a radio group: Tab into it, arrows move the choice.
    scale.get_by_role("radio", name="0 — not at all likely").focus()
    page.keyboard.press("Space")
    for _ in range(9):
        page.keyboard.press("ArrowRight")
    expect(scale.get_by_role("radio", name="9", exact=True)).to_be_checked()
    expect(question.get_by_role("alert")).to_have_count(0)
    question.get_by_role("textbox").fill("Fast and friendly.")
    screenshot(page, "nps-1-question-en-wide")

    with page.expect_response(
        lambda r: r.url.endswith("/api/v1/widget/nps") and r.request.method == "POST"
    ) as sent:
        question.get_by_role("button", name="Send").click()
    assert sent.value.status == 201
    expect(
        page.get_by_role("status").filter(has_text="Thank you! Your answer helps us improve.")
    ).to_be_visible()
    expect(question).to_have_count(0)
    screenshot(page, "nps-2-thanks-en-wide")

    saved = eventually(lambda: NpsResponse.objects.filter(customer=conversation.customer).first())
    assert (saved.score, saved.comment, saved.conversation_id) == (
        9,
        "Fast and friendly.",
        conversation.pk,
    )

    # Asked once per interval: after a reload the question does not come back.
    page.reload()
    expect(page.locator(".hd-thread").get_by_text("Done!")).to_be_visible(timeout=5000)
    page.wait_for_timeout(500)
    expect(page.locator(".hd-nps")).to_have_count(0)
    assert NpsResponse.objects.count() == 1
    context.close()


def test_not_now_declines_in_turkish_on_a_phone(browser, live_server_url, billing):  # noqa: F811
    from playwright.sync_api import expect

    from conversations.models import NpsResponse, Rating

    team, agent = billing
    context, page, _ = open_demo(browser, live_server_url, locale="tr-TR", viewport=PHONE)
    page.get_by_role("button", name="Sohbeti aç").click()
    resolved_and_rated(  # the CSAT question declined: the NPS question follows all the same
        page, team, agent, rate="Şimdi değil", send="", first_message="Kargom nerede?"
    )
    expect(page.locator(".hd-rating")).to_have_count(0)
    question = page.get_by_role("form", name="Bizi tavsiye etme olasılığınız nedir?")
    expect(question).to_be_visible(timeout=5000)
    expect(question.get_by_role("radio")).to_have_count(11)
    expect(question.get_by_text("Pek olası değil")).to_be_visible()
    seven = question.get_by_role("radio", name="7", exact=True)
    seven.click()  # a tap on the number: the radio lies over it
    expect(seven).to_be_checked()
    box = question.bounding_box()
    assert box["width"] <= PHONE["width"]  # the scale fits a phone
    screenshot(page, "nps-3-question-tr-phone")

    question.get_by_role("button", name="Şimdi değil").click()
    expect(page.locator(".hd-nps")).to_have_count(0)
    page.reload()
    expect(page.locator(".hd-thread").get_by_text("Done!")).to_be_visible(timeout=5000)
    page.wait_for_timeout(500)
    expect(page.locator(".hd-nps")).to_have_count(0)  # declined for this conversation
    assert not NpsResponse.objects.exists()
    assert not Rating.objects.exists()  # "Not now" is no rating either
    context.close()
