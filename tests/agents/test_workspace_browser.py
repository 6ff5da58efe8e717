"""The agent workspace in a real browser (Chromium), against a real server (HTTP + websockets),
with a customer writing in the real widget next to it.

Screenshots go to $HELPDESK_SCREENSHOTS (default /tmp/helpdesk-screenshots).
"""

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers import eventually

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(os.environ.get("HELPDESK_SCREENSHOTS", "/tmp/helpdesk-screenshots"))
DESKTOP = {"width": 1366, "height": 820}
NARROW = {"width": 400, "height": 820}
GREETING = "Hi {{customer.name}}, thanks for writing! Let me look at your invoice."


def on_the_server(function, **kwargs):
    """Run a service as a request would: in a thread without Playwright's event loop (the
    after-commit broadcast uses async_to_sync)."""
    from django.db import connections

    def run():
        try:
            return function(**kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result(timeout=30)


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(250)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


@pytest.fixture
def billing(make_team, make_agent):
    # Overrides the suite's `billing` (a bare team): the default team, its agent, canned replies.
    from agents.models import CannedResponse

    team = make_team("billing", is_default=True)
    agent = make_agent(
        "ayse@example.com", teams=[team], first_name="Ayşe", last_name="Demir", capacity=3
    )
    CannedResponse.objects.create(shortcut="greet", body=GREETING)
    CannedResponse.objects.create(shortcut="refund", body="Your refund is on its way.")
    return team, agent


def open_workspace(browser, live_server_url: str, *, viewport=DESKTOP, locale="en-US"):
    context = browser.new_context(viewport=viewport, locale=locale)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server_url}/agent/")
    page.wait_for_url("**/admin/login/?next=/agent/")  # staff login first
    page.fill("#id_username", "ayse@example.com")
    page.fill("#id_password", "pw-for-tests")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server_url}/agent/")
    page.wait_for_selector("#live-status[data-state=live]")
    return context, page, errors


def open_widget(browser, live_server_url: str):
    context = browser.new_context(viewport={"width": 1100, "height": 800}, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server_url}/widget/demo/?signed_in=1")  # Deniz Kaya, a verified shop user
    page.get_by_role("button", name="Open chat").click()
    return context, page


def shared_client_loads(page) -> list[str]:
    """The fetches of helpdesk/client.js this page made (modulepreload and import: one)."""
    return page.evaluate(
        "performance.getEntriesByType('resource').map((entry) => entry.name)"
        ".filter((name) => name.endsWith('/static/helpdesk/client.js'))"
    )


def row(page, name: str):
    return page.locator("#conversation-list .conv", has_text=name)


