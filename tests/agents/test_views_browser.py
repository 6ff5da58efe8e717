"""Saved views, bulk actions and keyboard shortcuts of the workspace, in Chromium against a real
server (HTTP + websockets)."""

import pytest
from playwright.sync_api import expect

from tests.agents.test_workspace_browser import on_the_server, open_workspace, row, shoot
from tests.helpers import eventually

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk(make_team, make_agent):
    """The team "billing" (the default) and its agent Ayşe, whom open_workspace logs in."""
    team = make_team("billing", is_default=True)
    agent = make_agent("ayse@example.com", teams=[team], first_name="Ayşe", last_name="Demir")
    return team, agent


def start(make_customer, team, name: str, **changes):
    from conversations.services import conversation_start, conversation_update

    conversation, _ = on_the_server(
        conversation_start,
        customer=make_customer(name=name),
        body=f"Hello from {name}",
        client_id=f"c-{name}",
        team=team,
    )
    if changes:
        on_the_server(conversation_update, conversation=conversation, **changes)
    return conversation


def view_button(page, name: str):
    return page.locator("#saved-views-list .saved-view-open", has_text=name)


@pytest.mark.timeout(150)
def test_a_saved_view_filters_the_inbox_and_shows_its_count(
    browser, live_server_url, desk, make_customer
):
    from conversations.models import SavedView

    team, agent = desk
    start(make_customer, team, "Refund One", labels=["refund"])
    start(make_customer, team, "Refund Two", labels=["refund"])
    start(make_customer, team, "Question Three")
    SavedView.objects.create(name="Refunds", owner=agent, filters={"label": "refund"})

    context, page, errors = open_workspace(browser, live_server_url)
    refunds = view_button(page, "Refunds")
    expect(refunds.locator(".saved-view-count")).to_have_text("2")
    refunds.click()
    expect(refunds).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#conversation-list .conv")).to_have_count(2)
    assert sorted(page.locator("#conversation-list .conv .who").all_text_contents()) == [
        "Refund One",
        "Refund Two",
    ]
    shoot(page, "workspace-view-refunds")

    # A new refund arrives: the count follows live (throttled), and so does the list.
    start(make_customer, team, "Refund Four", labels=["refund"])
    expect(refunds.locator(".saved-view-count")).to_have_text("3", timeout=15_000)

    # Save the "My teams" tab, open only, as a view of the team.
    page.get_by_role("tab", name="My teams").click()
    expect(refunds).to_have_attribute("aria-pressed", "false")
    page.locator("#inbox-filters select[name=status]").select_option("open")
    page.get_by_role("button", name="Save view").click()
    dialog = page.locator("#view-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#view-filters")).to_contain_text("open")
    dialog.get_by_label("Name").fill("Team open")
    dialog.get_by_label("Who sees it").select_option(label="Team billing")
    dialog.get_by_role("button", name="Save").click()
    saved = view_button(page, "Team open")
    expect(saved.locator(".saved-view-count")).to_have_text("4")
    expect(saved).to_have_attribute("aria-pressed", "true")
    view = SavedView.objects.get(name="Team open")
    assert view.team == team and view.owner is None
    assert view.filters == {"team": "mine", "status": "open", "ordering": "waiting_since"}

    # Rename it, then delete it: the inbox goes back to its tab.
    page.get_by_role("button", name="Edit the view Team open").click()
    dialog.get_by_label("Name").fill("Billing open")
    dialog.get_by_role("button", name="Save").click()
    expect(view_button(page, "Billing open")).to_be_visible()
    page.get_by_role("button", name="Edit the view Billing open").click()
    page.once("dialog", lambda confirm: confirm.accept())
    dialog.get_by_role("button", name="Delete").click()
    expect(view_button(page, "Billing open")).to_have_count(0)
    assert not SavedView.objects.filter(pk=view.pk).exists()
    expect(page.get_by_role("tab", name="My teams")).to_have_attribute("aria-selected", "true")
    assert errors == []
    context.close()


