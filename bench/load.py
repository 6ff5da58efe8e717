"""Load a benchmark database: create it, migrate, generate history, `import_history --bulk`.

    .venv/bin/python bench/load.py --conversations 1000000 --database helpdesk_1m
    .venv/bin/python bench/load.py --copy-of helpdesk_1m --database helpdesk_mine

The first form recreates the database, writes bench/history.py lines (about six messages a
conversation, 5 teams of 10 agents, over the last --days days) to a file, imports them with
`--bulk`, then VACUUM ANALYZEs. Printed: the import's time and conversations/s, row counts
and the database size. The second form only copies a loaded database (CREATE DATABASE …
TEMPLATE …, seconds instead of minutes; nobody may be connected to the template).

bench/reports.py and bench/inbox.py can call `load()` / `copy_database()` directly.
Not part of the test run.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.history import lines  # noqa: E402

SERVER = "postgres://postgres@127.0.0.1:5432"
TABLES = {
    "conversations": "conversations_conversation",
    "customers": "conversations_customer",
    "messages": "conversations_message",
    "events": "conversations_conversationevent",
    "ratings": "conversations_rating",
}


def database_url(name: str, server: str = SERVER) -> str:
    return f"{server}/{name}"


def _admin(server: str) -> psycopg.Connection:
    return psycopg.connect(f"{server}/postgres", autocommit=True)


def recreate_database(name: str, *, server: str = SERVER, template: str | None = None) -> None:
    with _admin(server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        suffix = f' TEMPLATE "{template}"' if template else ""
        admin.execute(f'CREATE DATABASE "{name}"{suffix}')


def copy_database(template: str, name: str, *, server: str = SERVER) -> float:
    """A fresh copy of a loaded database; returns the seconds it took."""
    started = time.perf_counter()
    recreate_database(name, server=server, template=template)
    return time.perf_counter() - started


def manage(*args: str, database: str, redis: str) -> None:
    env = {**os.environ, "DATABASE_URL": database, "REDIS_URL": redis, "DEBUG": "1"}
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True)


def load(
    conversations: int,
    name: str,
    *,
    days: int = 120,
    seed: int = 1,
    server: str = SERVER,
    redis: str = "redis://127.0.0.1:6379/1",
) -> dict:
    """Recreate `name` and bulk-import `conversations` synthetic conversations into it.
    Returns the figures printed by main()."""
    url = database_url(name, server)
    recreate_database(name, server=server)
    manage("migrate", "-v0", database=url, redis=redis)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", encoding="utf-8") as file:
        for line in lines(conversations, seed=seed, days=days):
            file.write(line + "\n")
        file.flush()
        started = time.perf_counter()
        manage("import_history", file.name, "--bulk", "--no-progress", database=url, redis=redis)
        seconds = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
        counts = {
            label: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for label, table in TABLES.items()
        }
        size = connection.execute("SELECT pg_size_pretty(pg_database_size(%s))", [name])
        size = size.fetchone()[0]
    return {
        "seconds": seconds,
        "rate": conversations / seconds,
        "counts": counts,
        "size": size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--database", required=True, help="database name (recreated)")
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--copy-of", help="copy this loaded database instead of loading")
    parser.add_argument("--server", default=SERVER)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/1")
    args = parser.parse_args()
    if args.copy_of:
        seconds = copy_database(args.copy_of, args.database, server=args.server)
        print(f"copied {args.copy_of} to {args.database} in {seconds:.1f} s")
        return
    figures = load(
        args.conversations,
        args.database,
        days=args.days,
        seed=args.seed,
        server=args.server,
        redis=args.redis,
    )
    print(
        f"imported {args.conversations} conversations in {figures['seconds']:.1f} s: "
        f"{figures['rate']:.0f} conversations/s"
    )
    print(", ".join(f"{label} {count}" for label, count in figures["counts"].items()))
    print(f"database size {figures['size']}")


if __name__ == "__main__":
    main()
