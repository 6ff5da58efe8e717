"""Alerts and mentions in a real browser (Issue 15, defect 1: "A new conversation or a
customer's reply makes no sound, no desktop notification and no count in the tab title"),
against a real server (HTTP + websockets).

The page's sound and notifications are observed through `window.hdWorkspace.alerts` (its
log and counters) and a recording wrapper around window.Notification; the notifications
permission is granted to the browser context, never asked by the page on load.
"""

import pytest
from playwright.sync_api import expect

from tests.agents.test_workspace_browser import on_the_server, shoot
from tests.helpers import eventually
from tests.test_accessibility_browser import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 820}

# Records every Notification the page makes and every permission request; `__unfocused`
# lets the test put the window in the background (headless windows always have the focus).
RECORDER = """
(() => {
  window.__notifications = [];
  window.__asked = 0;
  window.__unfocused = false;
  const hasFocus = document.hasFocus.bind(document);
  document.hasFocus = () => !window.__unfocused && hasFocus();
  const Real = window.Notification;
  if (!Real) return;
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notifications.push({ title, body: options && options.body, tag: options && options.tag });
    }
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = (...args) => {
    window.__asked += 1;
    return Real.requestPermission(...args);
  };
  window.Notification = Recorded;
})();
"""


@pytest.fixture
def billing(make_team, make_agent):
    team = make_team("billing", is_default=True)
    ayse = make_agent(
        "ayse@example.com", teams=[team], first_name="Ayşe", last_name="Demir", capacity=3
    )
    bob = make_agent(
        "bob@example.com", teams=[team], first_name="Bob", last_name="Stone", capacity=0
    )
    return team, ayse, bob


def open_workspace(browser, url: str, email: str, *, notifications: bool):
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    if notifications:
        context.grant_permissions(["notifications"], origin=url)
    context.add_init_script(RECORDER)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{url}/agent/")
    page.wait_for_url("**/admin/login/?next=/agent/")
    page.fill("#id_username", email)
    page.fill("#id_password", "pw-for-tests")
    page.click("input[type=submit]")
    page.wait_for_url(f"{url}/agent/")
    page.wait_for_selector("#live-status[data-state=live]")
    return context, page, errors


def assert_accessible(page, where: str) -> None:
    found = axe_violations(page, where)
    assert not found, "axe-core found:\n" + "\n".join(found)


def alert_kinds(page) -> list[str]:
    return page.evaluate("window.hdWorkspace.alerts.log.map((entry) => entry.kind)")


def customer(name: str):
    from conversations.services import customer_create

    return customer_create(name=name, email=f"{name.split()[0].lower()}@example.com")


