"""Inbox benchmark: list pages, filtered lists and searches on a large history.

    .venv/bin/python bench/inbox.py --database helpdesk_search_1m           # already loaded
    .venv/bin/python bench/inbox.py --database helpdesk_inbox --load 1000000  # load it first

Server time is measured inside Django: each request goes through Django's test client in
this process (URL routing, middleware, session authentication, the DRF view, its queries
and the JSON rendering; no socket, no HTTP parsing), with DEBUG off. The cases run in turn,
two warm-up rounds then --runs rounds; printed: p50, p95 and max in milliseconds, the
`count` answered (~ when estimated), and whether p95 is within the budget (50 ms for a page,
200 ms for a search), with the machine's load average before and after.

--load creates the database (it must not exist), migrates it, generates --load
conversations with bench/history.py and imports them with `import_history` (`--bulk` when
this branch has it). Not part of the test run.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
LIST = "/api/v1/conversations"
ADMIN_INBOX = "/admin/conversations/conversation/"
VIEWS = "/api/v1/views"
PAGE_BUDGET_MS, SEARCH_BUDGET_MS = 50, 200


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", required=True, help="a database name or a URL")
    parser.add_argument("--load", type=int, default=0, help="first load this many conversations")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--page-size", type=int, default=25)
    return parser.parse_args()


def database_url(name: str) -> str:
    return name if "://" in name else f"postgres://postgres@127.0.0.1:5432/{name}"


def environment(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "0",  # DEBUG keeps every query in memory: not what a server does
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-inbox-only"),
        "ALLOWED_HOSTS": "testserver",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/3"),
        # One agent asks every case in turn: the per-agent limit (600/min) is not measured.
        "HELPDESK_RATE_AGENT": "1000000/min",
    }


def load(url: str, count: int) -> None:
    env = environment(url)
    name = url.rsplit("/", 1)[1]
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    manage = [PYTHON, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], check=True, env=env)
    help_text = subprocess.run(
        [*manage, "import_history", "--help"], env=env, capture_output=True, text=True
    ).stdout
    bulk = ["--bulk"] if "--bulk" in help_text else []
    started = time.monotonic()
    history = subprocess.Popen(
        [PYTHON, str(ROOT / "bench" / "history.py"), str(count)], stdout=subprocess.PIPE
    )
    subprocess.run(
        [*manage, "import_history", "-", "--no-progress", *bulk],
        stdin=history.stdout,
        check=True,
        env=env,
    )
    history.wait()
    print(f"loaded {count:,} conversations in {time.monotonic() - started:.0f} s {bulk}")
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", "VACUUM ANALYZE", name])


def setup_django(url: str) -> None:
    os.environ.update(environment(url))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    import django

    django.setup()


def timed_get(client, params: dict) -> tuple[float, float, dict]:
    """One request: (wall ms, this process's CPU ms, answer); params may name another path
    ("path") than the API list."""
    params = dict(params)
    path = params.pop("path", LIST)
    started, cpu = time.perf_counter(), time.process_time()
    response = client.get(path, params)
    elapsed = (time.perf_counter() - started) * 1000
    cpu_ms = (time.process_time() - cpu) * 1000
    assert response.status_code == 200, (params, response.content[:300])
    is_json = response["Content-Type"].startswith("application/json")
    return elapsed, cpu_ms, response.json() if is_json else {"count": "html"}


def saved_views(agent, team) -> list:
    """The agent's views of the benchmark (made once, kept): a personal one and shared ones of
    their team, as a day's sidebar would hold them."""
    from conversations.models import SavedView

    shared = {"team": team} if team else {"owner": agent}
    wanted = [
        ("Unassigned, longest waiting", shared,
         {"team": str(team.pk) if team else "none", "assignee": "none", "status": "open",
          "ordering": "waiting_since"}),
        ("Mine open", {"owner": agent}, {"assignee": "me", "status": "open"}),
        ("Team pending", shared,
         {"team": str(team.pk) if team else "none", "status": "pending"}),
        ("Label refund", shared, {"label": "refund"}),
        ("All open", {"owner": agent}, {"status": "open", "ordering": "waiting_since"}),
    ]  # fmt: skip
    views = []
    for position, (name, whose, filters) in enumerate(wanted):
        view, _ = SavedView.objects.update_or_create(
            name=f"bench: {name}", **whose, defaults={"filters": filters, "position": position}
        )
        views.append(view)
    return views


def views_total(answer: dict) -> str:
    """The counts of a views list, summed (~ when one is an estimate)."""
    views = answer["results"]
    total = sum(view["count"] or 0 for view in views)
    return f"{total:,}" + ("" if all(view["count_exact"] for view in views) else "~")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(round(share * (len(ordered) - 1))), len(ordered) - 1)]


