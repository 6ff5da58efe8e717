"""Live delivery benchmark: real sockets against a real server on PostgreSQL + Redis.

    .venv/bin/python bench/live.py                       # 950 customers + 50 agents, 100 msg/s
    .venv/bin/python bench/live.py --idle 5000           # also: memory of 5,000 idle sockets

It recreates the database named by --database, seeds 5 teams of 10 agents and one
conversation per customer (assigned to an agent of its team), starts uvicorn, opens every
socket (`resume` from now), posts at the same rate for --warmup seconds (not measured: the
server opens its database connections and request threads), then posts messages at a fixed
rate for --seconds: customer messages through the widget API and agent replies through the
agent API, alternately.
Each message must reach the customer's socket and the sockets of the conversation's team.

Printed: end-to-end latency (POST sent → event received on each recipient socket) p50 and
p99, messages/s achieved, the server's memory, and how many deliveries were lost or
duplicated. Not part of the test run.
"""

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import orjson
import psutil
import uvloop
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import common  # noqa: E402
from common import percentile, raise_file_limit, step  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=950)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--teams", type=int, default=5)
    parser.add_argument("--rate", type=float, default=100, help="messages per second")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument(
        "--warmup", type=float, default=3, help="seconds posted at --rate before measuring"
    )
    parser.add_argument("--idle", type=int, default=0, help="then hold this many idle sockets")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/helpdesk_bench_live"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/3")
    return parser.parse_args()


def server_environment(args: argparse.Namespace) -> dict[str, str]:
    many = "1000000/min"
    return {
        **os.environ,
        "DATABASE_URL": args.database,
        "REDIS_URL": args.redis,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "HELPDESK_PUBLIC_URL": f"http://127.0.0.1:{args.port}",
        "DB_POOL_SIZE": "40",
        "HELPDESK_RATE_WIDGET_SESSIONS": many,
        "HELPDESK_RATE_WIDGET_CONVERSATIONS": many,
        "HELPDESK_RATE_WIDGET_MESSAGES": many,
        "HELPDESK_RATE_WIDGET_AVAILABILITY": many,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "ERROR"),
    }


# --- Data ------------------------------------------------------------------------------------


@dataclass
class Seed:
    agent_tokens: dict[int, str]  # agent id -> API token
    agent_team: dict[int, int]
    customers: list[dict]  # {"token", "conversation", "team", "agent"}


def recreate_database(args: argparse.Namespace, env: dict[str, str]) -> None:
    common.recreate_database(args.database, env)
    import redis

    redis.Redis.from_url(args.redis).flushdb()


def seed(args: argparse.Namespace) -> Seed:
    import django

    django.setup()
    from agents.services import agent_api_token, agent_save
    from conversations.services import conversation_assign, conversation_start, customer_create

    agent_tokens, agent_team, team_agents = {}, {}, defaultdict(list)
    for n in range(args.agents):
        team_name = f"team-{n % args.teams}"
        agent, _ = agent_save(
            email=f"bench-agent-{n}@example.com", team_names=[team_name], capacity=1000
        )
        agent_tokens[agent.pk] = agent_api_token(agent)
        team_id = agent.teams.get().pk
        agent_team[agent.pk] = team_id
        team_agents[team_id].append(agent.user)
    teams = sorted(team_agents)
    customers = []
    for n in range(args.customers):
        team_id = teams[n % len(teams)]
        agent = team_agents[team_id][(n // len(teams)) % len(team_agents[team_id])]
        customer = customer_create(name=f"Customer {n}")
        conversation, _ = conversation_start(
            customer=customer, body="Hello", client_id=f"seed-{n}", team=agent.agent.teams.get()
        )
        conversation_assign(conversation=conversation, assignee=agent)
        customers.append(
            {
                "token": customer.token,
                "conversation": conversation.pk,
                "team": team_id,
                "agent": agent.pk,
            }
        )
        if n % 200 == 0:
            step(f"seeded {n}/{args.customers} conversations")
    return Seed(agent_tokens, agent_team, customers)


# --- Server ----------------------------------------------------------------------------------


def start_server(args: argparse.Namespace, env: dict[str, str]) -> subprocess.Popen:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", args.port)) == 0:
            raise SystemExit(f"port {args.port} is busy: choose another with --port")
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "helpdesk.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(args.port),
        "--workers",
        str(args.workers),
        "--lifespan",
        "off",
        "--log-level",
        "warning",
        "--no-access-log",
        "--ws-max-size",
        str(256 * 1024),  # as in production (settings.HELPDESK_WS_MAX_BYTES)
    ]
    # A session of its own: stop_server() ends the workers too, not only their supervisor.
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(
                f"http://127.0.0.1:{args.port}/api/v1/widget/availability", timeout=1
            )
            return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise SystemExit("the server did not start")


def stop_server(server: subprocess.Popen) -> None:
    """Stop uvicorn and its worker processes (killed if they linger over open sockets)."""
    for signal_, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal_)
        try:
            server.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def server_memory_mb(server: subprocess.Popen) -> float:
    process = psutil.Process(server.pid)
    processes = [process, *process.children(recursive=True)]
    return sum(p.memory_info().rss for p in processes if p.is_running()) / 2**20