@pytest.mark.timeout(180)
def test_a_customer_writes_and_the_agent_answers_live_with_a_canned_response(
    browser, live_server_url, billing
):
    from playwright.sync_api import expect

    from conversations.models import Conversation, Message
    from conversations.services import conversation_start

    team, agent = billing
    agent_context, page, errors = open_workspace(browser, live_server_url)
    page.evaluate("window.__notReloaded = true")
    expect(page.locator("#open-counter")).to_have_text("Open: 0 / 3")
    expect(page.locator("#inbox-empty")).to_have_text("No conversations here.")
    # The socket made the agent online: the toggle says so.
    expect(page.locator("input[name=presence][value=online]")).to_be_checked()

    # The customer writes in the widget; the conversation is routed to the online agent and
    # shows up in "Mine" without a reload, with its unread badge and the counter moved on.
    widget_context, widget = open_widget(browser, live_server_url)
    composer = widget.get_by_role("textbox", name="Message")
    composer.fill("My invoice shows the wrong amount.")
    composer.press("Enter")
    conversation = eventually(lambda: Conversation.objects.filter(team=team).first())
    assert conversation is not None
    deniz = row(page, "Deniz Kaya")
    expect(deniz).to_be_visible(timeout=10_000)
    expect(deniz.locator(".preview")).to_have_text("My invoice shows the wrong amount.")
    expect(deniz.locator(".unread-badge")).to_have_text("1")
    expect(page.locator("#open-counter")).to_have_text("Open: 1 / 3")
    shoot(page, "workspace-1-new-conversation")

    # Opening it reads it: the whole thread, the customer's details, the badge gone.
    deniz.locator("a").click()
    thread = page.locator("#thread")
    expect(thread.locator(".msg-customer .body")).to_have_text(
        ["My invoice shows the wrong amount."]
    )
    expect(page.locator("#customer-name")).to_have_text("Deniz Kaya")
    expect(page.locator("#customer-identifier")).to_have_text("demo-shop-user-42")
    expect(deniz.locator(".unread-badge")).to_have_count(0)
    # Transfer and call-back come from another branch: shown only where the API has them.
    for box, available in (("#transfer-box", has_transfer()), ("#callback-box", has_callback())):
        if available:
            expect(page.locator(box)).to_be_visible()
        else:
            expect(page.locator(box)).to_be_hidden()

    # The customer types: the agent sees it.
    composer.press_sequentially("Also", delay=30)
    expect(page.locator("#typing")).to_have_text("The customer is typing…", timeout=5000)
    composer.fill("")

    # "/" opens the canned responses; typing filters; Enter inserts it with the placeholder
    # filled; Enter again sends it, and the customer receives it live.
    # The agent types: the customer's widget shows it.
    reply = page.locator("#composer-input")
    reply.click()
    reply.press_sequentially("Let me", delay=30)
    expect(widget.get_by_text("Ayşe Demir is typing…")).to_be_visible(timeout=5000)
    reply.fill("")

    reply.press_sequentially("/gr")
    picker = page.locator("#canned-picker")
    expect(picker).to_be_visible()
    expect(picker.locator("[role=option]")).to_have_count(1)
    expect(picker.locator("[role=option] .shortcut")).to_have_text("/greet")
    shoot(page, "workspace-2a-canned-picker")
    reply.press("Enter")
    filled = "Hi Deniz Kaya, thanks for writing! Let me look at your invoice."
    expect(reply).to_have_value(filled)
    expect(picker).to_be_hidden()
    reply.press("Enter")
    expect(thread.locator(".msg-agent .body").last).to_have_text(filled)
    expect(reply).to_have_value("")
    expect(widget.locator(".hd-thread").get_by_text(filled)).to_be_visible(timeout=10_000)
    sent = Message.objects.get(conversation=conversation, body=filled)
    assert sent.agent_id == agent.pk and len(sent.client_id) == 36  # a uuid from the page

    # A private note: shown as such to agents, never to the customer.
    page.locator("#private-toggle").check()
    reply.fill("VIP customer, be generous.")
    reply.press("Enter")
    expect(thread.locator(".msg-private .body")).to_have_text("VIP customer, be generous.")
    expect(thread.locator(".msg-private .lock")).to_contain_text("Private note")
    page.locator("#private-toggle").uncheck()
    shoot(page, "workspace-2-desktop-thread")

    # Another customer writes; the agent opens that one. The first customer writes again:
    # their conversation's unread badge goes up live.
    other, _ = on_the_server(
        conversation_start,
        customer=on_the_server(_customer, name="Mehmet Öz"),
        body="Where is my parcel?",
        client_id="other-1",
        team=team,
    )
    mehmet = row(page, "Mehmet Öz")
    expect(mehmet).to_be_visible(timeout=10_000)
    mehmet.locator("a").click()
    expect(thread.locator(".msg-customer .body")).to_have_text(["Where is my parcel?"])
    composer.fill("Are you still there?")
    composer.press("Enter")
    expect(deniz.locator(".unread-badge")).to_have_text("1", timeout=10_000)
    expect(deniz.locator(".preview")).to_have_text("Are you still there?")
    expect(page.locator("#open-counter")).to_have_text("Open: 2 / 3")
    assert widget.locator(".hd-thread").get_by_text("VIP customer").count() == 0
    shoot(page, "workspace-3-unread-bumped")

    # Alt+↑ / Alt+↓ walk the inbox (waiting longest first: Mehmet, then Deniz).
    page.keyboard.press("Alt+ArrowDown")
    expect(page.locator("#thread-customer")).to_have_text("Deniz Kaya")
    expect(deniz.locator(".unread-badge")).to_have_count(0)
    page.keyboard.press("Alt+ArrowUp")
    expect(page.locator("#thread-customer")).to_have_text("Mehmet Öz")

    # Resolve from the actions: it leaves "Mine"'s open count.
    page.locator("#resolve").click()
    expect(page.locator("#thread-status")).to_have_text("Resolved")
    expect(page.locator("#open-counter")).to_have_text("Open: 1 / 3")
    assert page.evaluate("window.__notReloaded") is True  # everything above came live
    assert errors == []
    widget_context.close()
    agent_context.close()


