"""Synthetic conversation history in the import format of shared/API.md (JSON lines).

Used by the benchmarks to load large, realistic data through `import_history`:
    python bench/history.py 1000000 --days 120 > /tmp/history.jsonl
About six messages per conversation, 5 teams of 10 agents, three channels, pending spells,
reopens, private notes, bots and ratings, spread over the last `days` days.
"""

import argparse
import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

TEAMS = ["support", "billing", "sales", "technical", "onboarding"]
AGENTS = [f"agent{n:02d}@example.com" for n in range(50)]
CHANNELS = ["web", "web", "web", "email", "api"]
WORDS = (
    "order invoice refund password login delivery card payment account plan upgrade "
    "sipariş fatura iade şifre teslimat kargo ödeme hesap yardım teşekkürler"
).split()


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14))).capitalize() + "."


def conversation(n: int, rng: random.Random, start: datetime, days: int) -> dict:
    team = rng.randrange(len(TEAMS))
    agent = AGENTS[team * 10 + rng.randrange(10)]
    t = start + timedelta(seconds=rng.uniform(0, days * 86400))
    messages, events, ratings = [], [], []

    def later(low: float, high: float) -> str:
        nonlocal t
        t += timedelta(seconds=rng.uniform(low, high))
        return t.isoformat()

    def say(kind: str, **extra) -> None:
        messages.append(
            {"author_kind": kind, "body": sentence(rng), "sent_at": later(5, 900), **extra}
        )

    say("customer")
    if rng.random() < 0.15:
        say("bot")
    events.append({"type": "assigned", "agent": agent, "at": later(1, 120)})
    say("agent", agent=agent)
    if rng.random() < 0.2:
        say("agent", agent=agent, private=True)
    for _round in range(1 if rng.random() < 0.25 else 2):  # about six messages in all
        say("customer")  # after a pending spell, this turns the conversation open again
        if rng.random() < 0.3:
            events.append({"type": "status", "status": "pending", "at": later(10, 300)})
        say("agent", agent=agent)
    if rng.random() < 0.9:
        events.append({"type": "resolved", "agent": agent, "at": later(60, 3600)})
        if rng.random() < 0.3:
            ratings.append({"score": rng.choice([5, 5, 4, 4, 3, 2, 1]), "at": later(30, 600)})
        if rng.random() < 0.1:
            say("customer")  # reopens
            say("agent", agent=agent)
            events.append({"type": "resolved", "agent": agent, "at": later(60, 1800)})
    return {
        "external_id": f"bench-{n}",
        "channel": rng.choice(CHANNELS),
        "team": TEAMS[team],
        "customer": {
            "external_id": f"bench-customer-{n}",
            "name": f"Customer {n}",
            "email": f"c{n}@example.com",
        },
        "messages": messages,
        "events": events,
        "ratings": ratings,
    }


def lines(
    count: int, *, seed: int = 1, days: int = 365, until: datetime | None = None
) -> Iterator[str]:
    rng = random.Random(seed)
    until = until or datetime.now(UTC).replace(microsecond=0)
    start = until - timedelta(days=days)
    for n in range(count):
        yield json.dumps(conversation(n, rng, start, days), ensure_ascii=False)


def main() -> None:
    parser = argparse.ArgumentParser(description="Synthetic history import lines on stdout.")
    parser.add_argument("count", type=int, nargs="?", default=1000, help="conversations")
    parser.add_argument("--days", type=int, default=365, help="spread over the last N days")
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    write = sys.stdout.write
    for line in lines(options.count, seed=options.seed, days=options.days):
        write(line + "\n")


if __name__ == "__main__":
    main()
