"""Redis stops and starts again: writes go on with their right status, live push resumes,
and the Celery worker survives by itself and goes on consuming."""

import time

import pytest

from tests.faults.clients import ResumingClient, wait_for_close
from tests.faults.conftest import call, eventually

pytestmark = pytest.mark.faults


def created_in_reports(stack, server: str) -> int:
    summary = call(
        stack.url(server), "GET", "/api/v1/reports/summary", token=stack.agent_token, auth="Token"
    )
    assert summary.status == 200, summary
    return summary.body["conversations"]["created"]


def test_a_redis_outage_loses_no_write_and_everything_recovers(healthy):
    stack = healthy
    customer = stack.new_customer("a")
    first = call(
        stack.url("a"),
        "POST",
        "/api/v1/widget/conversations",
        {"body": "before the outage", "client_id": "r-1"},
        token=customer,
    )
    assert first.status == 201, first
    conversation = first.body["id"]
    agent = ResumingClient([stack.ws_url("b", f"/ws/agent/?token={stack.agent_token}")]).start()
    worker_pid = stack.worker.pid
    created_before = eventually(lambda: created_in_reports(stack, "a"), 30, "reports counting")

    stack.redis.stop()
    a = stack.url("a")
    assert call(a, "POST", "/api/v1/widget/sessions", {"name": "During"}).status == 201
    assert call(a, "GET", "/api/v1/widget/availability").status == 200
    during = call(
        a,
        "POST",
        f"/api/v1/widget/conversations/{conversation}/messages",
        {"body": "during the outage", "client_id": "r-2"},
        token=customer,
    )
    assert during.status == 201, during
    started = time.monotonic()
    second = call(
        a,
        "POST",
        "/api/v1/widget/conversations",
        {"body": "a new one during the outage", "client_id": "r-3"},
        token=customer,
    )
    assert second.status == 201, second
    assert time.monotonic() - started < 2, "a write waited on the dead Redis"
    reply = call(
        stack.url("b"),
        "POST",
        f"/api/v1/conversations/{conversation}/messages",
        {"body": "agent reply during the outage", "client_id": "r-a1"},
        token=stack.agent_token,
        auth="Token",
    )
    assert reply.status == 201, reply
    listed = call(a, "GET", f"/api/v1/widget/conversations/{conversation}/messages", token=customer)
    assert [m["body"] for m in listed.body["results"]][-2:] == [
        "during the outage",
        "agent reply during the outage",
    ]
    # A new socket is told to come back later, in a code the client retries on.
    assert wait_for_close(stack.ws_url("a", f"/ws/customer/?token={customer}")) == 1013

    stack.redis.start()
    after = call(
        a,
        "POST",
        f"/api/v1/widget/conversations/{conversation}/messages",
        {"body": "after the outage", "client_id": "r-4"},
        token=customer,
    )
    assert after.status == 201

    def agent_saw_everything() -> bool:
        bodies = [e["data"].get("body") for e in agent.events if e["type"] == "message.created"]
        return {"during the outage", "agent reply during the outage", "after the outage"} <= set(
            bodies
        )

    try:
        eventually(agent_saw_everything, 20, "live push resuming on the agent's open socket")
    finally:
        print(
            "agent events:",
            [(e["type"], e["cursor"], e["data"].get("body")) for e in agent.events],
            agent.closes,
        )
    assert len(agent.cursors()) == len(set(agent.cursors())) and agent.cursors() == sorted(
        agent.cursors()
    )
    agent.stop()
    # The worker lived through it and consumes again: reports count the outage's conversation.
    assert stack.worker.alive() and stack.worker.pid == worker_pid, stack.worker.log()[-3000:]
    eventually(
        lambda: created_in_reports(stack, "a") >= created_before + 1, 40, "reports catching up"
    )
    assert "Unrecoverable error" not in stack.worker.log()