def has_transfer() -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve("/api/v1/conversations/1/transfer")
    except Resolver404:
        return False
    return True


def has_callback() -> bool:
    from conversations.serializers import ConversationOutput

    return "callback" in ConversationOutput.Meta.fields


def _customer(name: str):
    from conversations.services import customer_create

    return customer_create(name=name, email="mehmet@example.com")


@pytest.mark.timeout(120)
def test_slash_then_enter_never_sends_the_slash(browser, live_server_url, billing, make_customer):
    """Issue 15, defect 2: "/" then Enter sent "/" to the customer (the picker was not open
    yet while the canned responses loaded); Enter on a picker with no match sent the text."""
    from playwright.sync_api import expect

    from conversations.models import Message
    from conversations.services import conversation_start

    team, _agent = billing
    conversation, _message = on_the_server(
        conversation_start,
        customer=make_customer(name="Deniz Kaya"),
        body="Hello?",
        client_id="c-1",
        team=team,
    )
    context, page, errors = open_workspace(browser, live_server_url)
    row(page, "Deniz Kaya").locator("a").click()
    expect(page.locator("#thread .msg-customer .body")).to_have_text(["Hello?"])
    slow = []  # the canned responses answer late, as on a slow network

    def hold(route):
        slow.append(route)

    page.route("**/api/v1/canned-responses", hold)
    reply = page.locator("#composer-input")
    reply.click()
    reply.press("/")
    reply.press("Enter")  # before the list has come: nothing is sent, the "/" stays
    expect(reply).to_have_value("/")
    assert eventually(lambda: slow, timeout=5)
    slow[0].continue_()
    page.unroute("**/api/v1/canned-responses")
    picker = page.locator("#canned-picker")
    expect(picker.locator("[role=option]")).to_have_count(2)

    reply.press_sequentially("nothing-like-it")  # no match: Enter does nothing
    expect(picker.locator(".none")).to_have_text("No canned response matches.")
    reply.press("Enter")
    expect(reply).to_have_value("/nothing-like-it")
    reply.press("Escape")  # a closed picker on a "/" line still sends nothing
    expect(picker).to_be_hidden()
    reply.press("Enter")
    expect(reply).to_have_value("/nothing-like-it")

    reply.fill("")
    reply.press_sequentially("/ref")  # a match: Enter picks it, the next Enter sends it
    expect(picker.locator("[role=option]")).to_have_count(1)
    reply.press("Enter")
    expect(reply).to_have_value("Your refund is on its way.")
    reply.press("Enter")
    expect(page.locator("#thread .msg-agent .body")).to_have_text(["Your refund is on its way."])
    agent_bodies = Message.objects.filter(conversation=conversation, author_kind="agent")
    sent = eventually(lambda: list(agent_bodies.values_list("body", flat=True)))
    assert sent == ["Your refund is on its way."]  # and nothing before it
    assert errors == []
    context.close()