def cpu_by_part(server: subprocess.Popen) -> dict[str, float]:
    """CPU seconds used so far by the server, PostgreSQL, Redis and this client (the parts
    sharing the machine's cores), each summed over its processes."""
    server_pids = {server.pid, *(child.pid for child in psutil.Process(server.pid).children(True))}
    parts = dict.fromkeys(("server", "postgresql", "redis", "client"), 0.0)
    for process in psutil.process_iter(["pid", "name", "cpu_times"]):
        name, times = process.info["name"] or "", process.info["cpu_times"]
        if times is None:
            continue
        part = (
            "server"
            if process.info["pid"] in server_pids
            else "client"
            if process.info["pid"] == os.getpid()
            else "postgresql"
            if name.startswith("postgres")
            else "redis"
            if name.startswith("redis")
            else None
        )
        if part:
            parts[part] += times.user + times.system
    return parts


# --- Sockets ---------------------------------------------------------------------------------


@dataclass
class Listener:
    name: str
    url: str
    received: dict[str, float] = field(default_factory=dict)  # client_id -> first arrival
    cursors: list[int] = field(default_factory=list)
    socket: object = None

    async def connect(self) -> None:
        self.socket = await websockets.connect(
            self.url, max_queue=None, open_timeout=60, ping_interval=None
        )
        await self.socket.send(json.dumps({"type": "resume", "after": None}))
        while json.loads(await self.socket.recv()).get("type") != "resumed":
            pass

    async def listen(self) -> None:
        try:
            while True:
                event = orjson.loads(await self.socket.recv(decode=False))
                if event.get("type") != "message.created":
                    continue
                self.cursors.append(event["cursor"])
                self.received.setdefault(event["data"]["client_id"], time.perf_counter())
        except websockets.ConnectionClosed:
            pass


async def open_all(listeners: list[Listener], parallel: int = 100) -> None:
    gate = asyncio.Semaphore(parallel)

    async def one(listener: Listener) -> None:
        async with gate:
            try:
                await listener.connect()
            except websockets.ConnectionClosed as closed:
                raise SystemExit(f"{listener.name} was refused: {closed}") from closed

    await asyncio.gather(*(one(listener) for listener in listeners))


# --- Load ------------------------------------------------------------------------------------

post_ms: list[float] = []  # how long each POST took to answer
failed: list[str] = []  # POSTs that did not answer 201
accepted: set[str] = set()