@pytest.mark.timeout(180)
def test_a_new_conversation_and_a_reply_ring_notify_and_count_in_the_title(
    browser, live_server_url, billing
):
    from agents.models import AlertSettings
    from conversations.services import Author, conversation_start, message_post

    team, ayse, _bob = billing
    context, page, errors = open_workspace(
        browser, live_server_url, "ayse@example.com", notifications=True
    )
    assert page.title() == "Workspace · Helpdesk"
    assert page.evaluate("window.__asked") == 0  # never asked on load

    # The bell menu: desktop notifications on (the browser already allows them).
    page.locator("#alerts-button").click()
    dialog = page.locator("#alerts-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#alert-sound")).to_be_checked()
    assert_accessible(page, "the alerts menu")
    page.locator("#alert-desktop").check()
    eventually(lambda: AlertSettings.objects.filter(agent_id=ayse.pk, desktop=True).exists())
    assert AlertSettings.objects.get(agent_id=ayse.pk).desktop is True
    shoot(page, "alerts-1-settings")
    page.locator("#alerts-close").click()

    # The agent is in another window: a customer writes. The workspace rings, shows a
    # desktop notification and counts it in the title and the tab's icon.
    page.evaluate("window.__unfocused = true")
    conversation, _ = on_the_server(
        conversation_start,
        customer=on_the_server(customer, name="Deniz Kaya"),
        body="My invoice shows the wrong amount.",
        client_id="first",
        team=team,
    )
    # Polled from here: wait_for_function polls with in-page eval, which the CSP forbids.
    assert eventually(lambda: page.evaluate("window.hdWorkspace.alerts.log.length >= 1"))
    assert alert_kinds(page) == ["new_conversation"]
    assert page.evaluate("window.hdWorkspace.alerts.sounds") == 1
    notes = page.evaluate("window.__notifications")
    assert notes == [
        {
            "title": "New conversation",
            "body": "Deniz Kaya: My invoice shows the wrong amount.",
            "tag": f"helpdesk-new_conversation-{conversation.pk}",
        }
    ]
    expect(page).to_have_title("(1) Workspace · Helpdesk")
    icon = page.locator("link[rel~=icon]").get_attribute("href")
    assert icon.startswith("data:image/png;base64,")
    expect(page.locator("#alerts-count")).to_have_text("1")

    # Routed to Ayşe (online, with room): the customer's next message is a reply in her
    # conversation.
    eventually(lambda: type(conversation).objects.get(pk=conversation.pk).assignee_id)
    page.wait_for_timeout(1600)  # a burst rings once; this is a new one
    on_the_server(
        message_post,
        conversation=conversation,
        author=Author.customer(),
        body="It should be 40 €, not 400 €.",
        client_id="second",
    )
    assert eventually(lambda: page.evaluate("window.hdWorkspace.alerts.log.length >= 2"))
    assert alert_kinds(page) == ["new_conversation", "reply"]
    assert page.evaluate("window.hdWorkspace.alerts.sounds") == 2
    assert page.evaluate("window.__notifications.map((note) => note.title)") == [
        "New conversation",
        "Reply from Deniz Kaya",
    ]
    expect(page).to_have_title("(2) Workspace · Helpdesk")
    shoot(page, "alerts-2-counted")

    # Back in front, she opens it: read, the count goes.
    page.evaluate("window.__unfocused = false")
    page.locator("#conversation-list .conv", has_text="Deniz Kaya").locator("a").click()
    expect(page).to_have_title("Workspace · Helpdesk")
    expect(page.locator("#alerts-count")).to_be_hidden()

    # Her own note and a colleague's public reply alert nobody: her own actions never.
    page.locator("#composer-input").fill("Checking the invoice now.")
    page.locator("#composer-input").press("Enter")
    page.wait_for_timeout(1000)
    assert alert_kinds(page) == ["new_conversation", "reply"]
    assert page.evaluate("window.__asked") == 0
    assert errors == []
    context.close()


@pytest.mark.timeout(180)
def test_muted_alerts_count_but_do_not_ring(browser, live_server_url, billing):
    from agents.alerts import alert_settings_save
    from agents.services import agent_for
    from conversations.services import conversation_start

    team, ayse, _bob = billing
    alert_settings_save(agent=agent_for(ayse), sound=False)
    context, page, errors = open_workspace(
        browser, live_server_url, "ayse@example.com", notifications=True
    )
    page.evaluate("window.__unfocused = true")
    on_the_server(
        conversation_start,
        customer=on_the_server(customer, name="Mehmet Öz"),
        body="Where is my parcel?",
        client_id="muted",
        team=team,
    )
    assert eventually(lambda: page.evaluate("window.hdWorkspace.alerts.log.length >= 1"))
    assert page.evaluate("window.hdWorkspace.alerts.sounds") == 0
    assert page.evaluate("window.__notifications.length") == 0  # desktop is off by default
    expect(page).to_have_title("(1) Workspace · Helpdesk")
    assert errors == []
    context.close()