@pytest.mark.timeout(120)
def test_an_over_long_reply_is_kept_with_a_counter_and_a_refusal_offers_no_retry(
    browser, live_server_url, billing, make_customer, settings
):
    """Issue 15, defect 9: the composer was cleared and a Retry offered for a reply the
    server refuses (400), which could only fail again."""
    from playwright.sync_api import expect

    from conversations.models import Message
    from conversations.services import conversation_start

    team, _agent = billing
    conversation, _message = on_the_server(
        conversation_start,
        customer=make_customer(name="Deniz Kaya"),
        body="Hello?",
        client_id="c-1",
        team=team,
    )
    context, page, errors = open_workspace(browser, live_server_url)
    row(page, "Deniz Kaya").locator("a").click()
    reply = page.locator("#composer-input")
    counter = page.locator("#composer-count")
    error = page.locator("#composer-error")
    expect(counter).to_be_hidden()
    reply.fill("y" * 20_000)
    expect(counter).to_have_text("20,000 / 10,000 characters")
    reply.press("Enter")
    expect(error).to_have_text(
        "Too long to send: 20,000 characters, the limit is 10,000. Shorten it or send it in parts."
    )
    expect(reply).to_have_value("y" * 20_000)
    shoot(page, "workspace-8-too-long")

    settings.HELPDESK_MAX_MESSAGE_LENGTH = 100  # the server now refuses what the page allows
    refused = "Let me explain the whole procedure in detail. " * 4
    reply.fill(refused)
    expect(error).to_be_hidden()
    reply.press("Enter")
    expect(error).to_have_text("Messages are limited to 100 characters.")
    expect(reply).to_have_value(refused.strip())
    thread = page.locator("#thread")
    expect(thread.get_by_role("button", name="Retry")).to_have_count(0)
    expect(thread.locator(".msg-agent")).to_have_count(0)
    shoot(page, "workspace-9-refused")

    reply.fill("Here is the short version.")
    expect(error).to_be_hidden()
    reply.press("Enter")
    expect(thread.locator(".msg-agent .body")).to_have_text(["Here is the short version."])
    agent_bodies = Message.objects.filter(conversation=conversation, author_kind="agent")
    sent = eventually(lambda: list(agent_bodies.values_list("body", flat=True)))
    assert sent == ["Here is the short version."]
    assert errors == []
    context.close()


@pytest.mark.timeout(120)
def test_a_colleagues_assignment_takes_a_conversation_out_of_unassigned_and_narrow_screens(
    browser, live_server_url, billing, make_agent
):
    from playwright.sync_api import expect

    from agents.models import Agent
    from conversations.services import conversation_assign, conversation_start

    team, agent = billing
    colleague = make_agent("bob@example.com", teams=[team], first_name="Bob")
    Agent.objects.filter(pk=agent.pk).update(presence="away")  # away: nothing is routed to her
    context, page, errors = open_workspace(browser, live_server_url, viewport=NARROW)
    expect(page.locator("input[name=presence][value=away]")).to_be_checked()
    page.locator(".tabs [data-tab=unassigned]").click()

    customer = on_the_server(_customer, name="Zeynep Kaya")
    waiting, _ = on_the_server(
        conversation_start, customer=customer, body="Hello, anyone?", client_id="z1", team=team
    )
    zeynep = row(page, "Zeynep Kaya")
    expect(zeynep).to_be_visible(timeout=10_000)
    expect(zeynep.locator(".unread-badge")).to_have_text("1")
    shoot(page, "workspace-4-narrow-inbox")

    zeynep.locator("a").click()  # on a narrow screen the thread replaces the inbox
    expect(page.locator("#conversation-list")).to_be_hidden()
    expect(page.locator("#thread .msg-customer .body")).to_have_text(["Hello, anyone?"])
    shoot(page, "workspace-5-narrow-thread")
    page.locator("#details-button").click()
    expect(page.locator("#customer-name")).to_be_visible()
    # An assignment the API refuses (409 at_capacity) says why, in words.
    full = make_agent("full@example.com", teams=[team], first_name="Fatma", capacity=0)
    page.locator("#priority-select").select_option("high")
    expect(page.locator("#toast")).to_have_text("Saved.")
    # The change's event makes the page read the agents again: Fatma is in the list now.
    expect(page.locator(f"#assignee-select option[value='{full.pk}']")).to_have_count(1)
    page.locator("#assignee-select").select_option(str(full.pk))
    expect(page.locator("#action-error")).to_have_text(
        "Fatma is at capacity: 0 open conversations, capacity 0."
    )
    expect(page.locator("#assignee-select")).to_have_value("")  # put back as it was
    shoot(page, "workspace-6-narrow-details")
    page.locator("#close-details").click()
    page.locator("#back-button").click()
    expect(zeynep).to_be_visible()

    on_the_server(conversation_assign, conversation=waiting, assignee=colleague, by=colleague)
    expect(zeynep).to_have_count(0, timeout=10_000)  # no longer unassigned
    expect(page.locator("#inbox-empty")).to_be_visible()

    # The socket drops; what happens meanwhile arrives when it reconnects (from its cursor).
    cursor = page.evaluate("window.hdWorkspace.state.cursor")
    assert isinstance(cursor, int)
    page.evaluate("window.hdWorkspace.socket().close()")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "down")
    later = on_the_server(_customer, name="Ali Veli")
    on_the_server(conversation_start, customer=later, body="Hi?", client_id="v1", team=team)
    expect(row(page, "Ali Veli")).to_be_visible(timeout=8_000)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    assert page.evaluate("window.hdWorkspace.state.cursor") > cursor
    # That socket is helpdesk/client.js's (as the widget's and the reports page's), loaded once.
    assert shared_client_loads(page) == [f"{live_server_url}/static/helpdesk/client.js"]
    # The top bar's look comes from the staff pages' shared stylesheet.
    topbar = page.locator(".topbar").evaluate(
        "element => getComputedStyle(element).backgroundColor"
    )
    assert topbar == "rgb(15, 23, 42)"

    # Back online from the toggle.
    page.locator(".presence label", has_text="Online").click()
    expect(page.locator("input[name=presence][value=online]")).to_be_checked()
    assert eventually(lambda: Agent.objects.get(pk=agent.pk).presence == "online")
    assert errors == []
    context.close()


