"""What a screen-reader or keyboard user of the widget gets, in a real Chromium against a real
server: announcements while the chat is closed, a log that reads each message once and says who
wrote it, a focus ring that shows on any host page, Escape, and a walk by keyboard alone."""

import base64
import re

import pytest

from tests.conversations.test_widget_browser import (
    open_demo,
    reply_as_agent,
    screenshot,
    wait_until_live,
)
from tests.helpers import eventually

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOBODY_ONLINE = "No agent is available right now"

# Counts every message body inserted into the log (a node added anywhere under it), as a
# screen reader would hear it read out.
COUNT_INSERTIONS = """
() => {
  const log = document.querySelector("helpdesk-widget").shadowRoot.querySelector(".hd-thread");
  window.__inserted = [];
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node.nodeType !== Node.ELEMENT_NODE) continue;
        const bubbles = node.matches(".hd-msg__bubble") ? [node] : node.querySelectorAll(".hd-msg__bubble");
        for (const bubble of bubbles) window.__inserted.push(bubble.textContent);
      }
    }
  }).observe(log, { childList: true, subtree: true });
}
"""


@pytest.fixture
def billing(make_team, make_agent):
    team = make_team("billing", is_default=True)
    agent = make_agent(
        "ayse@example.com", teams=[team], presence="online", first_name="Ayşe", last_name="Demir"
    )
    return team, agent


def widget(page):
    return page.locator("helpdesk-widget")


def open_by_keyboard(page) -> None:
    launcher = page.get_by_role("button", name="Open chat")
    launcher.focus()
    page.keyboard.press("Enter")


def send(page, text: str) -> None:
    composer = page.get_by_role("textbox", name="Message")
    composer.fill(text)
    composer.press("Enter")


def test_a_reply_while_the_chat_is_closed_is_announced(billing, browser, live_server_url):
    from playwright.sync_api import expect

    from conversations.models import Conversation

    team, agent = billing
    context, page, _ = open_demo(browser, live_server_url)
    open_by_keyboard(page)
    send(page, "Is my order on its way?")
    conversation = eventually(lambda: Conversation.objects.filter(team=team).first())
    wait_until_live(page)
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()

    reply_as_agent(conversation, agent, "Yes, it ships today.", "agent-1")
    # get_by_role finds only what assistive technology can reach: not the closed panel's log.
    announcement = page.get_by_role("status").filter(
        has_text="New message from Ayşe Demir: Yes, it ships today."
    )
    expect(announcement).to_have_count(1, timeout=5000)
    expect(page.get_by_role("button", name=re.compile("1 unread message"))).to_be_visible()
    context.close()


def test_each_message_enters_the_log_once_and_says_who_wrote_it(billing, browser, live_server_url):
    from playwright.sync_api import expect

    from conversations.models import Conversation

    team, agent = billing
    context, page, _ = open_demo(browser, live_server_url)
    open_by_keyboard(page)
    page.evaluate(COUNT_INSERTIONS)
    thread = page.locator(".hd-thread")

    send(page, "First question")
    expect(thread.locator(".hd-msg.is-sending")).to_have_count(0)
    conversation = eventually(lambda: Conversation.objects.filter(team=team).first())
    wait_until_live(page)
    send(page, "Second question")  # groups with the first: the first loses its time
    expect(thread.locator(".hd-msg.is-sending")).to_have_count(0)
    reply_as_agent(conversation, agent, "First answer", "agent-1")
    reply_as_agent(conversation, agent, "Second answer", "agent-2")
    expect(thread.get_by_text("Second answer")).to_be_visible()
    page.wait_for_timeout(500)  # any late re-render would show up now

    inserted = page.evaluate("window.__inserted")
    assert sorted(inserted) == sorted(
        ["First question", "Second question", "First answer", "Second answer"]
    ), f"the log had these insertions: {inserted}"

    # Each message names its author to assistive technology, grouped or not.
    for body, author in [
        ("First question", "You"),
        ("Second question", "You"),
        ("First answer", "Ayşe Demir"),
        ("Second answer", "Ayşe Demir"),
    ]:
        message = thread.locator(".hd-msg", has_text=body)
        assert author in message.aria_snapshot(), (body, message.aria_snapshot())
    context.close()