def main() -> None:
    args = parse_args()
    url = database_url(args.database)
    if args.load:
        load(url, args.load)
    setup_django(url)

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from agents.models import Agent
    from conversations.models import Conversation, Team

    with connection.cursor() as cursor:  # the planner's row counts: instant on a million
        cursor.execute(
            "SELECT relname, reltuples::bigint FROM pg_class WHERE relname IN "
            "('conversations_conversation', 'conversations_message', 'conversations_customer')"
        )
        sizes = dict(cursor.fetchall())
    print(
        f"database {url.rsplit('/', 1)[1]}: ~{sizes.get('conversations_conversation', 0):,} "
        f"conversations, ~{sizes.get('conversations_message', 0):,} messages, "
        f"~{sizes.get('conversations_customer', 0):,} customers"
    )
    users = get_user_model().objects
    admin, _ = users.get_or_create(
        username="bench-admin@example.com",
        defaults={"email": "bench-admin@example.com", "is_staff": True, "is_superuser": True},
    )
    team = Team.objects.order_by("pk").first()
    agent = (
        Agent.objects.filter(user__teams=team).select_related("user").order_by("pk").first().user
        if team
        else admin
    )
    customer = Conversation.objects.select_related("customer").order_by("-pk").first().customer
    views = saved_views(agent, team)
    as_admin, as_agent = Client(), Client()
    as_admin.force_login(admin)
    as_agent.force_login(agent)
    size = {"page_size": args.page_size}
    team_id = team.pk if team else "none"
    cases = [
        ("page", "all (admin)", as_admin, {}),
        ("page", "all (agent: own teams + team-less)", as_agent, {}),
        ("page", "mine: assignee=me", as_agent, {"assignee": "me"}),
        ("page", "unassigned: assignee=none", as_admin, {"assignee": "none"}),
        ("page", f"team={team_id}", as_admin, {"team": team_id}),
        ("page", "open, longest waiting", as_admin, {"status": "open", "ordering": "waiting_since"}),
        ("page", f"team={team_id} open, longest waiting (agent)", as_agent,
         {"team": team_id, "status": "open", "ordering": "waiting_since"}),
        ("page", "status=open,pending", as_admin, {"status": "open,pending"}),
        ("page", "channel=email, status=resolved", as_admin,
         {"channel": "email", "status": "resolved"}),
        ("page", "page 40 of all", as_admin, {"page": 40}),
        ("page", f"a view: {views[0].name} (agent)", as_agent, {"view": views[0].pk}),
        ("page", f"a view: {views[4].name} (agent)", as_agent, {"view": views[4].pk}),
        ("page", f"views with counts ({len(views)} views, agent)", as_agent, {"path": VIEWS}),
        ("search", "common word: invoice", as_admin, {"q": "invoice"}),
        ("search", "common word (agent)", as_agent, {"q": "invoice"}),
        ("search", "rare word: chargeback", as_admin, {"q": "chargeback"}),
        ("search", "customer name", as_admin, {"q": customer.name}),
        ("search", "customer email", as_admin, {"q": customer.email}),
        ("search", "multi-word: refund delivery", as_admin, {"q": "refund delivery"}),
        ("search", "phrase: \"late again\"", as_admin, {"q": '"late again"'}),
        ("search", "Turkish: faturam", as_admin, {"q": "faturam"}),
        ("search", "Turkish + filter: kargo, open", as_admin, {"q": "kargo", "status": "open"}),
        ("search", "no match: zzqx", as_admin, {"q": "zzqx"}),
        ("page", "admin inbox (HTML page of 50)", as_admin, {"path": ADMIN_INBOX}),
        ("page", "admin inbox, mine, open (HTML)", as_admin,
         {"path": ADMIN_INBOX, "assignee": "mine", "status__exact": "open"}),
        ("search", "admin inbox search: refund (HTML)", as_admin,
         {"path": ADMIN_INBOX, "q": "refund"}),
    ]  # fmt: skip
    print(f"{args.runs} runs each, page size {args.page_size}, times in ms (server, in-process)")
    print(f"load average before: {' '.join(f'{value:.1f}' for value in os.getloadavg())}")
    # Round-robin over the cases, two warm-up rounds first: a burst of load from elsewhere on
    # the machine then spreads over every case instead of landing on one.
    times: dict[str, list[float]] = {name: [] for _, name, _, _ in cases}
    cpu: dict[str, list[float]] = {name: [] for _, name, _, _ in cases}
    answers: dict[str, dict] = {}
    for round_number in range(args.runs + 2):
        for _, name, client, params in cases:
            query = params if "path" in params else {**size, **params}  # admin: 50 a page; views
            elapsed, cpu_ms, answers[name] = timed_get(client, query)
            if round_number >= 2:
                times[name].append(elapsed)
                cpu[name].append(cpu_ms)
    print("cpu: p50 of the Django process's own CPU time (the rest is PostgreSQL and waiting)")
    print(f"{'case':52} {'p50':>7} {'p95':>7} {'max':>7} {'cpu':>6} {'count':>10}  budget (p95)")
    for kind, name, _, _ in cases:
        budget = PAGE_BUDGET_MS if kind == "page" else SEARCH_BUDGET_MS
        p95 = percentile(times[name], 0.95)
        answer = answers[name]
        count = answer["count"] if "count" in answer else views_total(answer)
        count = f"{count:,}" if isinstance(count, int) else count
        count += "" if answer.get("count_exact", True) else "~"
        verdict = f"{'ok' if p95 < budget else 'OVER'} (<{budget})"
        print(
            f"{kind + ': ' + name:52.52} {statistics.median(times[name]):7.1f} {p95:7.1f} "
            f"{max(times[name]):7.1f} {statistics.median(cpu[name]):6.1f} {count:>10}  "
            f"{verdict}"
        )
    print(f"load average after: {' '.join(f'{value:.1f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()