@pytest.mark.timeout(120)
def test_the_agent_transfers_a_conversation_with_a_note_and_flags_a_call_back(
    browser, live_server_url, billing, make_team, make_customer
):
    from playwright.sync_api import expect

    from conversations.services import conversation_start

    team, _agent = billing
    make_team("sales")
    customer = make_customer(name="Deniz Kaya")
    conversation, _message = on_the_server(
        conversation_start, customer=customer, body="I want to upgrade my plan.", client_id="c-1"
    )
    context, page, errors = open_workspace(browser, live_server_url)
    page.get_by_role("tab", name="All").click()
    row(page, "Deniz Kaya").click()

    # The call-back escalation first: once transferred to Sales, Ayşe no longer sees it.
    page.fill("#callback-phone", "+90 555 123 45 67")
    page.click("#callback")
    expect(page.locator("#callback-state")).to_contain_text("+90 555 123 45 67")
    assert eventually(lambda: type(conversation).objects.get(pk=conversation.pk).callback_phone)

    page.select_option("#transfer-team", label="sales")
    page.fill("#transfer-note", "Upgrades are Sales' business.")
    shoot(page, "workspace-7-transfer-callback")
    page.click("#transfer")
    moved = eventually(
        lambda: type(conversation).objects.get(pk=conversation.pk).team.name == "sales"
    )
    assert moved, "the transfer did not reach the server"
    assert conversation.messages.filter(private=True, body__startswith="Upgrades").exists()
    assert errors == []
    context.close()


