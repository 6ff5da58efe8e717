"""CSV exports: the endpoints, the job, and what the CSV says."""

import csv
import io
import time
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from conversations.events import publish_pending_events
from conversations.services import (
    Author,
    conversation_assign,
    conversation_rate,
    conversation_resolve,
    conversation_start,
    customer_answer_nps,
    message_post,
)
from reports.models import ExportStatus, ReportExport
from reports.services import process_new_events
from reports.tasks import run_report_export

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TEAM_NAME = 'Billing, "VIP"'
PERIOD = {"since": "2026-03-01", "until": "2026-03-04", "tz": "UTC"}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def history(make_customer, make_team, make_agent):
    """On 2 March: two conversations of the team 'Billing, "VIP"', both resolved by an agent
    whose name starts like a spreadsheet formula; one rated 5; NPS answers 9 and 3 after them."""
    team = make_team(name=TEAM_NAME)
    agent = make_agent("ayse@example.com", first_name="=Ayşe", last_name="Yılmaz", teams=[team])
    for number, (reply, resolve) in enumerate([(4, 10), (6, 30)]):
        start = number * 60
        conversation, _ = conversation_start(
            customer=make_customer(), body="?", client_id=f"q{number}", team=team, at=at(start)
        )
        conversation_assign(conversation=conversation, assignee=agent, at=at(start))
        message_post(
            conversation=conversation,
            author=Author.of_agent(agent),
            body="!",
            client_id=f"r{number}",
            at=at(start + reply),
        )
        conversation_resolve(conversation=conversation, by=agent, at=at(start + resolve))
        if number == 0:
            conversation_rate(conversation=conversation, score=5, at=at(start + resolve + 1))
        customer_answer_nps(
            customer=conversation.customer,
            conversation=conversation,
            score=(9, 3)[number],
            at=at(start + resolve + 2),
        )
    publish_pending_events()
    process_new_events()
    return team, agent


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def section(rows: list[list[str]], title: str) -> list[list[str]]:
    """The rows under a section title, up to the next blank row (heading row included)."""
    start = rows.index([title]) + 1
    end = next((i for i in range(start, len(rows)) if not rows[i]), len(rows))
    return rows[start:end]


