"""What one message POST costs the server, in CPU and round trips (load-independent figures).

    .venv/bin/python bench/post_cost.py                   # 1,000 sockets, 600 POSTs
    .venv/bin/python bench/post_cost.py --profile /tmp/post.svg   # plus a py-spy flame graph

Wall-clock latency depends on whatever else runs on the machine; CPU time spent by the server
does not. This seeds the same data as bench/live.py, starts uvicorn, opens the sockets, posts
--posts messages (half through the widget API, half through the agent API, --concurrency at
a time), waits until every socket has its events, and prints the server's CPU seconds
(user + system, all of its processes) per POST: the write, the after-commit work and the
delivery to every recipient socket together.

It then posts one widget message and one agent message in this process (Django's test client)
and prints the SQL queries and Redis round trips each one costs, after-commit work included.
Not part of the test run.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import orjson
import psutil
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import raise_file_limit, step  # noqa: E402
from live import (  # noqa: E402
    Listener,
    Seed,
    http_client,
    open_all,
    post_request,
    recreate_database,
    seed,
    server_environment,
    settle,
    start_server,
    stop_server,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=950)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--teams", type=int, default=5)
    parser.add_argument("--posts", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=4, help="POSTs in flight")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--no-sockets", action="store_true", help="measure the POST alone")
    parser.add_argument(
        "--profile", help="write a py-spy profile of a worker here (.svg, else collapsed stacks)"
    )
    parser.add_argument("--show-queries", action="store_true", help="print the SQL of each")
    parser.add_argument("--port", type=int, default=18766)
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/helpdesk_bench_cost"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/3")
    return parser.parse_args()


def cpu_seconds(server: subprocess.Popen) -> float:
    process = psutil.Process(server.pid)
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        times = each.cpu_times()
        total += times.user + times.system
    return total


def database_cpu_seconds(args: argparse.Namespace) -> float:
    """CPU of the PostgreSQL backends connected to the benchmark's database."""
    from urllib.parse import urlparse

    import psycopg

    name = urlparse(args.database).path.lstrip("/")
    with psycopg.connect(args.database, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        ).fetchall()
    total = 0.0
    for (pid,) in rows:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


async def post_all(args: argparse.Namespace, data: Seed, first: int) -> int:
    gate = asyncio.Semaphore(args.concurrency)
    failed = 0
    async with http_client(args) as client:

        async def one(n: int) -> None:
            nonlocal failed
            url, body, headers = post_request(data, n)
            async with gate, client.post(url, data=orjson.dumps(body), headers=headers) as response:
                await response.read()
            if response.status != 201:
                failed += 1

        await asyncio.gather(*(one(n) for n in range(first, first + args.posts)))
    return failed


async def measured_run(
    args: argparse.Namespace, data: Seed, server: subprocess.Popen
) -> tuple[float, float, float, int]:
    listeners: list[Listener] = []
    if not args.no_sockets:
        ws = f"ws://127.0.0.1:{args.port}"
        listeners = [
            Listener(f"customer-{c['conversation']}", f"{ws}/ws/customer/?token={c['token']}")
            for c in data.customers
        ] + [
            Listener(f"agent-{agent}", f"{ws}/ws/agent/?token={token}")
            for agent, token in data.agent_tokens.items()
        ]
        step(f"opening {len(listeners)} sockets")
        await open_all(listeners)
    readers = [asyncio.create_task(listener.listen()) for listener in listeners]
    step("warming up")
    await post_all(argparse.Namespace(**{**vars(args), "posts": 40}), data, first=10**6)
    await settle(listeners, quiet=2)
    profiler = None
    if args.profile:
        svg = args.profile.endswith(".svg")
        worker = (psutil.Process(server.pid).children() or [psutil.Process(server.pid)])[0]
        profiler = subprocess.Popen(
            ["py-spy", "record", "-o", args.profile, "--pid", str(worker.pid), "--nonblocking"]
            + ["--rate", "200", "--gil", "--format", "flamegraph" if svg else "raw"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
        )
        time.sleep(1)
    step(f"posting {args.posts} messages, {args.concurrency} at a time")
    before, started = cpu_seconds(server), time.perf_counter()
    database_before = database_cpu_seconds(args)
    failed = await post_all(args, data, first=0)
    await settle(listeners, quiet=1)
    # settle() waits one quiet second after the last delivery: subtract what idling cost.
    idle_before = cpu_seconds(server)
    await asyncio.sleep(1)
    idle = cpu_seconds(server) - idle_before
    used = cpu_seconds(server) - before - 2 * idle
    database = database_cpu_seconds(args) - database_before
    elapsed = time.perf_counter() - started
    if profiler is not None:
        profiler.send_signal(2)
        profiler.wait(timeout=60)
    for listener in listeners:
        await listener.socket.close()
    for reader in readers:
        reader.cancel()
    return used, database, elapsed, failed


def in_process_counts(data: Seed, show: bool) -> dict[str, tuple[int, int]]:
    """(SQL queries, Redis round trips) of one widget POST and one agent POST, here."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from redis.connection import AbstractConnection

    round_trips = 0
    original = AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):  # type: ignore[no-untyped-def]
        nonlocal round_trips
        round_trips += 1
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = counted
    client = Client(HTTP_HOST="127.0.0.1")
    counts = {}
    try:
        for n, kind in enumerate(["widget", "agent"]):
            url, body, headers = post_request(data, n)
            for warm in (True, False):  # the first call of a kind pays one-time setup
                body = {**body, "client_id": str(uuid.uuid4())}
                round_trips = 0
                with CaptureQueriesContext(connection) as queries:
                    response = client.post(
                        url,
                        body,
                        content_type="application/json",
                        headers=headers,
                    )
                assert response.status_code == 201, response.content
                if not warm:
                    counts[kind] = (len(queries), round_trips)
                    if show:
                        print(f"--- {kind} POST")
                        for query in queries:
                            print(" ", query["sql"][:300])
    finally:
        AbstractConnection.send_packed_command = original
    return counts


def main() -> None:
    args = parse_args()
    raise_file_limit()
    env = server_environment(args)
    os.environ.update(env, DJANGO_SETTINGS_MODULE="helpdesk.settings")
    step("recreating the database")
    recreate_database(args, env)
    data = seed(args)
    server = start_server(args, env)
    try:
        used, database, elapsed, failed = uvloop.run(measured_run(args, data, server))
    finally:
        stop_server(server)
    counts = in_process_counts(data, args.show_queries)
    sockets = "no sockets" if args.no_sockets else f"{args.customers + args.agents} sockets"
    print()
    print(f"POSTs                    {args.posts} ({failed} failed), {sockets}")
    print(
        f"server CPU per POST      {used / args.posts * 1000:.1f} ms"
        f"  ({used:.1f} s over {elapsed:.1f} s, {args.workers} worker(s))"
    )
    print(
        f"PostgreSQL CPU per POST  {database / args.posts * 1000:.1f} ms  (its backends for this database)"
    )
    for kind, (queries, trips) in counts.items():
        print(f"{kind + ' POST':<24} {queries} SQL queries, {trips} Redis round trips")


if __name__ == "__main__":
    main()
