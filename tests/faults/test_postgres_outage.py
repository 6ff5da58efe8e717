"""PostgreSQL stops and starts again: every request meanwhile answers 503 in the error shape
with Retry-After (never an HTML 500, never a long hang), sockets are closed with 1013 (the client's cue to
retry), and both servers, with and without a pool, recover within
seconds of the database's return."""

import time

import pytest

from tests.faults.clients import ResumingClient, wait_for_close
from tests.faults.conftest import call, eventually

pytestmark = pytest.mark.faults

RECOVERY_SECONDS = 5


@pytest.mark.parametrize("server", ["a", "b"], ids=["no-pool", "pool"])
def test_a_database_outage_answers_503_and_recovers(healthy, server):
    stack = healthy
    base = stack.url(server)
    customer = stack.new_customer(server)
    socket = ResumingClient([stack.ws_url(server, f"/ws/customer/?token={customer}")]).start()

    stack.postgres.stop()
    for method, path, body in [
        ("POST", "/api/v1/widget/sessions", {"name": "During"}),
        ("GET", "/api/v1/widget/conversations", None),
        ("POST", "/api/v1/widget/conversations", {"body": "x", "client_id": "p-1"}),
    ]:
        started = time.monotonic()
        answer = call(base, method, path, body, token=customer)
        assert answer.status == 503, (path, answer)
        assert answer.body["error"]["code"] == "unavailable", answer.body
        assert int(answer.headers["retry-after"]) > 0
        assert time.monotonic() - started < 5, f"{path} hung on the dead database"
    # A new socket cannot authenticate: "try again later". An open one needs no database
    # until it has something to send, so it may stay open; if it is closed, then with 1013.
    assert wait_for_close(stack.ws_url(server, f"/ws/customer/?token={customer}")) == 1013
    assert set(socket.closes) <= {1013}, socket.closes

    stack.postgres.start()
    back = time.monotonic()
    eventually(
        lambda: call(base, "GET", "/api/v1/widget/conversations", token=customer).status == 200,
        RECOVERY_SECONDS,
        "requests succeeding again",
    )
    recovered_in = time.monotonic() - back
    created = call(
        base,
        "POST",
        "/api/v1/widget/conversations",
        {"body": "after the outage", "client_id": "p-2"},
        token=customer,
    )
    assert created.status == 201, created
    # The client's socket came back by itself and hears the new conversation.
    eventually(
        lambda: any(e["type"] == "message.created" for e in socket.events),
        15,
        "the socket reconnected and live again",
    )
    socket.stop()
    print(f"server {server}: requests succeeded again {recovered_in:.1f} s after PostgreSQL")