@pytest.mark.timeout(150)
def test_two_selected_conversations_are_resolved_at_once(
    browser, live_server_url, desk, make_customer
):
    from conversations.models import Conversation

    team, _agent = desk
    first = start(make_customer, team, "Alpha Customer")
    second = start(make_customer, team, "Beta Customer")
    untouched = start(make_customer, team, "Gamma Customer")
    context, page, errors = open_workspace(browser, live_server_url)
    page.get_by_role("tab", name="My teams").click()
    expect(page.locator("#conversation-list .conv")).to_have_count(3)
    bar = page.get_by_role("toolbar", name="Bulk actions")
    expect(bar).to_be_hidden()

    # Tick one, Shift+click another: the range between them is selected.
    listed = page.evaluate("window.hdWorkspace.state.listed")
    names = {first.pk: "Alpha Customer", second.pk: "Beta Customer", untouched.pk: "Gamma Customer"}
    ends = [pk for pk in listed if pk != untouched.pk]
    page.get_by_label(f"Select {names[ends[0]]}").click()
    expect(bar).to_be_visible()
    page.get_by_label(f"Select {names[ends[1]]}").click(modifiers=["Shift"])
    ticked = page.locator("#conversation-list .conv-select:checked")
    in_between = listed.index(untouched.pk) == 1
    expect(ticked).to_have_count(3 if in_between else 2)
    if in_between:  # the range took the middle one too: untick it
        page.get_by_label("Select Gamma Customer").click()
    expect(page.locator("#bulk-count")).to_have_text("2 selected")
    shoot(page, "workspace-bulk-bar")
    bar.get_by_role("button", name="Resolve").click()
    expect(page.locator("#toast")).to_contain_text("2 resolved.")
    expect(bar).to_be_hidden()

    def statuses():
        rows = Conversation.objects.filter(pk__in=[first.pk, second.pk, untouched.pk])
        return dict(rows.values_list("pk", "status"))

    assert eventually(
        lambda: statuses()[first.pk] == "resolved" and statuses()[second.pk] == "resolved"
    )
    assert statuses()[untouched.pk] == "open"
    expect(row(page, "Alpha Customer").locator(".chip.status-resolved")).to_be_visible()
    assert errors == []
    context.close()


@pytest.mark.timeout(150)
def test_question_mark_lists_the_shortcuts_and_j_k_move_through_the_inbox(
    browser, live_server_url, desk, make_customer
):
    team, _agent = desk
    for name in ("One Customer", "Two Customer", "Three Customer"):
        start(make_customer, team, name)
    context, page, errors = open_workspace(browser, live_server_url)
    page.get_by_role("tab", name="My teams").click()
    expect(page.locator("#conversation-list .conv")).to_have_count(3)
    listed = page.evaluate("window.hdWorkspace.state.listed")
    focused_row = "() => Number(document.activeElement.closest('.conv')?.dataset.id)"

    page.locator("body").press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Next / previous conversation of the inbox")
    shoot(page, "workspace-shortcuts")
    page.keyboard.press("j")  # keys sleep under a dialog
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.locator("body").press("j")
    assert page.evaluate(focused_row) == listed[0]
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert page.evaluate(focused_row) == listed[2]
    page.keyboard.press("k")
    assert page.evaluate(focused_row) == listed[1]
    page.keyboard.press("x")  # selects it for a bulk action
    expect(page.locator("#bulk-count")).to_have_text("1 selected")
    page.keyboard.press("o")
    expect(page.locator("#thread .msg-customer")).to_have_count(1)
    assert page.evaluate("window.hdWorkspace.state.currentId") == listed[1]

    # In the reply box, keys are letters; Esc hands them back, n makes a private note.
    reply = page.locator("#composer-input")
    reply.focus()
    page.keyboard.type("jk")
    expect(reply).to_have_value("jk")
    page.keyboard.press("Escape")
    page.keyboard.press("n")
    expect(page.locator("#composer")).to_have_attribute("data-private", "true")
    expect(reply).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("g")
    page.keyboard.press("v")
    expect(page.get_by_role("button", name="Save view")).to_be_focused()
    page.keyboard.press("Escape")
    page.locator("body").press("e")  # resolves the open conversation
    expect(page.locator("#thread-status")).to_have_attribute("data-status", "resolved")
    page.locator("body").press("/")
    expect(page.locator("#inbox-filters input[name=q]")).to_be_focused()
    assert errors == []
    context.close()