def post_request(data: Seed, n: int) -> tuple[str, dict, dict[str, str]]:
    """Message n: a customer's through the widget API (even n), else its agent's reply."""
    customer = data.customers[n % len(data.customers)]
    body = {"body": f"Message {n} <b>as text</b>", "client_id": str(uuid.uuid4())}
    if n % 2 == 0:
        url = f"/api/v1/widget/conversations/{customer['conversation']}/messages"
        return url, body, {"Authorization": f"Bearer {customer['token']}"}
    url = f"/api/v1/conversations/{customer['conversation']}/messages"
    return url, body, {"Authorization": f"Token {data.agent_tokens[customer['agent']]}"}


async def post_messages(
    args: argparse.Namespace, data: Seed, sent: dict[str, tuple[float, dict]], seconds: float
) -> float:
    total = int(args.rate * seconds)
    async with http_client(args) as client:

        async def post(n: int) -> None:
            customer = data.customers[n % len(data.customers)]
            url, body, headers = post_request(data, n)
            client_id = body["client_id"]
            sent[client_id] = (time.perf_counter(), customer)
            try:
                async with client.post(url, data=orjson.dumps(body), headers=headers) as response:
                    text = await response.text()
            except (aiohttp.ClientError, TimeoutError) as error:
                failed.append(repr(error))
                return
            post_ms.append((time.perf_counter() - sent[client_id][0]) * 1000)
            if response.status == 201:
                accepted.add(client_id)
            else:
                failed.append(f"{response.status} {text[:200]}")

        started = time.perf_counter()
        tasks = []
        for n in range(total):
            delay = started + n / args.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(n)))
        await asyncio.gather(*tasks)
        return total / (time.perf_counter() - started)


def http_client(args: argparse.Namespace) -> aiohttp.ClientSession:
    """Keep-alive connections to the server. aiohttp rather than httpx: at 100 POSTs/s httpx
    used much more CPU, and more still as the server fell behind (a client that starves
    the server it measures; see bench/RESULTS.md)."""
    return aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{args.port}",
        connector=aiohttp.TCPConnector(limit=60),
        timeout=aiohttp.ClientTimeout(total=60),
        headers={"Content-Type": "application/json"},
    )


async def settle(listeners: list[Listener], quiet: float = 5, limit: float = 180) -> None:
    """Wait until deliveries stop arriving (late is measured as late, not as lost)."""
    deadline = time.monotonic() + limit
    count = -1
    while time.monotonic() < deadline:
        now = sum(len(listener.received) for listener in listeners)
        if now == count:
            return
        count = now
        await asyncio.sleep(quiet)


async def live_run(args: argparse.Namespace, data: Seed, server: subprocess.Popen) -> dict:
    ws = f"ws://127.0.0.1:{args.port}"
    customer_sockets = {
        c["conversation"]: Listener(
            f"customer-{c['conversation']}", f"{ws}/ws/customer/?token={c['token']}"
        )
        for c in data.customers
    }
    agent_sockets = {
        agent: Listener(f"agent-{agent}", f"{ws}/ws/agent/?token={token}")
        for agent, token in data.agent_tokens.items()
    }
    listeners = [*customer_sockets.values(), *agent_sockets.values()]
    step(f"opening {len(listeners)} sockets")
    await open_all(listeners)
    readers = [asyncio.create_task(listener.listen()) for listener in listeners]
    if args.warmup:
        # Not measured: each worker's first requests open its database connections and
        # request threads, as a server that has been up for a while already has.
        step(f"warming up: {args.rate:g} messages/s for {args.warmup:g} s")
        await post_messages(args, data, {}, args.warmup)
        await settle(listeners, quiet=1)
        post_ms.clear()
        failed.clear()
        accepted.clear()
    step(f"posting {args.rate:g} messages/s for {args.seconds:g} s")
    sent: dict[str, tuple[float, dict]] = {}
    cpu_before, started = cpu_by_part(server), time.perf_counter()
    achieved = await post_messages(args, data, sent, args.seconds)
    seconds = time.perf_counter() - started
    cpu = {part: (used - cpu_before[part]) / seconds for part, used in cpu_by_part(server).items()}
    await settle(listeners)
    team_members = defaultdict(list)
    for agent, team in data.agent_team.items():
        team_members[team].append(agent_sockets[agent])
    latencies, lost = [], 0
    for client_id, (at, customer) in sent.items():
        if client_id not in accepted:
            continue
        for listener in [
            customer_sockets[customer["conversation"]],
            *team_members[customer["team"]],
        ]:
            arrival = listener.received.get(client_id)
            if arrival is None:
                lost += 1
            else:
                latencies.append((arrival - at) * 1000)
    duplicated = sum(len(each.cursors) - len(set(each.cursors)) for each in listeners)
    for listener in listeners:
        await listener.socket.close()
    for reader in readers:
        reader.cancel()
    return {
        "sockets": len(listeners),
        "messages": len(sent),
        "messages_per_second": achieved,
        "deliveries": len(latencies),
        "p50_ms": percentile(latencies, 50) if latencies else None,
        "p99_ms": percentile(latencies, 99) if latencies else None,
        "post_p50_ms": percentile(post_ms, 50),
        "post_p99_ms": percentile(post_ms, 99),
        "failed_posts": len(failed),
        "lost": lost,
        "duplicated": duplicated,
        "cpu": cpu,
    }