@pytest.mark.timeout(240)
def test_a_mention_in_a_note_alerts_the_colleague_and_lists_it_as_participating(
    browser, live_server_url, billing
):
    from conversations.models import Mention
    from conversations.services import conversation_start

    team, ayse, bob = billing
    conversation, _ = on_the_server(
        conversation_start,
        customer=on_the_server(customer, name="Deniz Kaya"),
        body="My refund never came.",
        client_id="refund",
        team=team,
    )
    bob_context, bob_page, bob_errors = open_workspace(
        browser, live_server_url, "bob@example.com", notifications=False
    )
    # Bob looks at "Mine": the conversation is not there (nobody assigned it to him).
    expect(bob_page.locator("#conversation-list .conv")).to_have_count(0)
    # Notifications are asked for only when he clicks "Enable desktop notifications".
    bob_page.locator("#alerts-button").click()
    enable = bob_page.locator("#alerts-enable-desktop")
    if enable.is_visible():  # the browser's answer is "ask" (headless may say "denied")
        assert bob_page.evaluate("window.__asked") == 0
        enable.click()
        assert eventually(lambda: bob_page.evaluate("window.__asked === 1"))
    bob_page.locator("#alerts-close").click()

    ayse_context, page, errors = open_workspace(
        browser, live_server_url, "ayse@example.com", notifications=False
    )
    page.evaluate(f"window.hdWorkspace.open({conversation.pk})")
    expect(page.locator("#thread-customer")).to_have_text("Deniz Kaya")
    page.locator("#private-toggle").check()
    reply = page.locator("#composer-input")
    reply.press_sequentially("@", delay=30)
    picker = page.locator("#mention-picker")
    # Who may read it, but herself: Bob alone.
    expect(picker.locator("[role=option] .text")).to_have_text(["Bob Stone"])
    reply.press_sequentially("bo", delay=30)
    expect(picker.locator("[role=option]")).to_have_count(1)
    expect(picker.locator("[role=option] .text")).to_have_text("Bob Stone")
    shoot(page, "alerts-3-mention-picker")
    assert_accessible(page, "the mention list")
    reply.press("Enter")  # picks, does not send
    expect(reply).to_have_value("@bob ")
    expect(picker).to_be_hidden()
    reply.press_sequentially("can you check the refund?", delay=10)
    reply.press("Enter")
    note = page.locator("#thread .msg-private").last
    expect(note.locator(".body")).to_have_text("@bob can you check the refund?")
    expect(note.locator(".mentions")).to_have_text("@Bob Stone", timeout=10_000)
    mention = eventually(lambda: Mention.objects.filter(user=bob).first())
    assert mention is not None and mention.conversation_id == conversation.pk

    # Bob hears it live: the alert, the toast, the count; the conversation is his to follow.
    assert eventually(lambda: bob_page.evaluate("window.hdWorkspace.alerts.log.length >= 1"))
    assert alert_kinds(bob_page) == ["mention"]
    toast = bob_page.locator("#alert-toast")
    expect(toast).to_contain_text("Ayşe Demir mentioned you")
    expect(bob_page).to_have_title("(1) Workspace · Helpdesk")
    shoot(bob_page, "alerts-4-mentioned")
    assert_accessible(bob_page, "the mention box")
    bob_page.get_by_role("tab", name="Participating").click()
    expect(bob_page.locator("#conversation-list .conv", has_text="Deniz Kaya")).to_be_visible()
    toast.get_by_role("button", name="Open").click()
    expect(bob_page.locator("#thread-customer")).to_have_text("Deniz Kaya")
    expect(bob_page).to_have_title("Workspace · Helpdesk")
    # Ayşe mentioned someone else: no alert of hers.
    assert alert_kinds(page) == []
    assert errors == [] and bob_errors == []
    ayse_context.close()
    bob_context.close()


@pytest.mark.timeout(180)
def test_a_new_conversation_below_the_fold_shows_a_pill_that_scrolls_to_it(
    browser, live_server_url, billing, make_customer
):
    from conversations.services import conversation_start

    team, ayse, _bob = billing
    for number in range(14):  # more than the inbox shows at once, all waiting longer
        conversation_start(
            customer=make_customer(name=f"Waiting {number}"),
            body="Hello",
            client_id=f"old-{number}",
            team=team,
        )
    context, page, errors = open_workspace(
        browser, live_server_url, "ayse@example.com", notifications=False
    )
    page.get_by_role("tab", name="My teams").click()
    expect(page.locator("#conversation-list .conv")).to_have_count(14)
    on_the_server(
        conversation_start,
        customer=on_the_server(customer, name="Zeynep New"),
        body="Just arrived",
        client_id="new",
        team=team,
    )
    pill = page.locator("#new-conversation-pill")
    expect(pill).to_have_text("New conversation ↓", timeout=10_000)  # longest waiting first
    shoot(page, "alerts-5-pill")
    assert_accessible(page, "the new conversation button")
    pill.click()
    newest = page.locator("#conversation-list .conv", has_text="Zeynep New")
    expect(newest).to_be_in_viewport()
    expect(pill).to_be_hidden()
    assert errors == []
    context.close()
