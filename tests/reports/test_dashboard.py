"""The reports page (/reports/) and the agent table behind it."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.staticfiles import finders
from rest_framework.test import APIClient

from conversations.events import publish_pending_events
from conversations.services import (
    Author,
    conversation_assign,
    conversation_rate,
    conversation_resolve,
    conversation_start,
    message_post,
)
from reports.selectors import Slice, agent_table, summary
from reports.services import process_new_events

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = (datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- The page ----------------------------------------------------------------------------------


def test_the_page_sends_anyone_but_staff_to_the_admin_login(client, django_user_model):
    response = client.get("/reports/")
    assert response.status_code == 302
    assert response.url == "/admin/login/?next=/reports/"
    customer_side = django_user_model.objects.create_user("someone", password="pw")
    client.force_login(customer_side)
    assert client.get("/reports/").url.startswith("/admin/login/")


def test_the_page_renders_its_filters_from_the_database(client, make_team, make_agent):
    make_team(name="billing")
    make_team(name="<b>vip</b>")
    manager = make_agent("manager@example.com", first_name="Mina", last_name="Manager")
    make_agent("ayse@example.com", first_name="Ayşe", last_name="Yılmaz")
    client.force_login(manager)

    response = client.get("/reports/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<option value="' in html and ">billing</option>" in html
    assert "&lt;b&gt;vip&lt;/b&gt;" in html and "<b>vip</b>" not in html  # escaped
    assert ">Ayşe Yılmaz</option>" in html
    assert 'value="web">Web widget</option>' in html and 'value="email">' in html
    for period in ("today", "7d", "30d", "custom"):
        assert f'name="period" value="{period}"' in html
    assert "reports/vendor/chart-4.6.1.umd.min.js" in html
    assert "reports/dashboard.js" in html
    assert html.index("/static/helpdesk/staff.css") < html.index("/static/reports/dashboard.css")
    assert '<link rel="modulepreload" href="/static/helpdesk/client.js">' in html
    assert '<script type="module" src="/static/reports/dashboard.js">' in html
    for canvas in ("volume", "csat", "first_response_time", "wait_time", "handle_time"):
        assert f'id="chart-{canvas}"' in html
    # The script's own words, translated on the server.
    strings = json.loads(re.search(r'id="report-strings"[^>]*>(.*?)</script>', html).group(1))
    assert strings["minute"] == "min" and strings["vs_previous"] == "vs previous period"


def test_the_page_lists_channels_brought_by_imports(client, make_agent, start_conversation):
    start_conversation(channel="whatsapp")
    client.force_login(make_agent())
    assert 'value="whatsapp"' in client.get("/reports/").content.decode()


def test_the_chart_library_is_served_locally_with_its_license(client):
    assert finders.find("reports/vendor/chart-4.6.1.umd.min.js")
    license_file = finders.find("reports/vendor/chart.js-LICENSE.md")
    assert "MIT" in open(license_file).read()
    assert finders.find("reports/dashboard.js") and finders.find("reports/dashboard.css")


# --- The agent table ------------------------------------------------------------------------------


@pytest.fixture
def history(make_customer, make_team, make_agent):
    """Two agents on one day: Ayşe resolves two (handle 10 and 30 min, rated 5 and 3), Bob
    one (handle 5 min, rated 4); one more conversation of Bob's is in another team."""
    billing, sales = make_team(name="billing"), make_team(name="sales")
    ayse = make_agent("ayse@example.com", first_name="Ayşe", teams=[billing])
    bob = make_agent("bob@example.com", first_name="Bob", teams=[billing, sales])

    def handled(agent, start: float, reply: float, resolve: float, score=None, team=billing):
        conversation, _ = conversation_start(
            customer=make_customer(), body="?", client_id=f"q{start}", team=team, at=at(start)
        )
        conversation_assign(conversation=conversation, assignee=agent, at=at(start))
        message_post(
            conversation=conversation,
            author=Author.of_agent(agent),
            body="!",
            client_id=f"r{start}",
            at=at(reply),
        )
        conversation_resolve(conversation=conversation, by=agent, at=at(resolve))
        if score:
            conversation_rate(conversation=conversation, score=score, at=at(resolve + 1))

    handled(ayse, 0, 2, 10, score=5)
    handled(ayse, 20, 24, 50, score=3)
    handled(bob, 60, 61, 65, score=4)
    handled(bob, 100, 103, 120, team=sales)
    publish_pending_events()
    process_new_events()
    return {"billing": billing, "sales": sales, "ayse": ayse, "bob": bob}