def ring_contrast_run(page, decoder, target, background: str) -> int:
    """The longest run of pixels just left of `target` (at its middle) that contrast 3:1 or
    more with `background`, as Chromium drew them: the width of a visible focus ring."""
    box = target.bounding_box()
    y = box["y"] + box["height"] / 2
    clip = {"x": box["x"] - 10, "y": y - 1, "width": 10, "height": 2}
    png = base64.b64encode(page.screenshot(clip=clip)).decode()
    return decoder.evaluate(
        """async ([png, background]) => {
          const image = new Image();
          image.src = "data:image/png;base64," + png;
          await image.decode();
          const canvas = document.createElement("canvas");
          canvas.width = image.width; canvas.height = image.height;
          const context = canvas.getContext("2d");
          context.drawImage(image, 0, 0);
          const luminance = ([r, g, b]) => {
            const linear = (c) => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
            return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
          };
          const hex = background.match(/[0-9a-f]{2}/gi).map((part) => parseInt(part, 16));
          const page = luminance(hex);
          const row = context.getImageData(0, 0, image.width, 1).data;
          let run = 0, longest = 0;
          for (let x = 0; x < image.width; x++) {
            const l = luminance([row[4 * x], row[4 * x + 1], row[4 * x + 2]]);
            const ratio = (Math.max(l, page) + 0.05) / (Math.min(l, page) + 0.05);
            run = ratio >= 3 ? run + 1 : 0;
            longest = Math.max(longest, run);
          }
          return longest;
        }""",
        [png, background],
    )


@pytest.mark.parametrize("host_background", ["#ffffff", "#111827"])
def test_the_focus_ring_shows_on_light_and_dark_host_pages(
    billing, browser, live_server_url, host_background
):
    from playwright.sync_api import expect

    context, page, _ = open_demo(browser, live_server_url)
    decoder = context.new_page()  # a blank page, to read the screenshots' pixels
    page.evaluate(  # through the CSSOM: the page's CSP refuses an inline style sheet
        "(color) => { document.documentElement.style.background = color;"
        " document.body.style.background = color; }",
        host_background,
    )
    launcher = page.get_by_role("button", name="Open chat")
    page.keyboard.press("Shift")  # a keyboard user: the focus is shown
    launcher.focus()
    page.wait_for_timeout(300)
    assert ring_contrast_run(page, decoder, launcher, host_background) >= 2
    screenshot(page, f"focus-launcher-{host_background[1:]}")

    page.keyboard.press("Enter")
    composer = page.get_by_role("textbox", name="Message")
    expect(composer).to_be_focused()
    page.wait_for_timeout(400)
    # The message box sits on the widget's white composer, whatever the host page.
    assert ring_contrast_run(page, decoder, composer, "#ffffff") >= 2
    context.close()


def test_escape_on_the_launcher_closes_the_open_chat(billing, browser, live_server_url):
    from playwright.sync_api import expect

    context, page, _ = open_demo(browser, live_server_url)
    open_by_keyboard(page)
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    launcher = page.get_by_role("button", name="Close chat")
    launcher.focus()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Open chat")).to_be_focused()
    context.close()


def test_with_nobody_online_the_keyboard_reaches_the_notice_and_the_email_field(
    make_team, browser, live_server_url
):
    from playwright.sync_api import expect

    make_team("billing", is_default=True)  # nobody online
    context, page, _ = open_demo(browser, live_server_url)
    open_by_keyboard(page)
    email = page.get_by_role("textbox", name="Your email, so we can reply")
    expect(email).to_be_focused()
    expect(email).to_have_accessible_description(re.compile(NOBODY_ONLINE))
    page.keyboard.type("ali@example.com")
    page.keyboard.press("Tab")
    composer = page.get_by_role("textbox", name="Message")
    expect(composer).to_be_focused()
    expect(composer).to_have_accessible_description(re.compile(NOBODY_ONLINE))
    context.close()


def test_a_keyboard_alone_opens_writes_sends_and_closes(billing, browser, live_server_url):
    from playwright.sync_api import expect

    context, page, _ = open_demo(browser, live_server_url)
    launcher = page.get_by_role("button", name="Open chat")
    for _ in range(40):  # Tab through the shop page to the launcher
        page.keyboard.press("Tab")
        if launcher.evaluate("el => el.getRootNode().activeElement === el"):
            break
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")
    composer = page.get_by_role("textbox", name="Message")
    expect(composer).to_be_focused()
    page.keyboard.type("Do you ship to Izmir?")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("log").get_by_text("Do you ship to Izmir?")).to_be_visible()
    expect(composer).to_have_value("")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("log").get_by_text("Do you ship to Izmir?")).to_be_visible()
    context.close()
