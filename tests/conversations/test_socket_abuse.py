# ruff: noqa: F811  (test functions take the imported fixtures by name)
"""The websockets under abuse, over a real server socket (uvicorn in a thread, Redis): caps on
open sockets and handshakes, and frames no client should send. The server answers an `error`
event or closes with a documented code (docs/api.md), never crashes, and keeps serving."""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from conversations.live import caps
from tests.conversations.socket_fixtures import (  # noqa: F401 - fixtures, found by name
    agent_path,
    customer_path,
    fresh_channel_layer,
    make_agent,
)
from tests.helpers import limit

pytestmark = [pytest.mark.usefixtures("fresh_rate_limits")]

TIMEOUT = 5
CLOSE_CODES = {4401, 4429, 1009}  # docs/api.md "Websockets"
ERROR_CODES = {"bad_request", "not_found", "rate_limited", "too_large", "too_many_sockets"}


@contextmanager
def opened(base_url: str, path: str):
    url = base_url.replace("http://", "ws://", 1) + path
    with connect(url, origin=base_url, open_timeout=TIMEOUT, close_timeout=TIMEOUT) as ws:
        yield ws


def frames_until_pong(ws: ClientConnection) -> list[dict]:
    """Pings and reads up to the pong; pings again after a quiet second (a rate-limited ping
    is answered with an error, and the bucket refills meanwhile)."""
    ws.send(json.dumps({"type": "ping"}))
    frames = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            frame = json.loads(ws.recv(timeout=1))
        except TimeoutError:
            ws.send(json.dumps({"type": "ping"}))
            continue
        if frame["type"] == "pong":
            return frames
        frames.append(frame)
    raise AssertionError(f"no pong within 30 s; got {frames[-3:]}")


def assert_alive(ws: ClientConnection) -> None:
    ws.send(json.dumps({"type": "ping"}))
    assert json.loads(ws.recv(timeout=TIMEOUT)) == {"type": "pong"}


def refusal(base_url: str, path: str) -> tuple[dict, int]:
    """The error event and close code of a socket the server refuses."""
    with opened(base_url, path) as ws:
        error = json.loads(ws.recv(timeout=TIMEOUT))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=TIMEOUT)
    return error, closed.value.rcvd.code


# --- Caps on open sockets and handshakes -------------------------------------------------------


def test_a_customer_holds_at_most_the_cap_of_open_sockets(settings, live_server_url, make_customer):
    settings.HELPDESK_WS_MAX_PER_CUSTOMER = 3
    customer, other = make_customer(), make_customer()
    with ExitStack() as stack:
        sockets = [stack.enter_context(opened(live_server_url, customer_path(customer)))]
        sockets += [stack.enter_context(opened(live_server_url, customer_path(customer)))]
        third = stack.enter_context(opened(live_server_url, customer_path(customer)))
        for ws in [*sockets, third]:
            assert_alive(ws)

        error, code = refusal(live_server_url, customer_path(customer))
        assert (error["type"], error["code"], code) == ("error", "too_many_sockets", 4429)
        with opened(live_server_url, customer_path(other)) as ws:  # others have their own
            assert_alive(ws)

        third.close()
        assert wait_until(lambda: caps.slots_held(f"customer-{customer.pk}", 3) == 2)
        with opened(live_server_url, customer_path(customer)) as ws:  # a slot came back
            assert_alive(ws)


def test_concurrent_handshakes_never_exceed_the_cap(settings, live_server_url, make_customer):
    settings.HELPDESK_WS_MAX_PER_CUSTOMER = 4
    customer = make_customer()
    url = live_server_url.replace("http://", "ws://", 1) + customer_path(customer)
    lock = threading.Lock()

    def try_open(_: int) -> str:
        socket = connect(url, origin=live_server_url, open_timeout=TIMEOUT)
        with lock:
            ws = stack.enter_context(socket)
        try:
            ws.send(json.dumps({"type": "ping"}))
        except ConnectionClosed:
            pass  # refused already; its error frame is still there to read
        return json.loads(ws.recv(timeout=TIMEOUT)).get("code", "pong")

    with ExitStack() as stack, ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(try_open, range(20)))
    assert answers.count("pong") == 4
    assert answers.count("too_many_sockets") == 16


def test_a_staff_user_holds_at_most_the_agent_cap(settings, live_server_url, make_agent):
    settings.HELPDESK_WS_MAX_PER_AGENT = 1
    agent = make_agent()
    with opened(live_server_url, agent_path(agent)) as ws:
        assert_alive(ws)
        error, code = refusal(live_server_url, agent_path(agent))
        assert (error["code"], code) == ("too_many_sockets", 4429)


def test_slots_of_a_dead_process_expire_and_live_sockets_keep_theirs(
    settings, live_server_url, make_customer, monkeypatch
):
    settings.HELPDESK_WS_MAX_PER_CUSTOMER = 2
    monkeypatch.setattr(caps, "SLOT_TTL_SECONDS", 2)
    monkeypatch.setattr(caps, "REFRESH_SECONDS", 0.5)
    customer = make_customer()
    owner = f"customer-{customer.pk}"
    assert caps.claim_slot(owner, "a-socket-of-a-process-that-died", 2) == 0
    with opened(live_server_url, customer_path(customer)) as ws:
        assert_alive(ws)  # the second slot
        error, _code = refusal(live_server_url, customer_path(customer))
        assert error["code"] == "too_many_sockets"

        time.sleep(3)  # the dead socket's slot expires; the live one is refreshed
        assert caps.slots_held(owner, 2) == 1
        with opened(live_server_url, customer_path(customer)) as again:
            assert_alive(again)
            error, _code = refusal(live_server_url, customer_path(customer))
            assert error["code"] == "too_many_sockets"


