"""Search in the agent workspace, in a real browser: ranked results, the match highlighted,
and a message's markup shown as text, never run."""

import os
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(os.environ.get("HELPDESK_SCREENSHOTS", "/tmp/helpdesk-screenshots"))
XSS = '<img src=x onerror="window.hacked=1"> where is my invoice'


@pytest.mark.timeout(120)
def test_the_workspace_search_shows_ranked_escaped_highlights(
    browser, live_server_url, make_team, make_agent, make_customer, start_conversation
):
    from conversations.services import Author, message_post

    team = make_team("billing", is_default=True)
    make_agent("ayse@example.com", teams=[team], first_name="Ayşe")
    once = start_conversation(customer=make_customer(name="Elif Once"), body=XSS, team=team)
    often = start_conversation(
        customer=make_customer(name="Emre Often"), body="Invoice missing", team=team
    )
    message_post(conversation=often, author=Author.customer(), body="invoice?", client_id="2")
    start_conversation(customer=make_customer(name="Can Other"), body="Hello", team=team)

    page = browser.new_context(viewport={"width": 1366, "height": 820}, locale="en-US").new_page()
    page.goto(f"{live_server_url}/agent/")
    page.wait_for_url("**/admin/login/?next=/agent/")
    page.fill("#id_username", "ayse@example.com")
    page.fill("#id_password", "pw-for-tests")
    page.click("input[type=submit]")
    page.wait_for_selector("#live-status[data-state=live]")

    page.fill("#inbox-filters input[name=q]", "invoice")
    rows = page.locator("#conversation-list .conv")
    page.wait_for_function(
        "() => document.querySelectorAll('#conversation-list .conv').length === 2", timeout=10_000
    )
    assert "Emre Often" in rows.nth(0).inner_text()  # two matching messages rank first
    assert "Elif Once" in rows.nth(1).inner_text()
    escaped = rows.nth(1).locator(".preview")
    assert escaped.locator("mark").inner_text() == "invoice"
    assert escaped.locator("img").count() == 0
    assert '<img src=x onerror="window.hacked=1">' in escaped.inner_text()  # shown as text
    assert page.evaluate("window.hacked") is None
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "search-workspace.png"))
    assert once.pk != often.pk
