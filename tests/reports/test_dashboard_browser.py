"""The reports page in a real browser, against a real server: charts drawn, numbers live."""

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from conversations.events import publish_pending_events
from conversations.services import (
    Author,
    conversation_assign,
    conversation_rate,
    conversation_request_callback,
    conversation_resolve,
    conversation_start,
    customer_answer_nps,
    message_post,
)
from reports.services import process_new_events
from reports.tasks import update_reports

CHARTS = [
    "volume",
    "csat",
    "nps",
    "first_response_time",
    "wait_time",
    "handle_time",
    "resolution_time",
]
SCREENSHOTS = Path(os.environ.get("HELPDESK_SCREENSHOTS", "/tmp/helpdesk-screenshots"))


def on_the_server(work: Callable[[], object]) -> None:
    """Run `work` in its own thread, as a web request or a worker would.

    Playwright's sync API keeps an event loop in the test's thread, where async_to_sync (the
    channel layer's broadcast) refuses to run.
    """
    failures: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            failures.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    if failures:
        raise failures[0]


def resolve_one(customer, agent, team, start, *, score=None, nps=None, key="") -> None:
    conversation, _ = conversation_start(
        customer=customer, body="Where is my invoice?", client_id=f"q{key}", team=team, at=start
    )
    conversation_assign(conversation=conversation, assignee=agent, at=start)
    message_post(
        conversation=conversation,
        author=Author.of_agent(agent),
        body="Here it is.",
        client_id=f"r{key}",
        at=start + timedelta(minutes=4, seconds=12),
    )
    if key == 2:  # one escalation: the customer asked to be called back
        conversation_request_callback(
            conversation=conversation, phone="+90 555", by=agent, at=start + timedelta(minutes=5)
        )
    conversation_resolve(conversation=conversation, by=agent, at=start + timedelta(minutes=15))
    if score:
        conversation_rate(conversation=conversation, score=score, at=start + timedelta(minutes=16))
    if nps is not None:
        customer_answer_nps(
            customer=customer,
            conversation=conversation,
            score=nps,
            at=start + timedelta(minutes=17),
        )


def canvas_is_drawn(page, name: str) -> bool:
    return page.evaluate(
        """(name) => {
            const canvas = document.getElementById(`chart-${name}`);
            const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
            return false;
        }""",
        name,
    )


def shared_client_loads(page) -> list[str]:
    """The fetches of helpdesk/client.js this page made (modulepreload and import: one)."""
    return page.evaluate(
        "performance.getEntriesByType('resource').map((entry) => entry.name)"
        ".filter((name) => name.endsWith('/static/helpdesk/client.js'))"
    )