def test_handshakes_are_rate_limited_per_address_before_the_token_is_read(
    settings, live_server_url, make_customer
):
    limit(settings, socket_connect="3/min")
    customer = make_customer()
    for _ in range(2):
        with opened(live_server_url, customer_path(customer)) as ws:
            assert_alive(ws)
    with opened(live_server_url, "/ws/customer/?token=guessed") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=TIMEOUT)
        assert closed.value.rcvd.code == 4401  # the third handshake, a guess: counted
    error, code = refusal(live_server_url, customer_path(customer))
    assert (error["code"], code) == ("rate_limited", 4429)


def wait_until(condition, timeout: float = TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


# --- Frames no client should send ------------------------------------------------------------

CONVERSATION_IDS = ["1", 0, -1, 1.5, 2**63, 10**30, None, True, [], {}]
BAD_FRAMES = [
    b"\x00\x01binary",
    "",
    "{",
    "not json",
    "null",
    "[]",
    "42",
    '"resume"',
    "true",
    "1" * 5000,  # an int Python refuses to convert
    "[" * 50_000,  # nesting beyond the parser's recursion limit
    '{"type": 1}',
    '{"type": null}',
    '{"type": ["resume"]}',
    '{"type": {"type": "ping"}}',
    '{"type": "delete_everything"}',
    '{"type": "__init__"}',
    *(
        json.dumps({"type": "resume", "after": after})
        for after in ["5", 1.5, -1, 2**63, 10**100, True, [], {"a": 1}]
    ),
    '{"type": "resume", "after": NaN}',
    '{"type": "resume", "after": 1e400}',
    *(
        json.dumps({"type": "typing", "conversation": c, "is_typing": True})
        for c in CONVERSATION_IDS
    ),
    '{"type": "typing", "conversation": 1, "is_typing": "yes"}',
    '{"type": "typing", "conversation": 999999999, "is_typing": true}',
    '{"type": "subscribe", "conversation": 1}',  # an agent's message on a customer socket
]


@pytest.mark.parametrize("frame", BAD_FRAMES, ids=[f"frame{n}" for n in range(len(BAD_FRAMES))])
def test_a_bad_frame_answers_an_error_and_the_socket_serves_on(
    live_server_url, make_customer, frame
):
    customer = make_customer()
    with opened(live_server_url, customer_path(customer)) as ws:
        ws.send(frame)
        error = json.loads(ws.recv(timeout=TIMEOUT))
        assert error["type"] == "error"
        assert error["code"] in ERROR_CODES
        assert isinstance(error["message"], str) and error["message"]
        assert_alive(ws)


def test_a_text_frame_over_the_message_limit_closes_with_1009(live_server_url, make_customer):
    with opened(live_server_url, customer_path(make_customer())) as ws:
        ws.send("x" * (64 * 1024 + 1))
        assert json.loads(ws.recv(timeout=TIMEOUT))["code"] == "too_large"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=TIMEOUT)
    assert closed.value.rcvd.code == 1009


@pytest.mark.parametrize("kind", ["ping", "typing"])
def test_a_flood_is_slowed_down_and_the_server_serves_everyone_else(
    live_server_url, make_customer, start_conversation, kind
):
    flooder, bystander = make_customer(), make_customer()
    conversation = start_conversation(flooder)
    frame = {"type": kind}
    if kind == "typing":
        frame |= {"conversation": conversation.pk, "is_typing": True}
    with (
        opened(live_server_url, customer_path(flooder)) as ws,
        opened(live_server_url, customer_path(bystander)) as other,
    ):
        for _ in range(500):
            ws.send(json.dumps(frame))
        assert_alive(other)  # answered while the flood is being worked through
        if kind == "ping":  # every ping is answered: a pong or an error
            answers = [json.loads(ws.recv(timeout=TIMEOUT)) for _ in range(500)]
        else:  # a typing event goes to the agents, silently; only refusals come back
            answers = frames_until_pong(ws)
        limited = [answer for answer in answers if answer.get("code") == "rate_limited"]
        assert len(limited) >= 400  # a burst of 30, then 10 a second
        assert {answer["type"] for answer in answers} <= {"pong", "error"}
        time.sleep(0.5)
        assert_alive(ws)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["resume", "typing", "ping", "subscribe"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["type", "after", "conversation", "is_typing", "private", "x"]),
            children,
            max_size=5,
        )
    ),
    max_leaves=12,
)


@hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=JSON)
def test_any_json_gets_an_answer_and_never_breaks_the_socket(
    live_server_url, make_customer, payload
):
    customer = make_customer()
    with opened(live_server_url, customer_path(customer)) as ws:
        ws.send(json.dumps(payload))
        for frame in frames_until_pong(ws):
            assert frame["type"] in {"error", "resumed", "presence", "typing"}, frame
            if frame["type"] == "error":
                assert frame["code"] in ERROR_CODES
        assert_alive(ws)


def test_no_slot_is_left_behind(live_server_url, make_customer):
    customer = make_customer()
    for _ in range(3):
        with opened(live_server_url, customer_path(customer)) as ws:
            assert_alive(ws)
    owner = f"customer-{customer.pk}"
    assert wait_until(lambda: caps.slots_held(owner, 10) == 0)