def test_agent_table_credits_the_resolving_agent(history):
    rows = {row["agent"]["email"]: row for row in agent_table(*DAY, Slice())}

    assert set(rows) == {"ayse@example.com", "bob@example.com"}  # nobody without credit
    ayse, bob = rows["ayse@example.com"], rows["bob@example.com"]
    assert ayse["agent"] == {"id": history["ayse"].pk, "name": "Ayşe", "email": "ayse@example.com"}
    assert ayse["resolved"] == 2 and bob["resolved"] == 2
    assert ayse["handle_time"] == {"count": 2, "mean": 20 * 60.0}  # (10 + 30 min) / 2
    assert bob["handle_time"] == {"count": 2, "mean": 12.5 * 60}  # (5 + 20 min) / 2
    assert ayse["csat"] == {"responses": 2, "score_percent": 50.0, "mean": 4.0}
    assert bob["csat"] == {"responses": 1, "score_percent": 100.0, "mean": 4.0}
    assert ayse["first_response_time"] == {"count": 2, "mean": 3 * 60.0}
    assert ayse["replies"] == 2


def test_agent_table_ranks_by_resolutions_then_shorter_handle_time(history, make_customer):
    ayse, bob = history["ayse"], history["bob"]
    rows = agent_table(*DAY, Slice())
    assert rows[0]["resolved"] == rows[1]["resolved"] == 2
    assert [row["agent"]["id"] for row in rows] == [bob.pk, ayse.pk]  # 12.5 min < 20 min

    conversation, _ = conversation_start(
        customer=make_customer(), body="?", client_id="late", at=at(200)
    )
    conversation_resolve(conversation=conversation, by=ayse, at=at(210))
    publish_pending_events()
    process_new_events()
    assert [row["agent"]["id"] for row in agent_table(*DAY, Slice())] == [ayse.pk, bob.pk]


def test_agent_table_follows_the_slice(history):
    rows = agent_table(*DAY, Slice(team=history["billing"].pk))
    bob = next(row for row in rows if row["agent"]["email"] == "bob@example.com")
    assert bob["resolved"] == 1 and bob["handle_time"]["mean"] == 5 * 60.0
    assert agent_table(*DAY, Slice(channel="email")) == []
    only_bob = agent_table(*DAY, Slice(agent=history["bob"].pk))
    assert [row["agent"]["email"] for row in only_bob] == ["bob@example.com"]


def test_agent_table_reads_the_minutes_at_the_edges_of_a_period(history):
    # 09:49 to 10:07: only Ayşe's second resolution (09:50) and Bob's (10:05), read from facts.
    rows = agent_table(at(49), at(67), Slice())
    by_email = {row["agent"]["email"]: row for row in rows}
    assert by_email["ayse@example.com"]["resolved"] == 1
    assert by_email["ayse@example.com"]["handle_time"]["mean"] == 30 * 60.0
    assert by_email["bob@example.com"]["resolved"] == 1
    assert by_email["bob@example.com"]["csat"]["responses"] == 1


def test_agent_table_agrees_with_the_summary_of_each_agent(history):
    for row in agent_table(*DAY, Slice()):
        one = summary(*DAY, Slice(agent=row["agent"]["id"]))
        assert row["resolved"] == one["conversations"]["resolved"]
        assert row["handle_time"]["mean"] == pytest.approx(one["handle_time"]["mean"])
        assert row["csat"]["score_percent"] == one["csat"]["score_percent"]


def test_agent_table_endpoint(history, make_agent):
    api = APIClient()
    api.force_authenticate(make_agent(is_superuser=True))
    body = api.get(
        "/api/v1/reports/agents",
        {"since": "2026-03-02", "until": "2026-03-03", "tz": "UTC", "team": "billing"},
    ).json()
    assert body["since"] == "2026-03-02T00:00:00+00:00"
    assert [row["resolved"] for row in body["results"]] == [2, 1]
    bad = api.get("/api/v1/reports/agents", {"since": "soon"})
    assert bad.status_code == 400 and "since" in bad.json()["error"]["fields"]
    assert APIClient().get("/api/v1/reports/agents").status_code in (401, 403)