def resolved_card(page) -> str:
    return page.inner_text('[data-kpi="resolved"] .value')


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_the_page_draws_its_charts_and_follows_new_resolutions(
    browser, live_server_url, django_user_model, make_team, make_agent, make_customer
):
    django_user_model.objects.create_superuser(
        "boss@example.com", email="boss@example.com", password="boss-password"
    )
    team = make_team(name="billing")
    agent = make_agent("ayse@example.com", first_name="Ayşe", last_name="Yılmaz", teams=[team])
    customers = {day: make_customer() for day in (1, 2, 3)}

    def history() -> None:
        now = timezone.now()
        for day, score, nps in ((3, 5, 10), (2, 4, 9), (1, 2, 4)):
            resolve_one(
                customers[day],
                agent,
                team,
                now - timedelta(days=day),
                score=score,
                nps=nps,
                key=day,
            )
        publish_pending_events()
        process_new_events()

    on_the_server(history)

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.clock.install()  # the page's timers run on a clock the test can move
    page.goto(f"{live_server_url}/admin/login/?next=/reports/")
    page.fill("#id_username", "boss@example.com")
    page.fill("#id_password", "boss-password")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server_url}/reports/")
    page.wait_for_function("() => window.hdReports && window.hdReports.state.refreshCount > 0")

    # Headline numbers, human-friendly, from the API.
    assert resolved_card(page) == "3"
    assert page.inner_text('[data-kpi="escalated"] .value') == "1"
    assert page.inner_text('[data-kpi="first_response_time"] .value') == "4\u00a0min 12\u00a0s"
    assert page.inner_text('[data-kpi="csat"] .value') == "66.7%"
    # NPS: two promoters and a detractor of three answers
    assert page.inner_text('[data-kpi="nps"] .value') == "+33.3"
    assert page.inner_text('[data-kpi="nps"] .sub').startswith("2 promoters · 0 passives")
    nps_column = page.locator("#agent-table thead th").all_inner_texts().index("NPS") + 1
    assert page.inner_text(f"#agent-table tbody tr:first-child td:nth-child({nps_column})") == (
        "+33.3"
    )
    assert page.inner_text("#agent-table tbody tr:first-child .agent-name") == "Ayşe Yılmaz"
    # Every chart is a Chart.js instance and has pixels on its canvas.
    page.wait_for_timeout(600)  # the first draw animates
    assert page.evaluate("Object.keys(window.hdReports.charts).sort()") == sorted(CHARTS)
    assert page.evaluate(
        "Object.values(window.hdReports.charts).every((c) => c instanceof window.Chart)"
    )
    for name in CHARTS:
        assert canvas_is_drawn(page, name), name
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "reports-dashboard.png"), full_page=True)

    # Live, by the websocket: a new resolution; the reports task announces report.updated
    # to the "reports" group and the page refreshes itself (debounced), long before its timer.
    page.wait_for_selector('#live-status[data-state="live"]')  # joined "reports" when open

    def new_resolution(key: str) -> Callable[[], None]:
        def work() -> None:
            start = timezone.now() - timedelta(minutes=20)
            resolve_one(make_customer(), agent, team, start, key=key)
            publish_pending_events()
            update_reports()  # recompute, then announce report.updated

        return work

    on_the_server(new_resolution("by-socket"))
    page.wait_for_function(
        "() => document.querySelector('[data-kpi=\"resolved\"] .value').textContent === '4'",
        timeout=10_000,
    )
    assert page.evaluate("window.hdReports.state.socketEvents") >= 1

    # The fallback timer, with the socket gone: freeze the page's clock, close the socket
    # (its reconnect waits on the frozen clock too), change the history, move 30 s on.
    page.clock.pause_at(datetime.fromtimestamp(page.evaluate("Date.now()") / 1000 + 1, UTC))
    page.evaluate("window.hdReports.socket().close()")
    refreshes = page.evaluate("window.hdReports.state.refreshCount")
    on_the_server(new_resolution("by-timer"))
    page.wait_for_timeout(1500)
    assert resolved_card(page) == "4"  # nothing refreshed while the clock stood still

    page.clock.run_for(31_000)
    for _ in range(100):  # polled from here: the page's own timers are frozen
        if page.evaluate("window.hdReports.state.refreshCount") > refreshes:
            break
        page.wait_for_timeout(100)
    assert resolved_card(page) == "5"
    assert page.inner_text('[data-kpi="open_now"] .value') == "0"
    # The socket (helpdesk/client.js's) reconnects by itself after the drop.
    for _ in range(100):  # polled, as above: the page's clock stands still
        if page.get_attribute("#live-status", "data-state") == "live":
            break
        page.clock.run_for(500)
        page.wait_for_timeout(100)
    assert page.get_attribute("#live-status", "data-state") == "live"
    # The shared stylesheet's top bar, kept on screen by the page's own rule.
    topbar = page.locator(".topbar").evaluate(
        "element => [getComputedStyle(element).backgroundColor, getComputedStyle(element).position]"
    )
    assert topbar == ["rgb(15, 23, 42)", "sticky"]
    assert page.inner_text("#report-error") == ""
    assert errors == []
    page.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_the_page_exports_a_csv_through_a_celery_worker(
    browser, live_server_url, django_user_model, make_team, make_agent, make_customer
):
    from celery.contrib.testing.worker import start_worker

    from helpdesk.celery import app

    django_user_model.objects.create_superuser(
        "boss@example.com", email="boss@example.com", password="boss-password"
    )
    team = make_team(name='Billing, "VIP"')
    agent = make_agent("ayse@example.com", first_name="Ayşe", teams=[team])
    customer = make_customer()

    def history() -> None:
        resolve_one(customer, agent, team, timezone.now() - timedelta(hours=5), score=5, key=1)
        publish_pending_events()
        process_new_events()

    on_the_server(history)
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    page.goto(f"{live_server_url}/admin/login/?next=/reports/%3Fperiod%3D30d")
    page.fill("#id_username", "boss@example.com")
    page.fill("#id_password", "boss-password")
    page.click("input[type=submit]")
    page.wait_for_function("() => window.hdReports && window.hdReports.state.refreshCount > 0")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    # The shared client, fetched once (modulepreload and import); this page's clock is real.
    assert shared_client_loads(page) == [f"{live_server_url}/static/helpdesk/client.js"]
    page.select_option("select[name=team]", label='Billing, "VIP"')
    page.wait_for_function("() => window.hdReports.state.refreshCount > 1")
    page.select_option("select[name=inbox]", label="Web widget")  # the widget's own inbox
    page.wait_for_function("() => window.hdReports.state.refreshCount > 2")
    assert "inbox=" in page.url

    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        page.click("#export-button")
        page.wait_for_selector("#export-download:not([hidden])", timeout=30_000)
    assert page.inner_text(".export-message") == "Export ready."
    assert page.inner_text("#export-list li .status") == "Done"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "reports-export-phone.png"), full_page=True)

    download = page.request.get(live_server_url + page.get_attribute("#export-download", "href"))
    assert download.status == 200
    text = download.text()
    assert 'Team,"Billing, ""VIP"""' in text
    assert "Inbox,Web widget" in text
    assert "Conversations resolved,1," in text
    page.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_percentages_follow_the_language(
    browser, live_server_url, django_user_model, make_team, make_agent, make_customer
):
    """Defect 6 of issue 15: Turkish writes "%66,7", not "66,7 %"."""
    django_user_model.objects.create_superuser(
        "patron@example.com", email="patron@example.com", password="boss-password"
    )
    team = make_team(name="fatura")
    agent = make_agent("ayse@example.com", first_name="Ayşe", last_name="Yılmaz", teams=[team])

    def history() -> None:
        now = timezone.now()
        for day, score in ((3, 5), (2, 4), (1, 2)):
            resolve_one(
                make_customer(), agent, team, now - timedelta(days=day), score=score, key=day
            )
        publish_pending_events()
        process_new_events()

    on_the_server(history)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="tr-TR")
    page = context.new_page()
    page.goto(f"{live_server_url}/admin/login/?next=/reports/")
    page.fill("#id_username", "patron@example.com")
    page.fill("#id_password", "boss-password")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server_url}/reports/")
    page.wait_for_function("() => window.hdReports && window.hdReports.state.refreshCount > 0")
    assert page.inner_text('[data-kpi="csat"] .value') == "%66,7"
    assert "%66,7" in page.inner_text("#agent-table")
    assert "66,7 %" not in page.inner_text("body") and "66,7\u00a0%" not in page.inner_text("body")
    context.close()
