"""Soak: the helpdesk under a realistic mix for a long while, with failures injected.

    .venv/bin/python bench/soak.py                  # 30 minutes
    .venv/bin/python bench/soak.py --minutes 3      # a quick check

It starts a Redis of its own (tests/servers.py), recreates a PostgreSQL database, seeds
--agents agents in --teams teams, and starts two ASGI processes (a and b), a Celery worker
and beat. Clients reach either ASGI process, as behind a load balancer: a request that
finds its server gone is retried on the other one (the same client_id, so nothing doubles).

For --minutes, then:

- customers arrive (about --customers at a time), open a session, a customer socket and a
  conversation, post a message every --message-seconds on average, step away now and then
  (socket closed; back with their token and their last cursor) and leave; some come back
  later to the same conversation or a new one;
- agents hold the agent socket, answer each customer message of their team's conversations
  through the API and resolve a conversation after a few replies;
- a manager reads the reports every --report-seconds;
- every --storm-minutes a reconnect storm, alternately every socket of server a dropped at
  once (and reconnected) and server b killed -9 and restarted;
- in the middle, Redis is stopped for --outage-seconds and started again.

At the end every customer comes back once, and what each socket received is compared with
what the event log in PostgreSQL says it may see after its first cursor: the customer the
public events of their conversations, an agent the events of their team's conversations,
their assignments and the team-less inbox (docs/architecture.md, "Live delivery").

Printed: a line a minute (deliveries of customer messages to agents and of replies to
customers, POST sent → event on the socket: p50/p95/p99), delivered / expected events
(exactly once, in cursor order), memory of each process after the warm-up and at the end,
and errors by kind with 5xx split inside and outside the outage (Redis down, and --grace
seconds after). The exit status is 1 if an expected event was not delivered exactly once
(or a client got one it may not see), a process grew by 10 % or more, a 5xx answered
outside the outage, a process exited on its own (the soak starts it again), or the reports
did not catch up with the log within 90 s of the end (the worker and beat outlived it all).
Each process's log is kept in the directory printed first. Not part of the test run.
"""

import argparse
import asyncio
import contextlib
import math
import os
import random
import re
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import psutil
import psycopg
import uvloop
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from common import percentile, raise_file_limit, recreate_database, step  # noqa: E402

from tests.servers import (  # noqa: E402
    Process,
    RedisServer,
    asgi_server,
    celery_beat,
    celery_worker,
    free_port,
    helpdesk_env,
    port_answers,
    wait_until,
)

PING_SECONDS = 25  # clients ping at least every 30 s (presence; a poll of the log)
MAX_GROWTH = 0.10


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--customers", type=int, default=30, help="customers present at a time")
    parser.add_argument("--agents", type=int, default=6)
    parser.add_argument("--teams", type=int, default=2)
    parser.add_argument(
        "--message-seconds", type=float, default=10, help="mean time between a customer's messages"
    )
    parser.add_argument("--visit-minutes", type=float, default=2, help="mean time a customer stays")
    parser.add_argument(
        "--away-chance", type=float, default=0.08, help="chance a customer steps away per message"
    )
    parser.add_argument(
        "--return-chance", type=float, default=0.3, help="chance an arrival is a returning one"
    )
    parser.add_argument("--report-seconds", type=float, default=30)
    parser.add_argument(
        "--storm-minutes",
        type=float,
        default=4,
        help="between reconnect storms (at most a quarter of the run)",
    )
    parser.add_argument(
        "--outage-seconds", type=float, default=15, help="Redis down this long (0: no outage)"
    )
    parser.add_argument(
        "--pool", type=int, default=10, help="PostgreSQL connections per ASGI process"
    )
    parser.add_argument(
        "--grace", type=float, default=15, help="seconds after Redis is back still in the outage"
    )
    parser.add_argument(
        "--warmup", type=float, default=None, help="seconds before the memory baseline"
    )
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/helpdesk_soak")
    return parser.parse_args()


# --- Time, errors, the load balancer -----------------------------------------------------------