# --- Endpoints --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_export_is_created_run_and_downloaded(manager, history):
    team, agent = history
    api = api_for(manager)

    created = api.post("/api/v1/reports/exports", {**PERIOD, "team": team.pk}, format="json")

    assert created.status_code == 202
    job = created.json()
    assert set(job) >= {"id", "status", "progress"}
    assert job["status"] == "queued" and job["progress"] == 0
    assert job["params"]["team"] == team.pk and job["params"]["interval"] == "day"
    assert api.get(f"/api/v1/reports/exports/{job['id']}/download").status_code == 409

    run_report_export(job["id"])  # what the worker does

    status = api.get(f"/api/v1/reports/exports/{job['id']}").json()
    assert status["status"] == "done" and status["progress"] == 100
    assert status["download_url"] == f"/api/v1/reports/exports/{job['id']}/download"
    download = api.get(status["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    assert "attachment" in download["Content-Disposition"]
    assert 'filename="helpdesk-report-2026-03-01-2026-03-04-' in download["Content-Disposition"]
    rows = csv_rows(download.content)
    assert ["Team", TEAM_NAME] in rows
    assert ["Conversations resolved", "2", "0", ""] in section(rows, "Summary")
    listing = api.get("/api/v1/reports/exports").json()["results"]
    assert [item["id"] for item in listing] == [job["id"]]


@pytest.mark.django_db
def test_a_manager_sees_only_their_own_exports(manager, make_agent, history):
    job = api_for(manager).post("/api/v1/reports/exports", PERIOD, format="json").json()
    run_report_export(job["id"])
    other = api_for(make_agent("other@example.com", is_superuser=True))

    for path in (
        f"/api/v1/reports/exports/{job['id']}",
        f"/api/v1/reports/exports/{job['id']}/download",
    ):
        response = other.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert other.get("/api/v1/reports/exports").json()["results"] == []


@pytest.mark.django_db
def test_exports_are_for_staff_only(make_customer, django_user_model):
    assert APIClient().post("/api/v1/reports/exports", PERIOD, format="json").status_code in (
        401,
        403,
    )
    not_staff = django_user_model.objects.create_user("visitor", password="pw")
    assert (
        api_for(not_staff).post("/api/v1/reports/exports", PERIOD, format="json").status_code == 403
    )
    assert not ReportExport.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, field",
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-03-04", "until": "2026-03-01"}, "since"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"team": "nobody"}, "team"),
        ({"agent": "ghost@example.com"}, "agent"),
        ({"interval": "fortnight"}, "interval"),
        ({"since": "2020-01-01", "until": "2026-01-01", "interval": "hour"}, "interval"),
    ],
)
def test_bad_export_parameters_answer_400_in_the_error_shape(manager, body, field):
    response = api_for(manager).post("/api/v1/reports/exports", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["message"]
    assert field in error["fields"]
    assert not ReportExport.objects.exists()


@pytest.mark.django_db
def test_an_export_body_must_be_an_object(manager):
    response = api_for(manager).post("/api/v1/reports/exports", [1, 2], format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"


# --- The job ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_running_an_export_again_overwrites_it(manager, history):
    job = api_for(manager).post("/api/v1/reports/exports", PERIOD, format="json").json()
    run_report_export(job["id"])
    first = ReportExport.objects.get(pk=job["id"]).content
    run_report_export(job["id"])  # a redelivered message (acks_late)

    export = ReportExport.objects.get(pk=job["id"])
    assert export.status == ExportStatus.DONE and export.progress == 100
    strip = lambda text: [line for line in text.splitlines() if "Generated at" not in line]  # noqa: E731
    assert strip(export.content) == strip(first)
    assert ReportExport.objects.count() == 1


@pytest.mark.django_db
def test_a_failing_export_is_marked_failed_with_a_message(manager):
    export = ReportExport.objects.create(
        owner=manager,
        params={
            "since": "2026-03-01T00:00:00+00:00",
            "until": "2026-03-02T00:00:00+00:00",
            "tz": "Mars/Olympus",
        },  # a row no API call could create
    )
    run_report_export(export.pk)

    body = api_for(manager).get(f"/api/v1/reports/exports/{export.pk}").json()
    assert body["status"] == "failed"
    assert "could not be computed" in body["error"]
    assert body["download_url"] is None
    assert api_for(manager).get(f"/api/v1/reports/exports/{export.pk}/download").status_code == 409


@pytest.mark.django_db
def test_a_deleted_export_is_skipped(manager):
    """The job of an export deleted while it waited in the queue does nothing: it neither
    raises nor brings the row back, and leaves the other exports alone."""
    params = {"since": "2026-03-01T00:00:00+00:00", "until": "2026-03-02T00:00:00+00:00"}
    kept = ReportExport.objects.create(owner=manager, params=params)
    deleted = ReportExport.objects.create(owner=manager, params=params)
    deleted_id = deleted.pk
    deleted.delete()

    assert run_report_export(deleted_id) is None

    assert list(ReportExport.objects.values_list("pk", "status", "progress", "content")) == [
        (kept.pk, ExportStatus.QUEUED, 0, "")
    ]


# --- The CSV -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_csv_holds_summary_series_and_agents(manager, history):
    team, agent = history
    job = (
        api_for(manager)
        .post("/api/v1/reports/exports", {**PERIOD, "team": TEAM_NAME}, format="json")
        .json()
    )
    run_report_export(job["id"])
    content = ReportExport.objects.get(pk=job["id"]).content

    # Escaped the CSV way: the comma and the quotes stay inside one cell.
    assert 'Team,"Billing, ""VIP"""' in content
    rows = csv_rows(content.encode())
    assert rows[0] == ["Helpdesk report"]
    assert ["From", "2026-03-01T00:00:00+00:00"] in rows
    assert ["Until", "2026-03-04T00:00:00+00:00"] in rows

    summary = {row[0]: row[1:] for row in section(rows, "Summary")[1:]}
    assert summary["Conversations created"] == ["2", "0", ""]
    assert summary["Conversations resolved"] == ["2", "0", ""]
    assert summary["First response time, mean (s)"] == ["300.0", "", ""]  # (4 + 6 min) / 2
    assert summary["First response time, median (s)"][0] == "300.0"
    assert summary["Resolution time, mean (s)"][0] == "1200.0"  # (10 + 30 min) / 2
    assert summary["Handle time, values"][0] == "2"
    assert summary["CSAT %"][0] == "100.0" and summary["CSAT ratings"][0] == "1"
    assert summary["CSAT response rate %"][0] == "50.0"
    assert summary["NPS (% promoters − % detractors)"][0] == "0.0"
    assert summary["NPS answers"][0] == "2"
    assert [summary[f"NPS {kind}"][0] for kind in ("promoters (9–10)", "detractors (0–6)")] == [
        "1",
        "1",
    ]
    assert summary["NPS passives (7–8)"][0] == "0"

    series = section(rows, "Time series")
    assert series[0][:3] == ["Start", "Created", "Resolved"]
    assert [row[0] for row in series[1:]] == [
        "2026-03-01T00:00:00+00:00",
        "2026-03-02T00:00:00+00:00",
        "2026-03-03T00:00:00+00:00",
    ]
    assert series[2][1:4] == ["2", "2", "0"]
    assert series[1][1:4] == ["0", "0", "0"]

    agents = section(rows, "Agents")
    assert agents[0][:3] == ["Agent", "Email", "Resolved"]
    # A name starting with "=" is kept as text, never run as a spreadsheet formula.
    assert agents[1][:4] == ["'=Ayşe Yılmaz", "ayse@example.com", "2", "2"]
    assert agents[1][4] == "1200.0"  # handle: assigned and open 10 and 30 min
    assert agents[0][-2:] == ["NPS", "NPS answers"] and agents[1][-2:] == ["0.0", "2"]
    assert series[0][-1] == "NPS" and series[2][-1] == "0.0" and series[1][-1] == ""


@pytest.mark.django_db
def test_the_csv_compares_with_the_previous_period(manager, history, make_customer):
    team, agent = history
    conversation, _ = conversation_start(
        customer=make_customer(), body="?", client_id="earlier", team=team, at=at(-3 * 24 * 60)
    )
    conversation_resolve(conversation=conversation, by=agent, at=at(-3 * 24 * 60 + 5))
    publish_pending_events()
    process_new_events()
    job = (
        api_for(manager)
        .post(
            "/api/v1/reports/exports",
            {"since": "2026-03-02", "until": "2026-03-03", "tz": "UTC"},
            format="json",
        )
        .json()
    )
    run_report_export(job["id"])
    rows = csv_rows(ReportExport.objects.get(pk=job["id"]).content.encode())
    summary = {row[0]: row[1:] for row in section(rows, "Summary")[1:]}
    assert summary["Conversations resolved"] == ["2", "0", ""]  # the earlier one is 27 Feb
    week = (
        api_for(manager)
        .post(
            "/api/v1/reports/exports",
            {"since": "2026-03-01", "until": "2026-03-03", "tz": "UTC"},
            format="json",
        )
        .json()
    )
    run_report_export(week["id"])
    rows = csv_rows(ReportExport.objects.get(pk=week["id"]).content.encode())
    summary = {row[0]: row[1:] for row in section(rows, "Summary")[1:]}
    assert summary["Conversations resolved"] == ["2", "1", "100.0"]  # vs 27 Feb – 1 Mar


# --- Through a real Celery worker -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_a_celery_worker_runs_the_export(manager, history):
    from celery.contrib.testing.worker import start_worker

    from helpdesk.celery import app

    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        api = api_for(manager)
        job = api.post("/api/v1/reports/exports", PERIOD, format="json").json()
        deadline = time.monotonic() + 30
        while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.2)
            job = api.get(f"/api/v1/reports/exports/{job['id']}").json()
    assert job["status"] == "done", job
    rows = csv_rows(api.get(job["download_url"]).content)
    assert ["Conversations resolved", "2", "0", ""] in section(rows, "Summary")
