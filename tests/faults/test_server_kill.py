"""A server process is killed -9 under load: its clients reconnect to the other one and
resume from their cursor, and every event reaches them exactly once, in order."""

import threading
import time

import psycopg
import pytest

from tests.faults.clients import ResumingClient
from tests.faults.conftest import call

pytestmark = pytest.mark.faults


def logged_cursors(stack, after: int) -> list[int]:
    with psycopg.connect(stack.postgres.url("helpdesk")) as connection:
        rows = connection.execute(
            "SELECT cursor FROM conversations_conversationevent WHERE cursor > %s ORDER BY cursor",
            [after],
        ).fetchall()
    return [cursor for (cursor,) in rows]


def test_clients_of_a_killed_server_resume_on_the_other_exactly_once(healthy):
    stack = healthy
    agent = ResumingClient(
        [stack.ws_url(server, f"/ws/agent/?token={stack.agent_token}") for server in ("a", "b")]
    ).start()
    baseline = agent.cursor
    customers = [stack.new_customer("b", f"Load {n}") for n in range(4)]
    stop = threading.Event()
    written: list[int] = []

    def write(token: str, n: int) -> None:
        created = call(stack.url("b"), "POST", "/api/v1/widget/conversations",
                       {"body": "hello", "client_id": f"k-{n}"}, token=token)  # fmt: skip
        assert created.status == 201, created
        for i in range(10_000):
            if stop.is_set():
                return
            path = f"/api/v1/widget/conversations/{created.body['id']}/messages"
            answer = call(stack.url("b"), "POST", path,
                          {"body": f"m{i}", "client_id": f"k-{n}-{i}"}, token=token)  # fmt: skip
            assert answer.status == 201, answer
            written.append(answer.body["id"])
            time.sleep(0.05)

    writers = [threading.Thread(target=write, args=(t, n)) for n, t in enumerate(customers)]
    for writer in writers:
        writer.start()
    time.sleep(2)
    stack.servers["a"].kill()  # mid-stream: the agent's socket is on it
    time.sleep(3)
    stop.set()
    for writer in writers:
        writer.join(30)
    expected = logged_cursors(stack, baseline)

    deadline = time.monotonic() + 20
    while agent.cursors()[-1:] != expected[-1:] and time.monotonic() < deadline:
        time.sleep(0.2)
    agent.stop()
    assert len(written) > 20, "the load never ran"
    assert agent.closes, "the socket never dropped: the test killed the wrong server"
    assert agent.cursors() == expected  # every event once, in order, none lost
