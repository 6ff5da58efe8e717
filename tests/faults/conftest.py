"""The fault suite's stack: a PostgreSQL cluster and a Redis of its own, two ASGI servers
(one without a connection pool, one with), a Celery worker and beat, all real processes that
the tests stop, kill -9 and start again. Nothing here touches the suite's own database.

Each test leaves the stack as it found it (every process up); `stack.heal()` restarts
whatever a test killed.
"""

import json
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.servers import (
    PostgresCluster,
    Process,
    RedisServer,
    asgi_server,
    celery_beat,
    celery_worker,
    free_port,
    helpdesk_env,
    manage,
    port_answers,
    wait_until,
)

ORIGIN = "http://127.0.0.1"
RATE_SCOPES = (
    "WIDGET_SESSIONS", "WIDGET_AVAILABILITY", "WIDGET_CONVERSATIONS", "WIDGET_MESSAGES",
    "INBOUND_EMAIL", "AGENT", "SOCKET_CONNECT",
)  # fmt: skip
# Sweeps run often here so a lost enqueue is repaired within a test's patience.
SWEEP_SECONDS = "3"


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


def call(
    base: str, method: str, path: str, body: Any = None, *, token: str = "", auth: str = "Bearer"
) -> Answer:
    """One HTTP request; any status is an answer (a refused connection raises)."""
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept-Language": "en"}
        | ({"Authorization": f"{auth} {token}"} if token else {}),
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw, headers = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        status, raw, headers = error.code, error.read(), dict(error.headers)
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Answer(status, parsed, {name.lower(): value for name, value in headers.items()})


@dataclass
class Stack:
    directory: Path
    postgres: PostgresCluster
    redis: RedisServer
    env: dict[str, str]
    servers: dict[str, Process] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    worker: Process | None = None
    beat: Process | None = None
    agent_token: str = ""

    def url(self, server: str) -> str:
        return f"http://127.0.0.1:{self.ports[server]}"

    def ws_url(self, server: str, path: str) -> str:
        return f"ws://127.0.0.1:{self.ports[server]}{path}"

    def start_server(self, name: str) -> None:
        self.servers[name].start()
        port = self.ports[name]
        wait_until(lambda: port_answers("127.0.0.1", port), 30, f"server {name} starting")

    def start_postgres(self) -> None:
        self.postgres.start()

    def start_redis(self) -> None:
        self.redis.start()

    def heal(self) -> None:
        """Whatever a test stopped, started again."""
        if not port_answers("127.0.0.1", self.postgres.port):
            self.postgres.start()
        if not port_answers("127.0.0.1", self.redis.port):
            self.redis.start()
        for name, process in self.servers.items():
            if not process.alive():
                self.start_server(name)
        for process in (self.worker, self.beat):
            if process and not process.alive():
                process.start()

    def new_customer(self, server: str = "a", name: str = "Fault customer") -> str:
        answer = call(self.url(server), "POST", "/api/v1/widget/sessions", {"name": name})
        assert answer.status == 201, answer
        return answer.body["customer_token"]

    def wait_for_http(self, server: str, timeout: float = 30) -> None:
        def answers() -> bool:
            try:
                return call(self.url(server), "GET", "/api/v1/widget/availability").status == 200
            except OSError:
                return False

        wait_until(answers, timeout, f"server {server} answering")


@pytest.fixture(scope="session")
def stack() -> Any:
    directory = Path(tempfile.mkdtemp(prefix="helpdesk-faults-"))
    directory.chmod(0o755)  # as root, PostgreSQL runs as another user, who must reach its data
    postgres = PostgresCluster(directory / "postgres").init().start()
    redis = RedisServer(directory).start()
    database_url = postgres.create_database("helpdesk")
    env = helpdesk_env(
        database_url,
        redis.url(),
        EMAIL_FILE_PATH=str(directory / "mail"),
        HELPDESK_EMAIL_DELAY_SECONDS="0",
        HELPDESK_DRAIN_QUEUES_SECONDS=SWEEP_SECONDS,
        HELPDESK_SWEEP_SECONDS=SWEEP_SECONDS,
        # The load here comes from one address; rate limits are tested elsewhere.
        **{f"HELPDESK_RATE_{scope}": "100000/min" for scope in RATE_SCOPES},
    )
    stack = Stack(directory, postgres, redis, env)
    try:
        manage(env, "migrate", "--verbosity", "0")
        stack.agent_token = manage(
            env, "create_agent", "admin@faults.example", "--admin", "--name", "Fault Admin"
        ).split()[-1]
        # Server "a" opens a connection per request; "b" keeps a pool.
        for name, extra in (("a", {}), ("b", {"DB_POOL_SIZE": "4"})):
            stack.ports[name] = free_port()
            stack.servers[name] = asgi_server(
                f"server-{name}", stack.ports[name], env | extra, directory
            )
            stack.start_server(name)
        stack.worker = celery_worker(env, directory).start()
        stack.beat = celery_beat(env, directory).start()
        for name in stack.servers:
            stack.wait_for_http(name)
        yield stack
    finally:
        for process in [*stack.servers.values(), stack.worker, stack.beat]:
            if process:
                process.stop(timeout=5)
        redis.stop()
        postgres.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def healthy(stack: Stack) -> Any:
    """The stack with every part up, before and after the test."""
    stack.heal()
    yield stack
    for process in [*stack.servers.values(), stack.worker, stack.beat]:
        # Shown only when the test fails (pytest keeps a passing test's output to itself).
        print(f"----- {process.name} (last lines) -----\n{process.log()[-6000:]}")
    stack.heal()
    for name in stack.servers:
        stack.wait_for_http(name)


def eventually(check: Any, timeout: float, what: str) -> Any:
    """`check()` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {value!r})")
        time.sleep(0.2)
