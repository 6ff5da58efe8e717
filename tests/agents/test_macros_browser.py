"""Macros in the workspace, in a real browser (Chromium) against a real server: an agent
applies a macro to a customer's conversation and every action shows, live, while the
customer's widget receives the reply; a refused macro changes nothing and says why.

Screenshots go to $HELPDESK_SCREENSHOTS (default /tmp/helpdesk-screenshots).
"""

import pytest

from tests.agents.test_workspace_browser import open_widget, open_workspace, row, shoot
from tests.helpers import eventually

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPLY = "Thanks {{customer.first_name}}, our sales team takes it from here."


@pytest.fixture
def desk(make_team, make_agent):
    """Ayşe (the default team "billing" and "sales"), Mehmet in sales with room, Zeynep in
    sales with none; a canned response and two macros: one that does everything, one whose
    assignee is at capacity."""
    from agents.models import CannedResponse, Macro, MacroAssign

    billing = make_team("billing", is_default=True)
    sales = make_team("sales")
    ayse = make_agent(
        "ayse@example.com", teams=[billing, sales], first_name="Ayşe", last_name="Demir"
    )
    mehmet = make_agent("mehmet@example.com", teams=[sales], first_name="Mehmet", capacity=3)
    zeynep = make_agent("zeynep@example.com", teams=[sales], first_name="Zeynep", capacity=0)
    CannedResponse.objects.create(shortcut="escalation-note", body="Escalating this.")
    everything = Macro.objects.create(
        name="Escalate to sales",
        body=REPLY,
        status="pending",
        add_labels=["sales", "vip"],
        remove_labels=["new"],
        move_to_team=sales,
        priority="high",
        assign=MacroAssign.AGENT,
        assign_to=mehmet,
    )
    full = Macro.objects.create(
        name="Give to Zeynep",
        body="Zeynep will answer.",
        assign=MacroAssign.AGENT,
        assign_to=zeynep,
        owner=ayse,
    )
    return {"sales": sales, "mehmet": mehmet, "everything": everything, "full": full}


@pytest.mark.timeout(180)
def test_an_agent_applies_a_macro_and_every_action_shows(desk, browser, live_server_url):
    # `desk` first: its writes broadcast before Playwright runs an event loop in this thread.
    from playwright.sync_api import expect

    from conversations.models import Conversation

    agent_context, page, errors = open_workspace(browser, live_server_url)
    widget_context, widget = open_widget(browser, live_server_url)
    composer = widget.get_by_role("textbox", name="Message")
    composer.fill("I want to buy 200 licences.")
    composer.press("Enter")
    conversation = eventually(lambda: Conversation.objects.first())
    assert conversation is not None
    row(page, "Deniz Kaya").locator("a").click()
    thread = page.locator("#thread")
    expect(thread.locator(".msg-customer .body")).to_have_text(["I want to buy 200 licences."])

    # A refused macro: the Macros button, search, Enter to Apply, Enter to apply. Zeynep is
    # at capacity: the dialog says which action failed, and nothing changed.
    page.locator("#macros-button").click()
    dialog = page.locator("#macro-dialog")
    expect(dialog).to_be_visible()
    search = page.locator("#macro-search")
    expect(search).to_be_focused()
    search.press_sequentially("zeyn")
    expect(dialog.locator("[role=option]")).to_have_count(1)
    expect(page.locator("#macro-preview-reply")).to_have_text("Zeynep will answer.")
    search.press("Enter")
    expect(page.locator("#macro-apply")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#macro-error")).to_contain_text("assignee")
    expect(page.locator("#macro-error")).to_contain_text("capacity")
    shoot(page, "macros-1-refused")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert conversation.messages.count() == 1

    # The "/" picker lists macros after the canned responses; Enter opens the dialog on it,
    # with its reply filled in for this customer and its actions in words.
    reply = page.locator("#composer-input")
    reply.click()
    reply.press_sequentially("/esc")
    picker = page.locator("#canned-picker [role=option]")
    expect(picker).to_have_count(2)
    expect(picker.nth(0).locator(".shortcut")).to_have_text("/escalation-note")
    expect(picker.nth(1)).to_have_class("macro")
    expect(picker.nth(1).locator(".text")).to_have_text("Escalate to sales")
    reply.press("ArrowDown")
    reply.press("Enter")
    expect(dialog).to_be_visible()
    expect(reply).to_have_value("")
    filled = "Thanks Deniz, our sales team takes it from here."
    expect(page.locator("#macro-preview-title")).to_have_text("Escalate to sales")
    expect(page.locator("#macro-preview-reply")).to_have_text(filled)
    expect(page.locator("#macro-preview-actions li")).to_have_text(
        [
            "Set the status to Pending",
            "Add labels: sales, vip",
            "Remove labels: new",
            "Move to the team sales",
            "Set the priority to High",
            "Assign to Mehmet",
        ]
    )
    shoot(page, "macros-2-preview")
    page.locator("#macro-apply").click()
    expect(dialog).to_be_hidden()

    # Everything at once: the reply, the status, labels, team, priority and assignee.
    expect(thread.locator(".msg-agent .body").last).to_have_text(filled)
    expect(page.locator("#thread-status")).to_have_text("Pending")
    expect(page.locator("#thread-meta")).to_contain_text("sales · Mehmet")
    expect(page.locator("#priority-select")).to_have_value("high")
    expect(page.locator("#team-select")).to_have_value(str(desk["sales"].pk))
    expect(page.locator("#assignee-select")).to_have_value(str(desk["mehmet"].pk))
    expect(page.locator("#labels-input")).to_have_value("sales, vip")
    shoot(page, "macros-3-applied")
    # The customer's widget receives the reply live.
    expect(widget.locator(".hd-thread").get_by_text(filled)).to_be_visible(timeout=10_000)

    conversation.refresh_from_db()
    assert (conversation.status, conversation.priority) == ("pending", "high")
    assert (conversation.team, conversation.assignee) == (desk["sales"], desk["mehmet"])
    assert sorted(conversation.labels.values_list("name", flat=True)) == ["sales", "vip"]
    assert errors == []
    widget_context.close()
    agent_context.close()
