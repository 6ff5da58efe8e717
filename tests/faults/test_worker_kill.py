"""The Celery worker is killed -9 in the middle of a report update: once a worker runs again,
the reports hold exactly the numbers a rebuild from the event log gives."""

import re
import time

import psycopg
import pytest

from tests.faults.conftest import call, eventually
from tests.servers import manage

pytestmark = pytest.mark.faults


def report_lag(stack) -> int:
    """Events the incremental report update has not read yet."""
    with psycopg.connect(stack.postgres.url("helpdesk")) as connection:
        (lag,) = connection.execute(
            "SELECT coalesce((SELECT max(cursor) FROM conversations_conversationevent), 0)"
            " - coalesce((SELECT cursor FROM reports_reportcursor WHERE id = 1), 0)"
        ).fetchone()
    return lag


def summary(stack) -> dict:
    period = "since=2020-01-01T00:00:00Z&until=2100-01-01T00:00:00Z"  # the same both times
    answer = call(
        stack.url("a"), "GET", f"/api/v1/reports/summary?{period}",
        token=stack.agent_token, auth="Token",
    )  # fmt: skip
    assert answer.status == 200, answer
    live = {"computed_at", "waiting_now"}  # the clock's, not the log's (waits grow by the second)
    return {key: value for key, value in answer.body.items() if key not in live}


def make_backlog(stack, conversations: int) -> None:
    """Conversations answered by the agent, half of them resolved: every metric has data."""
    base, agent = stack.url("a"), {"token": stack.agent_token, "auth": "Token"}
    for n in range(conversations):
        token = stack.new_customer("a", f"Backlog {n}")
        created = call(base, "POST", "/api/v1/widget/conversations",
                       {"body": "help", "client_id": f"w-{n}"}, token=token)  # fmt: skip
        assert created.status == 201, created
        path = f"/api/v1/conversations/{created.body['id']}"
        reply = call(base, "POST", f"{path}/messages",
                     {"body": "on it", "client_id": f"w-{n}-r"}, **agent)  # fmt: skip
        assert reply.status == 201, reply
        if n % 2:
            resolved = call(base, "PATCH", path, {"status": "resolved"}, **agent)
            assert resolved.status == 200, resolved


def test_a_report_update_killed_midway_leaves_exact_numbers(healthy):
    stack = healthy
    stack.worker.stop()  # the backlog waits in the queue for the next worker
    make_backlog(stack, 40)
    assert report_lag(stack) > 0

    log_before = len(stack.worker.log())
    with psycopg.connect(stack.postgres.url("helpdesk")) as lock:
        lock.execute(
            "INSERT INTO reports_reportcursor (id, cursor, updated_at) VALUES (1, 0, now())"
            " ON CONFLICT (id) DO NOTHING"
        )
        lock.commit()
        # Holding the cursor row makes the update wait inside its transaction: the kill
        # comes mid-run for certain, not by luck of timing.
        lock.execute("SELECT cursor FROM reports_reportcursor WHERE id = 1 FOR UPDATE")
        stack.worker.start()
        eventually(
            lambda: "update_reports[" in stack.worker.log()[log_before:], 60, "an update starting"
        )
        time.sleep(1)
        stack.worker.kill()
        lock.rollback()
    new_lines = stack.worker.log()[log_before:]
    received = re.findall(r"update_reports\[([0-9a-f-]+)\] received", new_lines)
    assert received, new_lines
    assert f"{received[0]}] succeeded" not in new_lines, "the update finished before the kill"

    stack.worker.start()
    eventually(lambda: report_lag(stack) == 0, 90, "reports catching up after the kill")
    incremental = summary(stack)
    manage(stack.env, "rebuild_reports")
    assert summary(stack) == incremental
    assert incremental["conversations"]["created"] >= 40
    assert incremental["first_response_time"]["count"] >= 40