class Clock:
    """Seconds since the load began; minute numbers for the table."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.started

    def minute(self) -> int:
        return int(self.now() // 60)


class Errors:
    """Every error the clients met, by kind; 5xx inside and outside the injected outage."""

    def __init__(self, clock: Clock, grace: float) -> None:
        self.clock, self.grace = clock, grace
        self.kinds: Counter[str] = Counter()
        self.server_errors = {"inside": Counter[str](), "outside": Counter[str]()}
        self.by_minute: Counter[int] = Counter()
        self.server_errors_by_minute: Counter[int] = Counter()
        self.outages: list[list[float]] = []  # [start, end]; end is inf while Redis is down

    def outage_begins(self) -> None:
        self.outages.append([self.clock.now(), math.inf])

    def outage_ends(self) -> None:
        self.outages[-1][1] = self.clock.now() + self.grace

    def in_outage(self) -> bool:
        now = self.clock.now()
        return any(start <= now <= end for start, end in self.outages)

    def record(self, kind: str, *, server_error: bool = False) -> None:
        self.kinds[kind] += 1
        self.by_minute[self.clock.minute()] += 1
        if server_error:
            self.server_errors_by_minute[self.clock.minute()] += 1
            self.server_errors["inside" if self.in_outage() else "outside"][kind] += 1


def path_shape(path: str) -> str:
    """/api/v1/conversations/12/messages → /api/v1/conversations/{id}/messages"""
    return re.sub(r"/\d+", "/{id}", path.split("?")[0])


class Balancer:
    """Picks an ASGI server as a load balancer would: any that is up, the other on a retry."""

    def __init__(self, ports: dict[str, int]) -> None:
        self.ports = ports
        self.down: set[str] = set()

    def pick(self, avoid: str | None = None) -> tuple[str, int]:
        up = [name for name in self.ports if name not in self.down] or list(self.ports)
        choices = [name for name in up if name != avoid] or up
        name = random.choice(choices)
        return name, self.ports[name]


class Api:
    """HTTP calls with a client's patience: a gone server is retried on the other, a 5xx or
    a 429 after a back-off, until `patience` seconds have passed."""

    def __init__(self, balancer: Balancer, errors: Errors) -> None:
        self.balancer, self.errors = balancer, errors
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100),
            timeout=aiohttp.ClientTimeout(total=30),
            headers={"Content-Type": "application/json"},
        )
        self.calls = 0

    async def call(
        self,
        method: str,
        path: str,
        auth: str | None = None,
        body: dict[str, Any] | None = None,
        patience: float = 90,
    ) -> tuple[int, Any]:
        """(status, decoded body); status 0 when no server answered in time."""
        deadline, delay, avoid = time.monotonic() + patience, 0.5, None
        headers = {"Authorization": auth} if auth else {}
        data = orjson.dumps(body) if body is not None else None
        shape = f"{method} {path_shape(path)}"
        while True:
            name, port = self.balancer.pick(avoid)
            self.calls += 1
            try:
                async with self.session.request(
                    method, f"http://127.0.0.1:{port}{path}", data=data, headers=headers
                ) as response:
                    status, raw = response.status, await response.read()
            except (aiohttp.ClientError, TimeoutError) as error:
                self.errors.record(f"{type(error).__name__} {shape}")
                if time.monotonic() > deadline:
                    return 0, None
                avoid = name
                await asyncio.sleep(0.2)
                continue
            if status >= 500 or status == 429:
                self.errors.record(f"HTTP {status} {shape}", server_error=status >= 500)
                if time.monotonic() > deadline:
                    return status, None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 8)
                continue
            if status >= 400:
                self.errors.record(f"HTTP {status} {shape}")
            with contextlib.suppress(ValueError):
                return status, orjson.loads(raw) if raw else None
            return status, None

    async def close(self) -> None:
        await self.session.close()


# --- Sockets -------------------------------------------------------------------------------


class Listener:
    """One client's socket, held open across drops: it resumes after the highest cursor it
    received and records every logged event that reached it, in arrival order."""

    def __init__(self, soak: "Soak", kind: str, path: str) -> None:
        self.soak, self.kind, self.path = soak, kind, path
        self.first_cursor: int | None = None
        self.cursor = 0
        self.received: list[int] = []
        self.out_of_order = 0  # cursors at or below one already received
        self.server: str | None = None
        self.socket: Any = None
        self.opened_at = math.inf  # the current connection's, for live latency only
        self.resumed = asyncio.Event()
        self.failures = 0  # attempts in a row that did not get as far as `resumed`
        self.wanted = False
        self.closing = False  # a close of our own (stepping away, a storm): not an error
        self.task: asyncio.Task[None] | None = None
        self.on_event: Callable[[dict[str, Any]], None] | None = None

    def start(self) -> None:
        self.wanted = True
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        self.wanted = False
        await self.drop()
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def drop(self) -> None:
        """Close the socket; run() reconnects if the client still wants it."""
        if self.socket is not None:
            self.closing = True
            await self.socket.close()

    async def run(self) -> None:
        errors = self.soak.errors
        while self.wanted:
            name, port = self.soak.balancer.pick()
            self.closing = False
            try:
                async with websockets.connect(
                    f"ws://127.0.0.1:{port}{self.path}",
                    open_timeout=15,
                    ping_interval=20,
                    ping_timeout=20,
                    max_queue=None,
                ) as socket:
                    if not self.wanted:  # stopped while connecting
                        break
                    self.socket, self.server, self.opened_at = socket, name, time.perf_counter()
                    after = None if self.first_cursor is None else self.cursor
                    await socket.send(orjson.dumps({"type": "resume", "after": after}).decode())
                    pinger = asyncio.create_task(self.ping(socket))
                    try:
                        await self.read(socket)
                    finally:
                        pinger.cancel()
            except websockets.ConnectionClosed as closed:
                if not self.closing:
                    code = closed.rcvd.code if closed.rcvd else 1006
                    errors.record(f"websocket closed {code} ({self.kind})")
                    self.failures += 0 if self.resumed.is_set() else 1  # 1013: try later
            except (OSError, TimeoutError, websockets.InvalidHandshake) as error:
                errors.record(f"websocket refused: {describe(error)} ({self.kind})")
                self.failures += 1
            finally:
                self.socket, self.server, self.opened_at = None, None, math.inf
                self.resumed.clear()
            if self.wanted:  # as a browser would: at once, then backing off while refused
                await asyncio.sleep(random.uniform(0.1, 1.0) + min(8.0, 0.25 * 2**self.failures))

    async def ping(self, socket: Any) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.sleep(PING_SECONDS)
                await socket.send('{"type": "ping"}')

    async def read(self, socket: Any) -> None:
        while True:
            frame = orjson.loads(await socket.recv(decode=False))
            kind, cursor = frame.get("type"), frame.get("cursor")
            if kind == "resumed":
                if self.first_cursor is None:
                    self.first_cursor = cursor
                self.cursor = max(self.cursor, cursor)  # everything visible up to it was sent
                self.resumed.set()
                self.failures = 0
            elif isinstance(cursor, int):
                self.received.append(cursor)
                if cursor <= self.cursor:
                    self.out_of_order += 1
                self.cursor = max(self.cursor, cursor)
                if kind == "message.created":
                    self.soak.message_arrived(self, frame)
                if self.on_event is not None:
                    self.on_event(frame)


def describe(error: Exception) -> str:
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    return f"HTTP {status}" if status else type(error).__name__


# --- The people ------------------------------------------------------------------------------


@dataclass
class Agent:
    user_id: int
    token: str
    team_id: int
    team_name: str
    listener: Listener | None = None
    replies: Counter[int] = field(default_factory=Counter)  # since the last resolve


@dataclass
class Customer:
    number: int
    team_name: str
    token: str | None = None
    listener: Listener | None = None
    conversation: int | None = None


class Soak:
    def __init__(self, args: argparse.Namespace, servers: "Servers", agents: list[Agent]) -> None:
        self.args, self.servers, self.agents = args, servers, agents
        self.clock = Clock()
        self.errors = Errors(self.clock, args.grace)
        self.balancer = Balancer(servers.ports)
        self.api = Api(self.balancer, self.errors)
        self.customers: list[Customer] = []
        self.away: list[Customer] = []  # left; may come back
        self.posted: dict[str, float] = {}  # client_id -> when its POST was sent
        self.posts_by_minute: Counter[int] = Counter()
        self.latency_by_minute: defaultdict[int, list[float]] = defaultdict(list)
        self.notes: defaultdict[int, list[str]] = defaultdict(list)
        self.team_agents: defaultdict[str, list[Agent]] = defaultdict(list)
        for agent in agents:
            self.team_agents[agent.team_name].append(agent)
        self.conversation_team: dict[int, str] = {}
        self.resolve_after: dict[int, int] = {}
        self.running = True
        self.log_end = 0  # the log's last cursor once the load stopped
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def note(self, text: str) -> None:
        self.notes[self.clock.minute()].append(text)
        step(text)

    def listeners(self) -> list[Listener]:
        return [
            each.listener for each in [*self.agents, *self.customers] if each.listener is not None
        ]

    # --- Messages and their latency ---

    async def post_message(self, path: str, auth: str) -> None:
        client_id = str(uuid.uuid4())
        self.posted[client_id] = time.perf_counter()
        self.posts_by_minute[self.clock.minute()] += 1
        await self.api.call("POST", path, auth, {"body": "Soak message", "client_id": client_id})

    def message_arrived(self, listener: Listener, frame: dict[str, Any]) -> None:
        """A customer message on an agent's socket, or a reply on the customer's, while the
        socket was open since before the POST: its latency."""
        data = frame.get("data") or {}
        author = (data.get("author") or {}).get("kind")
        sent = self.posted.get(data.get("client_id", ""))
        other_side = (listener.kind, author) in {("agent", "customer"), ("customer", "agent")}
        if sent is not None and other_side and listener.opened_at <= sent:
            self.latency_by_minute[self.clock.minute()].append((time.perf_counter() - sent) * 1000)

    # --- Customers ---

    async def customers_come_and_go(self) -> None:
        """Keep about --customers visits going."""
        visits: set[asyncio.Task[None]] = set()
        while self.running:
            while len(visits) < self.args.customers:
                returning = self.away and random.random() < self.args.return_chance
                if returning:
                    customer = self.away.pop(random.randrange(len(self.away)))
                else:
                    customer = Customer(
                        len(self.customers), random.choice(sorted(self.team_agents))
                    )
                    self.customers.append(customer)
                visit = self.spawn(self.visit(customer))
                visits.add(visit)
                visit.add_done_callback(visits.discard)
                await asyncio.sleep(random.uniform(0.1, 1.0))  # arrivals spread out
            await asyncio.sleep(1)

    async def visit(self, customer: Customer) -> None:
        await self.api.call("GET", "/api/v1/widget/availability")
        if not await self.open_session(customer):
            return
        auth = f"Bearer {customer.token}"
        if customer.conversation is None or random.random() < 0.25:
            await self.start_conversation(customer, auth)
        leaves_at = time.monotonic() + random.expovariate(1 / (self.args.visit_minutes * 60))
        while self.running and time.monotonic() < leaves_at:
            await asyncio.sleep(random.expovariate(1 / self.args.message_seconds))
            if not self.running:
                break
            if random.random() < self.args.away_chance:
                await self.step_away(customer)
                continue
            if customer.conversation is not None:
                path = f"/api/v1/widget/conversations/{customer.conversation}/messages"
                await self.post_message(path, auth)
        if customer.listener is not None:
            await customer.listener.stop()
        self.away.append(customer)

    async def open_session(self, customer: Customer) -> bool:
        """A new customer's session, or a returning one's with the stored token; then the
        customer socket (resuming after the stored cursor)."""
        body = (
            {"customer_token": customer.token}
            if customer.token
            else {"name": f"Soak customer {customer.number}"}
        )
        status, answer = await self.api.call("POST", "/api/v1/widget/sessions", body=body)
        if status not in (200, 201) or not answer:
            return False
        customer.token = answer["customer_token"]
        if customer.listener is None:
            customer.listener = Listener(self, "customer", f"/ws/customer/?token={customer.token}")
        customer.listener.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(customer.listener.resumed.wait(), 20)
        return True

    async def start_conversation(self, customer: Customer, auth: str) -> None:
        client_id = str(uuid.uuid4())
        self.posted[client_id] = time.perf_counter()
        self.posts_by_minute[self.clock.minute()] += 1
        body = {"body": "Hello, soak", "client_id": client_id, "team": customer.team_name}
        status, answer = await self.api.call("POST", "/api/v1/widget/conversations", auth, body)
        if status in (200, 201) and answer:
            customer.conversation = answer["id"]
            self.conversation_team[answer["id"]] = customer.team_name

    async def step_away(self, customer: Customer) -> None:
        assert customer.listener is not None
        await customer.listener.stop()
        await asyncio.sleep(random.uniform(5, 30))
        if self.running:
            await self.open_session(customer)

    # --- Agents ---

    def start_agents(self) -> None:
        for agent in self.agents:
            agent.listener = Listener(self, "agent", f"/ws/agent/?token={agent.token}")
            agent.listener.on_event = lambda frame, agent=agent: self.agent_heard(agent, frame)
            agent.listener.start()

    def responsible(self, conversation: int) -> Agent | None:
        team = self.conversation_team.get(conversation)
        members = self.team_agents.get(team or "")
        return members[conversation % len(members)] if members else None

    def agent_heard(self, agent: Agent, frame: dict[str, Any]) -> None:
        author = ((frame.get("data") or {}).get("author") or {}).get("kind")
        conversation = frame.get("conversation")
        if (
            self.running
            and frame.get("type") == "message.created"
            and author == "customer"
            and isinstance(conversation, int)
            and self.responsible(conversation) is agent
        ):
            self.spawn(self.answer(agent, conversation))

    async def answer(self, agent: Agent, conversation: int) -> None:
        await asyncio.sleep(random.uniform(0.5, 3))
        auth = f"Token {agent.token}"
        await self.post_message(f"/api/v1/conversations/{conversation}/messages", auth)
        agent.replies[conversation] += 1
        if agent.replies[conversation] >= self.resolve_after.setdefault(
            conversation, random.randint(2, 5)
        ):
            agent.replies[conversation] = 0
            path = f"/api/v1/conversations/{conversation}"
            await self.api.call("PATCH", path, auth, {"status": "resolved"})

    # --- The manager ---

    async def read_reports(self) -> None:
        auth = f"Token {self.agents[0].token}"
        while self.running:
            for path in (
                "/api/v1/reports/summary",
                "/api/v1/reports/agents",
                "/api/v1/conversations?status=open",
            ):
                await self.api.call("GET", path, auth)
            await asyncio.sleep(self.args.report_seconds)

    # --- Disturbances ---

    def disturbances(self, duration: float) -> list[tuple[float, str]]:
        """(seconds into the run, what): the outage in the middle, storms around it (not
        within 30 s before it, nor during it and its grace)."""
        outage_at = duration / 2
        outage_ends = outage_at + self.args.outage_seconds + self.args.grace
        plan = [(outage_at, "outage")] if self.args.outage_seconds else []
        every = min(self.args.storm_minutes * 60, duration / 4)
        kinds = ["drop a", "kill b"]
        at, n = every, 0
        while at < duration - 30:
            if not self.args.outage_seconds or not outage_at - 30 < at < outage_ends:
                plan.append((at, kinds[n % 2]))
                n += 1
            at += every
        return sorted(plan)

    async def disturb(self, duration: float) -> None:
        for at, what in self.disturbances(duration):
            await asyncio.sleep(max(0.0, at - self.clock.now()))
            if what == "outage":
                await self.redis_outage()
            elif what == "drop a":
                await self.drop_storm("a")
            else:
                await self.kill_storm("b")

    async def drop_storm(self, server: str) -> None:
        dropped = [each for each in self.listeners() if each.server == server]
        await asyncio.gather(*(each.drop() for each in dropped))
        self.note(f"storm: {len(dropped)} sockets of server {server} dropped at once")

    async def kill_storm(self, server: str) -> None:
        sockets = sum(1 for each in self.listeners() if each.server == server)
        self.servers.killing.add(f"asgi {server}")
        await asyncio.to_thread(self.servers.asgi[server].kill)
        self.note(f"storm: server {server} killed -9 ({sockets} sockets)")
        await asyncio.sleep(1)  # the balancer's health check notices
        self.balancer.down.add(server)
        await asyncio.sleep(2)
        await asyncio.to_thread(self.servers.restart, server)
        self.servers.killing.discard(f"asgi {server}")
        self.balancer.down.discard(server)
        self.note(f"server {server} restarted")

    async def redis_outage(self) -> None:
        self.errors.outage_begins()
        await asyncio.to_thread(self.servers.redis.stop)
        self.note(f"Redis stopped for {self.args.outage_seconds:g} s")
        await asyncio.sleep(self.args.outage_seconds)
        await asyncio.to_thread(self.servers.redis.start)
        self.errors.outage_ends()
        self.note("Redis started again")

    async def watch_processes(self) -> None:
        """A process that exits on its own (a crash, or a signal from outside the soak) is
        noted, counted against the run and started again."""
        while True:
            await asyncio.sleep(2)
            for name, process in self.servers.processes().items():
                if name in self.servers.killing or process.alive():
                    continue
                code = process.popen.returncode if process.popen else None
                self.servers.exits.append(f"{name} (exit status {code})")
                self.errors.record(f"process exited: {name} (exit status {code})")
                self.note(f"{name} exited on its own (exit status {code}); starting it again")
                await asyncio.to_thread(process.start)
                self.servers.restarts[name] += 1

    # --- Progress ---

    async def print_minutes(self, duration: float) -> None:
        """A line at the end of each minute of the run (the last one may be partial)."""
        print(
            f"{'min':>4} {'posts':>6} {'deliv':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
            f" {'max ms':>8} {'errors':>6} {'5xx':>4} {'sockets':>7} {'MB a/b/wkr':>12}  notes",
            flush=True,
        )
        for minute in range(math.ceil(duration / 60)):
            await asyncio.sleep(max(0.0, min((minute + 1) * 60, duration) - self.clock.now()))
            self.print_minute(minute)

    def print_minute(self, minute: int) -> None:
        latencies = self.latency_by_minute.get(minute, [])
        figures = (
            [percentile(latencies, q) for q in (50, 95, 99)] + [max(latencies)] if latencies else []
        )
        shown = " ".join(f"{value:8.0f}" for value in figures) or f"{'-':>8} " * 3 + f"{'-':>8}"
        fives = self.errors.server_errors_by_minute[minute]
        memory = "/".join(f"{mb:.0f}" for mb in self.servers.memory_mb().values())
        sockets = sum(1 for each in self.listeners() if each.socket is not None)
        print(
            f"{minute + 1:>4} {self.posts_by_minute[minute]:>6} {len(latencies):>6} {shown}"
            f" {self.errors.by_minute[minute]:>6} {fives:>4} {sockets:>7} {memory:>12}  "
            + "; ".join(self.notes.get(minute, [])),
            flush=True,
        )


# --- The processes under test --------------------------------------------------------------------


class Servers:
    """Redis of our own, two ASGI processes, a Celery worker and beat."""

    def __init__(self, env: dict[str, str], directory: Path, redis: RedisServer) -> None:
        self.env, self.directory, self.redis = env, directory, redis
        self.ports = {"a": free_port(), "b": free_port()}
        self.asgi = {
            name: asgi_server(f"asgi-{name}", port, env, directory)
            for name, port in self.ports.items()
        }
        self.worker = celery_worker(env, directory)
        self.beat = celery_beat(env, directory)
        self.restarts: Counter[str] = Counter()
        self.killing: set[str] = set()  # killed on purpose, not yet restarted
        self.exits: list[str] = []  # processes that exited on their own

    def processes(self) -> dict[str, Process]:
        return {
            **{f"asgi {name}": p for name, p in self.asgi.items()},
            "worker": self.worker,
            "beat": self.beat,
        }

    def start(self) -> None:
        for process in [*self.asgi.values(), self.worker, self.beat]:
            process.start()
        for port in self.ports.values():
            wait_until(lambda port=port: port_answers("127.0.0.1", port), 60, "ASGI starting")

    def restart(self, name: str) -> None:
        self.asgi[name].start()
        self.restarts[f"asgi {name}"] += 1
        port = self.ports[name]
        wait_until(lambda: port_answers("127.0.0.1", port), 60, f"server {name} restarting")

    def ensure_up(self) -> None:
        if not port_answers("127.0.0.1", self.redis.port):
            self.redis.start()
        for name, process in self.asgi.items():
            if not process.alive():
                self.restart(name)

    def memory_mb(self) -> dict[str, float]:
        """RSS of each process with its children (the worker's pool)."""
        named = {f"asgi {name}": process for name, process in self.asgi.items()}
        named["worker"] = self.worker
        return {name: rss_mb(process) for name, process in named.items()}

    def stop(self) -> None:
        for process in [self.beat, self.worker, *self.asgi.values()]:
            with contextlib.suppress(Exception):
                process.stop()
        with contextlib.suppress(Exception):
            self.redis.stop()


def rss_mb(process: Process) -> float:
    try:
        root = psutil.Process(process.pid)
        tree = [root, *root.children(recursive=True)]
        return sum(each.memory_info().rss for each in tree) / 2**20
    except psutil.Error:
        return math.nan


# --- Seeding ------------------------------------------------------------------------------------


def seed_agents(args: argparse.Namespace) -> list[Agent]:
    import django

    django.setup()
    from agents.services import agent_api_token, agent_save

    agents = []
    for n in range(args.agents):
        team_name = f"Soak team {n % args.teams}"
        agent, _ = agent_save(
            email=f"soak-agent-{n}@example.com", team_names=[team_name], capacity=1000
        )
        team = agent.teams.get()
        agents.append(Agent(agent.user.pk, agent_api_token(agent), team.pk, team_name))
    return agents


# --- Accounting -------------------------------------------------------------------------------------


CUSTOMER_EVENTS = """
    SELECT e.cursor FROM conversations_conversationevent e
    JOIN conversations_conversation c ON c.id = e.conversation_id
    JOIN conversations_customer u ON u.id = c.customer_id
    WHERE u.token = %s AND e.public AND e.cursor > %s AND e.cursor <= %s
"""
AGENT_EVENTS = """
    SELECT e.cursor FROM conversations_conversationevent e
    JOIN conversations_conversation c ON c.id = e.conversation_id
    WHERE (c.team_id = %s OR c.assignee_id = %s OR c.team_id IS NULL)
      AND e.cursor > %s AND e.cursor <= %s
"""


@dataclass
class Tally:
    expected: int = 0
    delivered: int = 0  # expected and received exactly once
    missing: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    not_visible: int = 0  # received, yet the log says this client may not see it
    never_connected: int = 0


def expected_by_listener(database: str, soak: Soak, end: int) -> list[tuple[Listener, set[int]]]:
    result = []
    with psycopg.connect(database) as connection:
        for agent in soak.agents:
            assert agent.listener is not None
            first = agent.listener.first_cursor or 0
            rows = connection.execute(
                AGENT_EVENTS, [agent.team_id, agent.user_id, first, end]
            ).fetchall()
            result.append((agent.listener, {row[0] for row in rows}))
        for customer in soak.customers:
            if customer.listener is None:
                continue
            first = customer.listener.first_cursor or 0
            rows = connection.execute(CUSTOMER_EVENTS, [customer.token, first, end]).fetchall()
            result.append((customer.listener, {row[0] for row in rows}))
    return result


def log_end(database: str) -> tuple[int, int]:
    """(the highest cursor, events still without one)."""
    with psycopg.connect(database) as connection:
        row = connection.execute(
            "SELECT max(cursor), count(*) FILTER (WHERE cursor IS NULL)"
            " FROM conversations_conversationevent"
        ).fetchone()
    assert row is not None
    return row[0] or 0, row[1]


def reports_behind(database: str, end: int, limit: float = 90) -> tuple[int, float]:
    """How far the reports' cursor stays behind `end` (0: caught up), and after how long:
    the worker and beat survived the run."""
    started = time.monotonic()
    while True:
        with psycopg.connect(database) as connection:
            row = connection.execute("SELECT max(cursor) FROM reports_reportcursor").fetchone()
        behind = end - (row[0] if row and row[0] else 0)
        if behind <= 0 or time.monotonic() - started > limit:
            return max(behind, 0), time.monotonic() - started
        time.sleep(2)


def tally(expectations: list[tuple[Listener, set[int]]], end: int) -> Tally:
    total = Tally()
    for listener, expected in expectations:
        if listener.first_cursor is None:
            total.never_connected += 1
            continue
        received = Counter(c for c in listener.received if listener.first_cursor < c <= end)
        total.expected += len(expected)
        total.delivered += sum(1 for c in expected if received[c] == 1)
        total.missing += sum(1 for c in expected if c not in received)
        total.duplicated += sum(n - 1 for n in received.values())
        total.not_visible += sum(1 for c in received if c not in expected)
        total.out_of_order += listener.out_of_order
    return total


async def everyone_comes_back(soak: Soak, database: str, limit: float = 120) -> tuple[Tally, int]:
    """Stop the load; every customer reconnects with their last cursor; wait until each
    socket has what the log says it may see (or `limit` seconds)."""
    soak.running = False
    for task in list(soak.tasks):
        task.cancel()
    await asyncio.gather(*soak.tasks, return_exceptions=True)
    await asyncio.to_thread(soak.servers.ensure_up)  # a disturbance cut short
    for listener in soak.listeners():
        listener.start()
    started = time.monotonic()
    end, pending = log_end(database)
    while pending and time.monotonic() - started < 30:  # a crash left events unsequenced
        await asyncio.sleep(1)
        end, pending = log_end(database)
    while True:
        expectations = await asyncio.to_thread(expected_by_listener, database, soak, end)
        result = tally(expectations, end)
        if result.delivered == result.expected or time.monotonic() - started > limit:
            step(f"settled in {time.monotonic() - started:.0f} s (log end: cursor {end})")
            soak.log_end = end
            return result, pending
        await asyncio.sleep(2)


# --- The run ------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, servers: Servers, agents: list[Agent]) -> int:
    duration = args.minutes * 60
    warmup = args.warmup if args.warmup is not None else max(30.0, min(120.0, duration / 10))
    soak = Soak(args, servers, agents)
    plan = ", ".join(f"{what} at {at / 60:.1f} min" for at, what in soak.disturbances(duration))
    step(f"load for {args.minutes:g} min; memory baseline after {warmup:g} s; {plan}")
    soak.start_agents()
    soak.spawn(soak.customers_come_and_go())
    soak.spawn(soak.read_reports())
    soak.spawn(soak.disturb(duration))
    watchdog = asyncio.create_task(soak.watch_processes())
    printer = asyncio.create_task(soak.print_minutes(duration))
    await asyncio.sleep(warmup)
    memory_start = servers.memory_mb()
    await printer  # until the end of the run
    # At the end of the load, as at its start: the check that follows opens every customer's
    # socket at once (ten times the load's), which is a peak, not growth.
    memory_end = servers.memory_mb()
    step("load stopped; every customer comes back")
    result, unsequenced = await everyone_comes_back(soak, args.database)
    watchdog.cancel()
    behind = await asyncio.to_thread(reports_behind, args.database, soak.log_end)
    for listener in soak.listeners():
        await listener.stop()
    await soak.api.close()
    return report(args, soak, result, unsequenced, behind, memory_start, memory_end)


def report(
    args: argparse.Namespace,
    soak: Soak,
    result: Tally,
    unsequenced: int,
    behind: tuple[int, float],
    memory_start: dict[str, float],
    memory_end: dict[str, float],
) -> int:
    everything = [value for values in soak.latency_by_minute.values() for value in values]
    share = result.delivered / result.expected * 100 if result.expected else 100.0
    print()
    print(f"clients                   {len(soak.customers)} customers, {len(soak.agents)} agents")
    print(f"messages posted           {sum(soak.posts_by_minute.values())}")
    print(f"HTTP calls                {soak.api.calls}")
    print(
        f"delivered / expected      {result.delivered} / {result.expected}  ({share:.3f} %)"
        f"  missing {result.missing}, duplicated {result.duplicated},"
        f" out of order {result.out_of_order}, not visible {result.not_visible},"
        f" never connected {result.never_connected}, left without cursor {unsequenced}"
    )
    if everything:
        figures = " / ".join(f"{percentile(everything, q):.0f}" for q in (50, 95, 99))
        print(f"latency p50 / p95 / p99   {figures} ms over the run ({len(everything)} deliveries)")
    print(
        f"reports                   {'caught up with' if not behind[0] else f'{behind[0]} events behind'}"
        f" the log {behind[1]:.0f} s after the load"
    )
    failed = []
    if behind[0]:
        failed.append("the reports did not catch up with the log")
    for name, before in memory_start.items():
        after = memory_end[name]
        growth = (after - before) / before if before else math.nan
        restarts = soak.servers.restarts.get(name, 0)
        restarted = f"  (restarted {restarts}x)" if restarts else ""
        print(f"memory {name:<18} {before:.0f} → {after:.0f} MB  ({growth:+.1%}){restarted}")
        if not growth < MAX_GROWTH:
            failed.append(f"{name} grew {growth:+.1%}")
    print("errors by kind:")
    for kind, count in soak.errors.kinds.most_common():
        print(f"  {count:>6}  {kind}")
    windows = ", ".join(f"{a:.0f}–{b:.0f} s" for a, b in soak.errors.outages)
    for side, kinds in soak.errors.server_errors.items():
        print(f"5xx {side} the outage ({windows}): {sum(kinds.values())}  {dict(kinds)}")
    if result.delivered < result.expected or result.duplicated or result.out_of_order:
        failed.append("not every expected event was delivered exactly once, in order")
    if result.not_visible or result.never_connected:
        failed.append("events a client may not see, or a client that never connected")
    if soak.servers.exits:
        failed.append("processes exited on their own: " + ", ".join(soak.servers.exits))
    if soak.errors.server_errors["outside"]:
        failed.append("5xx outside the outage")
    print("FAILED: " + "; ".join(failed) if failed else "PASSED")
    return 1 if failed else 0


def main() -> None:
    args = parse_args()
    raise_file_limit()
    directory = Path(tempfile.mkdtemp(prefix="helpdesk-soak-"))
    redis = RedisServer(directory).start()
    many = "1000000/min"  # every client comes from 127.0.0.1
    env = helpdesk_env(
        args.database,
        redis.url(),
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        LOG_LEVEL="WARNING",
        DB_POOL_SIZE=str(args.pool),  # as an operator would run it (docs/operations.md)
        MALLOC_ARENA_MAX="2",  # likewise
        HELPDESK_RATE_WIDGET_SESSIONS=many,
        HELPDESK_RATE_WIDGET_CONVERSATIONS=many,
        HELPDESK_RATE_WIDGET_MESSAGES=many,
        HELPDESK_RATE_WIDGET_AVAILABILITY=many,
        HELPDESK_RATE_SOCKET_CONNECT=many,
    )
    os.environ.update(env)  # this process seeds the agents
    servers = Servers(env, directory, redis)
    try:
        step(f"recreating {args.database}; logs in {directory}")
        recreate_database(args.database, env)
        agents = seed_agents(args)
        servers.start()
        step(f"Redis on {redis.port}, ASGI a on {servers.ports['a']}, b on {servers.ports['b']}")
        status = uvloop.run(run(args, servers, agents))
    finally:
        servers.stop()
    sys.exit(status)


if __name__ == "__main__":
    main()
