"""The admin's conversation list in a real browser (Chromium): it fits a laptop screen."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(os.environ.get("HELPDESK_SCREENSHOTS", "/tmp/helpdesk-screenshots"))

# How far right each column of the list reaches, and where the list's box ends (the admin
# scrolls a table too wide for it inside that box, hiding its last columns).
COLUMN_EDGES = """() => {
  const box = document.querySelector('#changelist .results');
  return {
    viewport: document.documentElement.clientWidth,
    pageScrolls: document.documentElement.scrollWidth > document.documentElement.clientWidth,
    box: box.getBoundingClientRect().right,
    boxScrolls: box.scrollWidth > box.clientWidth,
    columns: [...document.querySelectorAll('#result_list thead th')].map((th) => ({
      name: th.className, right: th.getBoundingClientRect().right, width: th.getBoundingClientRect().width,
    })),
  };
}"""


@pytest.fixture
def busy_desk(make_team, make_agent, start_conversation, make_customer):
    """A list as a real desk has it: long names and addresses, labels, a call-back."""
    from conversations.models import Label

    team = make_team("Billing and subscriptions", is_default=True)
    agent = make_agent(
        "ayse.demirtas-yilmaz@example.com",
        teams=[team],
        first_name="Ayşe",
        last_name="Demirtaş-Yılmaz",
        is_superuser=True,
    )
    labels = [Label.objects.create(name=name) for name in ("refund", "invoice", "vip-customer")]
    for number in range(8):
        customer = make_customer(
            "Bartholomew Featherstonehaugh-Smythe", email=f"bartholomew.{number}@example.co.uk"
        )
        conversation = start_conversation(
            at=timezone.now() - timedelta(minutes=47),  # "47 dakika önce": times take room
            customer=customer,
            body="My invoice shows a charge twice and I would like a refund of the second one. "
            * 3,
            team=team,
        )
        conversation.labels.set(labels)
        conversation.assignee = agent
        conversation.callback_phone = "+90 532 000 00 00" if number % 2 else ""
        conversation.save()
    return agent


@pytest.mark.parametrize("language", ["en", "tr"])
def test_the_conversation_list_shows_its_last_column_at_1440_px(
    busy_desk, live_server_url, browser, language
):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale=language)
    page = context.new_page()
    page.goto(f"{live_server_url}/admin/conversations/conversation/")
    page.wait_for_url("**/admin/login/**")
    page.fill("#id_username", busy_desk.email)
    page.fill("#id_password", "pw-for-tests")
    page.click("input[type=submit]")
    page.wait_for_selector("#result_list tbody tr")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"admin-conversations-1440-{language}.png"))

    edges = page.evaluate(COLUMN_EDGES)
    last = edges["columns"][-1]
    assert "column-activity" in last["name"]
    assert last["right"] <= min(edges["box"], edges["viewport"]), edges["columns"]
    assert not edges["boxScrolls"], edges
    assert not edges["pageScrolls"], edges
    context.close()