@pytest.mark.parametrize("locale", ["en-US", "tr-TR"])
def test_an_agent_names_themselves_and_the_customer_sees_that_name(
    browser, live_server_url, billing, locale
):
    """Defect 3 of issue 15 and the agent profile: the agent sets the name customers see in
    a small dialog; the widget shows it with the agent's initials, never the email."""
    from playwright.sync_api import expect

    from conversations.models import Conversation
    from conversations.people import avatar_color
    from conversations.services import Author, message_post

    team, agent = billing
    turkish = locale == "tr-TR"
    context, page, errors = open_workspace(browser, live_server_url, locale=locale)
    button = page.locator("#profile-button")
    expect(button).to_contain_text("Ayşe Demir")
    button.click()
    dialog = page.get_by_role("dialog")
    field = dialog.get_by_label("Müşterilere görünen ad" if turkish else "Name shown to customers")
    expect(field).to_be_focused()
    field.fill("ayse@example.com")
    field.press("Enter")
    expect(dialog.locator("#profile-error")).to_contain_text(
        "e-posta adresi değil" if turkish else "not an email address"
    )
    field.fill("Ayşe from Billing")
    shoot(page, f"workspace-profile-dialog-{locale}")
    field.press("Enter")
    expect(dialog).to_be_hidden()
    expect(button).to_contain_text("Ayşe from Billing")
    expect(page.locator("#profile-avatar")).to_have_text("AF")

    widget_context, widget = open_widget(browser, live_server_url)
    composer = widget.get_by_role("textbox", name="Message")
    composer.fill("Is my order on its way?")
    composer.press("Enter")
    conversation = eventually(lambda: Conversation.objects.filter(team=team).first())
    on_the_server(
        message_post,
        conversation=conversation,
        author=Author.of_agent(agent),
        body="It left the roastery this morning.",
        client_id="profile-reply",
    )
    reply = widget.locator(".hd-msg--agent").filter(has_text="It left the roastery")
    expect(reply).to_be_visible(timeout=10_000)
    author = reply.locator(".hd-msg__author")
    expect(author).to_have_text("AFAyşe from Billing")  # the initials, then the name
    colour = author.locator(".hd-avatar").evaluate("(el) => getComputedStyle(el).backgroundColor")
    red, green, blue = (int(avatar_color(agent.pk)[i : i + 2], 16) for i in (1, 3, 5))
    assert colour == f"rgb({red}, {green}, {blue})"
    assert "ayse@example.com" not in widget.locator("helpdesk-widget").inner_text()
    shoot(widget, f"widget-agent-name-{locale}")

    # Narrow: the top bar keeps the avatar (the name hides), the dialog still opens.
    page.set_viewport_size(NARROW)
    expect(page.locator("#profile-avatar")).to_be_visible()
    button.click()
    shoot(page, f"workspace-profile-dialog-narrow-{locale}")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert errors == []
    widget_context.close()
    context.close()


# Each tab and filter of the inbox: inside the inbox pane, and its own text not cut.
INBOX_FITS = """() => {
  const pane = document.querySelector('.inbox').getBoundingClientRect();
  const controls = [...document.querySelectorAll('.tabs [role=tab], #inbox-filters select, #inbox-filters input, '
    + '.saved-views-head button, .saved-view button, .saved-view-count, #bulk-bar button, #bulk-bar select, #bulk-bar input')];
  return controls
    .map((el) => {
      const box = el.getBoundingClientRect();
      return { name: el.textContent.trim() || el.name, left: box.left, right: box.right,
               cut: el.scrollWidth > el.clientWidth + 1 };
    })
    .filter((c) => c.left < pane.left - 0.5 || c.right > pane.right + 0.5 || c.cut);
}"""


@pytest.mark.parametrize("width", [1280, 1100])
def test_the_turkish_inbox_fits_at_1280_px_and_narrower(
    browser, live_server_url, billing, width, make_customer
):
    """Defect 6 of issue 15: in Turkish the "Tümü" tab and the filters were clipped. The views
    (long names, large counts) and the bulk bar fit too."""
    from conversations.models import SavedView
    from conversations.services import conversation_start

    team, agent = billing
    on_the_server(
        conversation_start,
        customer=make_customer(name="Deniz Kaya"),
        body="Merhaba",
        client_id="c-fit",
        team=team,
    )
    SavedView.objects.create(
        name="Atanmamış fatura soruları, en uzun bekleyen", owner=agent, filters={}
    )
    SavedView.objects.create(name="Ekibin bekleyenleri", team=team, filters={"status": "open"})
    context, page, errors = open_workspace(
        browser, live_server_url, viewport={"width": width, "height": 800}, locale="tr-TR"
    )
    page.wait_for_selector(".tabs [role=tab]")
    page.locator(".tabs [data-tab=teams]").click()
    page.locator("#conversation-list .conv-select").first.check()
    page.get_by_role("toolbar", name="Toplu işlemler").wait_for()
    page.locator("#saved-views-list .saved-view-count", has_text="1").first.wait_for()
    shoot(page, f"workspace-inbox-tr-{width}")
    assert page.evaluate(INBOX_FITS) == []
    assert page.get_by_role("tab", name="Tümü").is_visible()
    assert page.get_by_role("button", name="Görünümü kaydet").is_visible()
    assert errors == []
    context.close()