async def idle_run(args: argparse.Namespace, data: Seed, server: subprocess.Popen) -> dict:
    ws = f"ws://127.0.0.1:{args.port}"
    before = server_memory_mb(server)
    urls = [
        f"{ws}/ws/customer/?token={data.customers[n % len(data.customers)]['token']}"
        for n in range(args.idle)
    ]
    listeners = [Listener(f"idle-{n}", url) for n, url in enumerate(urls)]
    step(f"opening {args.idle} idle sockets")
    await open_all(listeners, parallel=200)
    await asyncio.sleep(5)
    held = server_memory_mb(server)
    alive = sum(1 for listener in listeners if listener.socket.state.name == "OPEN")
    for listener in listeners:
        await listener.socket.close()
    return {"idle_sockets": alive, "server_mb_before": before, "server_mb_holding": held}


def main() -> None:
    args = parse_args()
    raise_file_limit()
    env = server_environment(args)
    os.environ.update(
        env, DJANGO_SETTINGS_MODULE="helpdesk.settings"
    )  # this process seeds the data
    step("recreating the database")
    recreate_database(args, env)
    data = seed(args)
    server = start_server(args, env)
    try:
        step(f"server up ({args.workers} worker(s)), {server_memory_mb(server):.0f} MB")
        result = uvloop.run(live_run(args, data, server))
        result["server_mb"] = server_memory_mb(server)
        if args.idle:
            result |= uvloop.run(idle_run(args, data, server))
    finally:
        stop_server(server)
    print()
    print(
        f"sockets connected        {result['sockets']}  ({args.customers} customers, {args.agents} agents in {args.teams} teams)"
    )
    print(
        f"messages posted          {result['messages']}  at {result['messages_per_second']:.1f}/s (target {args.rate:g}/s)"
    )
    print(f"deliveries measured      {result['deliveries']}")
    print(
        f"latency p50 / p99        {result['p50_ms']:.1f} ms / {result['p99_ms']:.1f} ms  (POST sent → event on socket)"
    )
    print(
        f"POST answered p50 / p99  {result['post_p50_ms']:.1f} ms / {result['post_p99_ms']:.1f} ms"
    )
    print(f"failed POSTs             {result['failed_posts']}  {failed[:1]}")
    print(f"lost / duplicated        {result['lost']} / {result['duplicated']}")
    print(f"server memory            {result['server_mb']:.0f} MB")
    shares = ", ".join(f"{part} {share:.2f}" for part, share in result["cpu"].items())
    print(
        f"cores busy while posting {sum(result['cpu'].values()):.2f} of {os.cpu_count()}: {shares}"
    )
    if args.idle:
        print(
            f"idle sockets held        {result['idle_sockets']}: server {result['server_mb_holding']:.0f} MB (was {result['server_mb_before']:.0f} MB)"
        )


if __name__ == "__main__":
    main()
